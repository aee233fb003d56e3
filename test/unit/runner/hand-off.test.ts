// The hand-off between operator and runner: the pod specs the operator builds, with their environment resolved as the
// kubelet would, must parse in the runner into the configuration the Merchant or Cart asks for. A variable the
// operator stops setting, renames or fills from the wrong Secret fails here, not in a cluster.
import type { V1Container, V1PodSpec } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import {
  defaultShopifyApiVersion,
  hubSchemaVersion,
  runnerCommand,
  runnerEnv,
  tokenVariableOf,
  watcherProbes,
} from '../../../operator/api/runner-contract.ts';
import type { Cart, Owner } from '../../../operator/api/v1alpha1/types.ts';
import {
  buildChildren,
  buildCleanupJob,
  buildMigrateJob,
  servedPlans,
  type AutomaticPlan,
  type Child,
  type OwnerContext,
  type RunnerSettings,
  type ServicePlan,
  type WatchSource,
  watchSourceOf,
} from '../../../operator/reconcile/desired.ts';
import { migrateJobName } from '../../../operator/reconcile/names.ts';
import { parseCommandLine, parseRunnerConfig, type RunnerConfig } from '../../../operator/runner/config.ts';
import { migrations } from '../../../operator/runner/store/migrations.ts';
import { cartFixture, merchantFixture, runnerSettingsFixture } from '../../support/fixtures.ts';

const namespace = 'shops';
// Not the runner's default log level, so that a log level the operator stops passing shows.
const settings: RunnerSettings = { ...runnerSettingsFixture, logLevel: 'debug' };
const databaseUrl = 'postgresql://hub:hub-password@postgres:5432/hub';

/** The Secrets of the namespace, by name and key; a reference to anything else stops the pod, as in a cluster. */
const secrets: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  [settings.databaseSecret.name]: { [settings.databaseSecret.key]: databaseUrl },
  'acme-wms': { token: 'secret:acme-wms/token' },
  'etsy-api': { apiKey: 'secret:etsy-api/apiKey' },
  'shop-admin': { token: 'secret:shop-admin/token' },
};

const merchant = merchantFixture();
/** A Cart with a credential of its own. */
const etsy: Cart = cartFixture({
  name: 'acme-etsy',
  uid: 'uid-etsy',
  spec: {
    platform: {
      type: 'http',
      url: 'https://etsy.example.com/api',
      credentialsSecretRef: { name: 'etsy-api', key: 'apiKey' },
    },
  },
});
/** A Cart without one. */
const shopify: Cart = cartFixture({ name: 'acme-shopify', uid: 'uid-shopify' });

const interval = (service: ServicePlan['service'], batchSize: number, cron: string): ServicePlan => ({
  service,
  mode: 'interval',
  suspended: false,
  batchSize,
  cron,
  timeZone: 'America/Chicago',
});
const automatic = (service: ServicePlan['service'], batchSize: number, suspended = false): AutomaticPlan => ({
  service,
  mode: 'automatic',
  suspended,
  batchSize,
});

const merchantPlans: ServicePlan[] = [
  automatic('orderDelivery', 250),
  interval('shippingConfirmations', 50, '7,37 * * * *'),
  interval('inventory', 500, '11 */2 * * *'),
];
const etsyPlans: ServicePlan[] = [
  interval('orderDownload', 75, '*/15 * * * *'),
  automatic('shipmentUpload', 40),
  // Suspended: the watcher does not serve it.
  automatic('inventoryUpload', 30, true),
];
const shopifyPlans: ServicePlan[] = [
  interval('orderDownload', 15, '3,18,33,48 * * * *'),
  automatic('shipmentUpload', 60),
  automatic('inventoryUpload', 20),
];
/** A Cart whose only delivery service is Disabled: the watcher counts its backlog. */
const quietPlans: ServicePlan[] = [
  interval('orderDownload', 100, '5,20,35,50 * * * *'),
  { service: 'shipmentUpload', mode: 'disabled' },
  automatic('inventoryUpload', 10, true),
];
const quiet: Cart = cartFixture({ name: 'acme-quiet', uid: 'uid-quiet' });
const merchantCarts = ['acme-etsy', 'acme-quiet', 'acme-shopify'];

const contextOf = (owner: Owner): OwnerContext => ({
  owner,
  merchantName: owner.kind === 'Merchant' ? owner.metadata.name : owner.spec.merchantRef.name,
  settings,
  // A Merchant's runners are told its Carts, to retire from the hub those deleted or moved away.
  ...(owner.kind === 'Merchant' && { merchantCarts }),
});
// The Merchant first, then its Carts by name, as the reconcile orders them.
const sources: WatchSource[] = [
  { owner: merchant, plans: servedPlans(merchantPlans) },
  { owner: etsy, plans: servedPlans(etsyPlans) },
  watchSourceOf(quiet, quietPlans),
  { owner: shopify, plans: servedPlans(shopifyPlans) },
];
const merchantChildren = buildChildren(contextOf(merchant), merchantPlans, sources);
const cartChildren = [...buildChildren(contextOf(etsy), etsyPlans), ...buildChildren(contextOf(shopify), shopifyPlans)];

/** The one runner container of a pod. */
function containerOf(pod: V1PodSpec | undefined): V1Container {
  expect(pod?.containers).toHaveLength(1);
  return pod!.containers[0]!;
}

function podOf(child: Child): V1PodSpec {
  if (child.kind === 'Deployment') return child.spec!.template.spec!;
  if (child.kind === 'CronJob') return child.spec.jobTemplate.spec!.template.spec!;
  throw new Error(`${child.kind} has no pod`);
}

/** The container's environment as the kubelet gives it to the process in `podNamespace`. */
function resolvedEnvironment(container: V1Container, podNamespace: string): Record<string, string> {
  expect(container.envFrom ?? []).toEqual([]);
  // What the image and the kubelet add; the runner must not mind them.
  const env: Record<string, string> = {
    PATH: '/usr/local/bin:/usr/bin:/bin',
    HOSTNAME: 'runner-7d9f8',
    KUBERNETES_SERVICE_HOST: '10.96.0.1',
    KUBERNETES_SERVICE_PORT: '443',
  };
  const seen = new Set<string>();
  for (const variable of container.env ?? []) {
    if (seen.has(variable.name)) throw new Error(`${variable.name} is set twice`);
    seen.add(variable.name);
    const { value, valueFrom } = variable;
    if (valueFrom === undefined) {
      // The kubelet would expand $(NAME) references; the operator writes none.
      expect(value ?? '', `${variable.name} refers to another variable`).not.toMatch(/\$\(/);
      env[variable.name] = value ?? '';
    } else if (valueFrom.fieldRef) {
      expect(valueFrom.fieldRef.fieldPath, `${variable.name} reads an unexpected field`).toBe('metadata.namespace');
      env[variable.name] = podNamespace;
    } else if (valueFrom.secretKeyRef) {
      const { name, key, optional } = valueFrom.secretKeyRef;
      const secretValue = secrets[name ?? '']?.[key];
      if (secretValue !== undefined) env[variable.name] = secretValue;
      else if (!optional) throw new Error(`${variable.name} refers to ${name}/${key}, which no Secret holds`);
    } else if (valueFrom.resourceFieldRef) {
      // The container's own memory limit in MiB, for the entry point's heap size.
      expect(valueFrom.resourceFieldRef).toEqual({
        containerName: container.name,
        resource: 'limits.memory',
        divisor: '1Mi',
      });
      const limit = /^(\d+)Mi$/.exec(String(container.resources?.limits?.memory));
      expect(limit, `${variable.name}: the limit is not in Mi`).not.toBeNull();
      env[variable.name] = limit![1]!;
    } else {
      throw new Error(`${variable.name} has a source the runner's pods do not use`);
    }
  }
  return env;
}

/** What the runner in this pod reads from its command line and environment. */
function runnerConfigOf(pod: V1PodSpec, podNamespace = namespace): RunnerConfig {
  const container = containerOf(pod);
  expect(container.command).toEqual([runnerCommand]);
  const commandLine = parseCommandLine(container.args ?? []);
  if (!commandLine.ok)
    throw new Error(`the runner refuses ${JSON.stringify(container.args)}: ${commandLine.errors[0]}`);
  const parsed = parseRunnerConfig(commandLine.value, resolvedEnvironment(container, podNamespace));
  if (!parsed.ok) throw new Error(`the runner refuses its environment:\n${parsed.errors.join('\n')}`);
  return parsed.value;
}

/** The timings the operator leaves to the runner's defaults. */
const defaultTimings = { leaseMs: expect.any(Number) as unknown, requestTimeoutMs: expect.any(Number) as unknown };
const common = { databaseUrl, logLevel: 'debug' };
const merchantEndpoint = { type: 'http', url: 'https://wms.example.com/api', token: 'secret:acme-wms/token' };
const etsyEndpoint = { type: 'http', url: 'https://etsy.example.com/api', token: 'secret:etsy-api/apiKey' };
const shopifyEndpoint = { type: 'http', url: 'https://cart.example.com/api' };

describe('an interval run', () => {
  const cronJobs = [...merchantChildren, ...cartChildren].filter((child) => child.kind === 'CronJob');

  it('is one CronJob per interval service', () => {
    expect(cronJobs.map((child) => child.metadata!.name)).toEqual([
      'acme-shipping-confirmations',
      'acme-inventory',
      'acme-etsy-order-download',
      'acme-shopify-order-download',
    ]);
  });

  it.each([
    ['acme-shipping-confirmations', 'shippingConfirmations', 'Merchant', 'acme', 50, merchantEndpoint],
    ['acme-inventory', 'inventory', 'Merchant', 'acme', 500, merchantEndpoint],
    ['acme-etsy-order-download', 'orderDownload', 'Cart', 'acme-etsy', 75, etsyEndpoint],
    ['acme-shopify-order-download', 'orderDownload', 'Cart', 'acme-shopify', 15, shopifyEndpoint],
  ])(
    "%s runs %s for %s %s with its batch size and its own endpoint (a Merchant's, told its Carts)",
    (name, service, kind, owner, batchSize, endpoint) => {
      const cronJob = cronJobs.find((child) => child.metadata!.name === name)!;
      expect(runnerConfigOf(podOf(cronJob), cronJob.metadata!.namespace)).toEqual({
        mode: 'run',
        service,
        owner: { kind, namespace, name: owner },
        merchant: 'acme',
        batchSize,
        endpoint,
        ...(kind === 'Merchant' && { merchantCarts }),
        ...common,
        ...defaultTimings,
      });
    },
  );
});

describe("the Merchant's Carts", () => {
  it("reach the Merchant's runners only: a Cart's register their own Cart", () => {
    const told = (child: Child) =>
      (containerOf(podOf(child)).env ?? []).some((variable) => variable.name === runnerEnv.merchantCarts);
    const runners = [...merchantChildren, ...cartChildren].filter(
      (child) => child.kind === 'CronJob' || child.kind === 'Deployment',
    );
    expect(runners.filter(told).map((child) => child.metadata!.name)).toEqual([
      'acme-shipping-confirmations',
      'acme-inventory',
      'acme-watcher',
    ]);
  });
});

describe('a cleanup run', () => {
  it.each([
    [merchant, automatic('orderDelivery', 250), 'Merchant', merchantEndpoint],
    [etsy, automatic('shipmentUpload', 40), 'Cart', etsyEndpoint],
    [shopify, automatic('inventoryUpload', 20), 'Cart', shopifyEndpoint],
  ] as const)('of %s runs its service with its own endpoint', (owner, plan, kind, endpoint) => {
    const job = buildCleanupJob(contextOf(owner), plan, new Date('2026-03-01T02:00:00Z'));
    expect(runnerConfigOf(job.spec!.template.spec!, job.metadata!.namespace)).toEqual({
      mode: 'cleanup',
      service: plan.service,
      owner: { kind, namespace, name: owner.metadata.name },
      merchant: 'acme',
      batchSize: plan.batchSize,
      endpoint,
      ...(kind === 'Merchant' && { merchantCarts }),
      ...common,
      ...defaultTimings,
    });
  });
});

describe("the merchant's watcher", () => {
  const watchers = merchantChildren.filter((child) => child.kind === 'Deployment');

  it('serves every running Automatic service and counts the Disabled ones, each owner with its own endpoint and credential, in order', () => {
    expect(watchers).toHaveLength(1);
    expect(runnerConfigOf(podOf(watchers[0]!), watchers[0]!.metadata!.namespace)).toEqual({
      mode: 'watch',
      merchant: 'acme',
      namespace,
      owners: [
        {
          owner: { kind: 'Merchant', namespace, name: 'acme' },
          endpoint: merchantEndpoint,
          services: [{ service: 'orderDelivery', batchSize: 250 }],
        },
        {
          owner: { kind: 'Cart', namespace, name: 'acme-etsy' },
          endpoint: etsyEndpoint,
          services: [{ service: 'shipmentUpload', batchSize: 40 }],
        },
        {
          owner: { kind: 'Cart', namespace, name: 'acme-quiet' },
          endpoint: shopifyEndpoint,
          services: [{ service: 'shipmentUpload', batchSize: expect.any(Number) as unknown, countOnly: true }],
        },
        {
          owner: { kind: 'Cart', namespace, name: 'acme-shopify' },
          endpoint: shopifyEndpoint,
          services: [
            { service: 'shipmentUpload', batchSize: 60 },
            { service: 'inventoryUpload', batchSize: 20 },
          ],
        },
      ],
      merchantCarts,
      healthPort: watcherProbes.port,
      sweepMs: expect.any(Number) as unknown,
      ...common,
      ...defaultTimings,
    });
  });

  it('carries a credential only for the owners that name one, each under its own variable', () => {
    const tokenVariables = (containerOf(podOf(watchers[0]!)).env ?? [])
      .map((variable) => variable.name)
      .filter((name) => name.startsWith(runnerEnv.endpointToken));
    expect(tokenVariables).toEqual([tokenVariableOf('Merchant', 'acme'), tokenVariableOf('Cart', 'acme-etsy')]);
  });

  it('is probed where the runner answers', () => {
    const container = containerOf(podOf(watchers[0]!));
    const config = runnerConfigOf(podOf(watchers[0]!));
    const healthPort = container.ports?.find((port) => port.name === 'health')?.containerPort;
    expect(config.mode === 'watch' && config.healthPort).toBe(healthPort);
    for (const [probe, path] of [
      [container.readinessProbe, watcherProbes.readinessPath],
      [container.livenessProbe, watcherProbes.livenessPath],
    ] as const) {
      expect(probe?.httpGet).toMatchObject({ path, port: 'health' });
    }
  });

  it('would be probed there even if the operator left the port to the runner', () => {
    const container = containerOf(podOf(watchers[0]!));
    const env = resolvedEnvironment(container, namespace);
    delete env[runnerEnv.healthPort];
    const parsed = parseRunnerConfig({ mode: 'watch' }, env);
    expect(parsed.ok && parsed.value.mode === 'watch' && parsed.value.healthPort).toBe(watcherProbes.port);
  });
});

describe('a Shopify Cart', () => {
  const shop: Cart = cartFixture({
    name: 'acme-shop',
    uid: 'uid-shop',
    spec: {
      platform: {
        type: 'shopify',
        shop: 'acme.myshopify.com',
        locationId: 'gid://shopify/Location/7',
        credentialsSecretRef: { name: 'shop-admin', key: 'token' },
      },
    },
  });
  const plans = [interval('orderDownload', 40, '9 * * * *'), automatic('shipmentUpload', 10)];
  const endpoint = {
    type: 'shopify',
    url: 'https://acme.myshopify.com',
    apiVersion: defaultShopifyApiVersion,
    locationId: 'gid://shopify/Location/7',
    token: 'secret:shop-admin/token',
  };

  it("reaches its runs at https://<shop>, with the default API version, its location and its Secret's token", () => {
    const [cronJob] = buildChildren(contextOf(shop), plans);
    const config = runnerConfigOf(podOf(cronJob!), namespace);
    expect(config.mode === 'run' && config.endpoint).toEqual(endpoint);
  });

  it("reaches the merchant's watcher the same way", () => {
    const watcher = buildChildren({ ...contextOf(merchant), merchantCarts: ['acme-shop'] }, merchantPlans, [
      watchSourceOf(merchant, merchantPlans),
      watchSourceOf(shop, plans),
    ]).find((child) => child.kind === 'Deployment')!;
    const config = runnerConfigOf(podOf(watcher), namespace);
    const target =
      config.mode === 'watch' ? config.owners.find((owner) => owner.owner.name === 'acme-shop') : undefined;
    expect(target?.endpoint).toEqual(endpoint);
  });
});

describe('the migrate run', () => {
  const job = buildMigrateJob(namespace, settings);

  it('reads the hub store from its Secret and nothing else', () => {
    expect(runnerConfigOf(job.spec!.template.spec!, job.metadata!.namespace)).toEqual({ mode: 'migrate', ...common });
    expect(containerOf(job.spec!.template.spec).env?.map((variable) => variable.name)).toEqual([
      runnerEnv.databaseUrl,
      runnerEnv.logLevel,
      runnerEnv.memoryLimit,
    ]);
  });

  it("is named by the schema version the runner's newest migration brings", () => {
    const newest = Math.max(...migrations.map((migration) => migration.version));
    expect(hubSchemaVersion).toBe(newest);
    expect(job.metadata!.name).toBe(migrateJobName(newest));
  });
});
