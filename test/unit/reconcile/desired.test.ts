import { describe, expect, it } from 'vitest';
import { hubSchemaVersion, tokenVariableOf, type WatchTarget } from '../../../operator/api/runner-contract.ts';
import {
  buildChildren,
  buildCleanupJob,
  buildMigrateJob,
  buildWatcher,
  cleanupDeadlineSeconds,
  migrateDeadlineSeconds,
  runnerRules,
  servedPlans,
  watchSourceOf,
  watchTargetOf,
  type AutomaticPlan,
  type Child,
  type OwnerContext,
  type ServicePlan,
  type WatchSource,
} from '../../../operator/reconcile/desired.ts';
import { cartFixture, merchantFixture, runnerSettingsFixture } from '../../support/fixtures.ts';

const merchantContext: OwnerContext = {
  owner: merchantFixture(),
  merchantName: 'acme',
  settings: runnerSettingsFixture,
};
const plans: ServicePlan[] = [
  { service: 'orderDelivery', mode: 'automatic', suspended: false, batchSize: 100 },
  {
    service: 'shippingConfirmations',
    mode: 'interval',
    suspended: false,
    batchSize: 50,
    cron: '7,37 * * * *',
    timeZone: 'America/Chicago',
  },
  { service: 'inventory', mode: 'disabled' },
];

const merchantSources = (merchant = merchantFixture(), carts: WatchSource[] = []): WatchSource[] => [
  { owner: merchant, plans: servedPlans(plans) },
  ...carts,
];
const cartSource = (name: string, overrides: Parameters<typeof cartFixture>[0] = {}): WatchSource => ({
  owner: cartFixture({ name, ...overrides }),
  plans: [
    { service: 'shipmentUpload', mode: 'automatic', suspended: false, batchSize: 100 },
    { service: 'inventoryUpload', mode: 'automatic', suspended: false, batchSize: 20 },
  ],
});
const podOf = (child: Child | undefined) =>
  child?.kind === 'Deployment'
    ? child.spec!.template.spec!
    : child?.kind === 'CronJob'
      ? child.spec.jobTemplate.spec!.template.spec!
      : undefined;
const envOf = (child: Child | undefined) => podOf(child)?.containers[0]!.env ?? [];

describe('buildChildren', () => {
  const children = buildChildren(merchantContext, plans, merchantSources());

  it("makes the merchant's identity, a CronJob per interval service and one watcher, nothing for Disabled", () => {
    expect(children.map((child) => `${child.kind}/${child.metadata!.name!}`)).toEqual([
      'ServiceAccount/acme-runner',
      'Role/acme-runner',
      'RoleBinding/acme-runner-status',
      'CronJob/acme-shipping-confirmations',
      'Deployment/acme-watcher',
    ]);
  });

  it('gives every child the owner reference and the labels', () => {
    for (const child of children) {
      expect(child.metadata!.ownerReferences).toEqual([
        {
          apiVersion: 'switchyard.dev/v1alpha1',
          kind: 'Merchant',
          name: 'acme',
          uid: 'uid-acme',
          controller: true,
          blockOwnerDeletion: true,
        },
      ]);
      expect(child.metadata!.labels).toMatchObject({
        'app.kubernetes.io/managed-by': 'switchyard',
        'app.kubernetes.io/name': 'switchyard-runner',
        'switchyard.dev/owner-kind': 'Merchant',
        'switchyard.dev/owner': 'acme',
      });
    }
  });

  it("gives the merchant's runners an identity that may patch the status of its own objects only", () => {
    const built = buildChildren(
      merchantContext,
      plans,
      merchantSources(merchantFixture(), [
        cartSource('acme-shopify'),
        { owner: cartFixture({ name: 'acme-etsy' }), plans: [] },
      ]),
    );
    const role = built.find((child) => child.kind === 'Role');
    // Every Cart of the merchant, also one whose services are all on an interval: its runs report too.
    expect(role?.kind === 'Role' && role.rules).toEqual([
      {
        apiGroups: ['switchyard.dev'],
        resources: ['merchants/status'],
        verbs: ['patch'],
        resourceNames: ['acme'],
      },
      {
        apiGroups: ['switchyard.dev'],
        resources: ['carts/status'],
        verbs: ['patch'],
        resourceNames: ['acme-etsy', 'acme-shopify'],
      },
      { apiGroups: ['events.k8s.io'], resources: ['events'], verbs: ['create'] },
    ]);
    const binding = built.find((child) => child.kind === 'RoleBinding');
    expect(binding?.kind === 'RoleBinding' && binding.roleRef).toEqual({
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'Role',
      name: 'acme-runner',
    });
    expect(binding?.kind === 'RoleBinding' && binding.subjects).toEqual([
      { kind: 'ServiceAccount', name: 'acme-runner', namespace: 'shops' },
    ]);
    const cartChildren = buildChildren(
      { owner: cartFixture(), merchantName: 'acme', settings: runnerSettingsFixture },
      [
        {
          service: 'orderDownload',
          mode: 'interval',
          suspended: false,
          batchSize: 100,
          cron: '1 * * * *',
          timeZone: 'UTC',
        },
        { service: 'shipmentUpload', mode: 'automatic', suspended: false, batchSize: 100 },
      ],
    );
    // A Cart's Automatic services run on its merchant's watcher: it owns only its CronJobs.
    expect(cartChildren.map((child) => `${child.kind}/${child.metadata!.name!}`)).toEqual([
      'CronJob/acme-shopify-order-download',
    ]);
    expect(podOf(cartChildren[0])?.serviceAccountName).toBe('acme-runner');
  });

  it('grants no Cart rule to a merchant without Carts: a rule without names would grant every Cart', () => {
    const merchant = merchantFixture();
    expect(runnerRules(merchant, merchantSources(merchant))).toEqual([
      {
        apiGroups: ['switchyard.dev'],
        resources: ['merchants/status'],
        verbs: ['patch'],
        resourceNames: ['acme'],
      },
      { apiGroups: ['events.k8s.io'], resources: ['events'], verbs: ['create'] },
    ]);
    const statusRules = runnerRules(merchant, merchantSources(merchant, [cartSource('acme-etsy')])).filter((rule) =>
      rule.apiGroups?.includes('switchyard.dev'),
    );
    for (const rule of statusRules) {
      expect(rule.resourceNames?.length).toBeGreaterThan(0);
      expect(rule.verbs).toEqual(['patch']);
    }
  });

  it('builds the CronJob as the CronJob rules want it', () => {
    const cronJob = children.find((child) => child.kind === 'CronJob')!;
    expect(cronJob.spec).toMatchObject({
      schedule: '7,37 * * * *',
      timeZone: 'America/Chicago',
      concurrencyPolicy: 'Forbid',
      startingDeadlineSeconds: 120,
      successfulJobsHistoryLimit: 3,
      failedJobsHistoryLimit: 1,
      suspend: false,
    });
    // Every half hour: a run has until a minute before the next is due.
    expect(cronJob.kind === 'CronJob' && cronJob.spec?.jobTemplate.spec?.activeDeadlineSeconds).toBe(29 * 60);
    const container = podOf(cronJob)?.containers[0];
    expect(container?.args).toEqual(['run', '--service', 'shippingConfirmations']);
    expect(container?.env).toContainEqual({ name: 'SWITCHYARD_BATCH_SIZE', value: '50' });
  });

  it('runs pods with the restricted security context, resources, and secrets only by reference', () => {
    for (const pod of [
      podOf(children.find((child) => child.kind === 'Deployment')),
      podOf(children.find((child) => child.kind === 'CronJob')),
      buildCleanupJob(merchantContext, plans[0] as AutomaticPlan, new Date()).spec!.template.spec,
      buildMigrateJob('shops', runnerSettingsFixture).spec!.template.spec,
    ]) {
      const container = pod!.containers[0]!;
      expect(pod!.securityContext).toEqual({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
      expect(container.securityContext).toEqual({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        runAsNonRoot: true,
        capabilities: { drop: ['ALL'] },
      });
      expect(container.resources).toEqual(runnerSettingsFixture.resources);
      expect(container.env).toContainEqual({
        name: 'SWITCHYARD_DATABASE_URL',
        valueFrom: { secretKeyRef: { name: 'switchyard-hub-store', key: 'url' } },
      });
    }
    expect(envOf(children.find((child) => child.kind === 'CronJob'))).toContainEqual({
      name: 'SWITCHYARD_ENDPOINT_TOKEN',
      valueFrom: { secretKeyRef: { name: 'acme-wms', key: 'token' } },
    });
  });

  it('gives every runner pod the configured image pull secrets, and none when there are none', () => {
    const withSecrets = { ...merchantContext, settings: { ...runnerSettingsFixture, imagePullSecrets: ['regcred'] } };
    const built = buildChildren(withSecrets, plans, merchantSources());
    const cleanup = buildCleanupJob(withSecrets, plans[0] as AutomaticPlan, new Date());
    for (const pod of [
      podOf(built.find((child) => child.kind === 'Deployment')),
      podOf(built.find((child) => child.kind === 'CronJob')),
      cleanup.spec!.template.spec,
      buildMigrateJob('shops', withSecrets.settings).spec!.template.spec,
    ]) {
      expect(pod?.imagePullSecrets).toEqual([{ name: 'regcred' }]);
    }
    expect(podOf(children.find((child) => child.kind === 'Deployment'))).not.toHaveProperty('imagePullSecrets');
  });

  it('never copies the owner labels or annotations (Argo CD tracking) to children', () => {
    const owner = merchantFixture();
    owner.metadata.labels = { 'app.kubernetes.io/instance': 'shops-app' };
    owner.metadata.annotations = { 'argocd.argoproj.io/tracking-id': 'shops-app:switchyard.dev/Merchant:shops/acme' };
    const built = buildChildren(
      { owner, merchantName: 'acme', settings: runnerSettingsFixture },
      plans,
      merchantSources(owner),
    );
    expect(built.length).toBeGreaterThan(0);
    expect(JSON.stringify(built)).not.toContain('shops-app');
  });
});

describe('buildWatcher', () => {
  const merchant = merchantFixture();
  const watcherFor = (sources: WatchSource[]) => buildWatcher(merchant, sources, runnerSettingsFixture);

  it('serves the Automatic services of the Merchant and its Carts in one pod, each with its own credential', () => {
    const watcher = watcherFor(
      merchantSources(merchant, [
        cartSource('acme-etsy'),
        cartSource('acme-shopify', {
          spec: {
            platform: {
              type: 'http',
              url: 'https://shop.example/api',
              credentialsSecretRef: { name: 'shop', key: 'api-key' },
            },
          },
        }),
      ]),
    );
    const container = podOf(watcher)!.containers[0]!;
    expect(container.args).toEqual(['watch']);
    const targets = JSON.parse(
      container.env!.find((entry) => entry.name === 'SWITCHYARD_WATCH_TARGETS')!.value!,
    ) as WatchTarget[];
    expect(
      targets.map((target) => `${target.kind}/${target.name}: ${target.services.map((s) => s.name).join(',')}`),
    ).toEqual([
      'Merchant/acme: orderDelivery',
      'Cart/acme-etsy: shipmentUpload,inventoryUpload',
      'Cart/acme-shopify: shipmentUpload,inventoryUpload',
    ]);
    // Each owner's credential comes from its own Secret, into a variable named after the owner alone.
    expect(container.env).toContainEqual({
      name: tokenVariableOf('Cart', 'acme-shopify'),
      valueFrom: { secretKeyRef: { name: 'shop', key: 'api-key' } },
    });
    expect(container.env).toContainEqual({
      name: tokenVariableOf('Merchant', 'acme'),
      valueFrom: { secretKeyRef: { name: 'acme-wms', key: 'token' } },
    });
    expect(targets[1]!.endpoint).toEqual({ type: 'http', url: 'https://cart.example.com/api' });
    expect(targets[2]!.endpoint.tokenVariable).toBe(tokenVariableOf('Cart', 'acme-shopify'));
  });

  it('rolls a new pod in before the old one stops, and is ready only once it listens', () => {
    const watcher = watcherFor(merchantSources());
    const spec = watcher?.kind === 'Deployment' ? watcher.spec! : undefined;
    expect(spec?.replicas).toBe(1);
    expect(spec?.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } });
    const container = spec!.template.spec!.containers[0]!;
    expect(container.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'health' });
    expect(container.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'health' });
    expect(container.ports).toEqual([{ name: 'health', containerPort: 8080 }]);
  });

  it('exists only while something is Automatic and running', () => {
    expect(
      watcherFor([
        { owner: merchant, plans: [] },
        { owner: cartFixture(), plans: [] },
      ]),
    ).toBeUndefined();
    expect(watcherFor([{ owner: merchant, plans: [] }, cartSource('acme-etsy')])?.metadata?.name).toBe('acme-watcher');
    expect(servedPlans([{ service: 'shipmentUpload', mode: 'automatic', suspended: true, batchSize: 1 }])).toEqual([]);
  });

  it('counts the backlog of Disabled delivery services, unless the object is suspended', () => {
    const disabled: ServicePlan[] = [
      { service: 'shipmentUpload', mode: 'disabled' },
      { service: 'inventoryUpload', mode: 'automatic', suspended: false, batchSize: 20 },
      { service: 'orderDownload', mode: 'disabled' },
    ];
    const source = watchSourceOf(cartFixture(), disabled);
    expect(watchTargetOf(source).services).toEqual([
      { name: 'inventoryUpload', batchSize: 20 },
      { name: 'shipmentUpload', batchSize: 100, countOnly: true },
    ]);
    // A watcher that would only count still runs: the backlog is what status shows of a Disabled service.
    const onlyCounting = watchSourceOf(merchantFixture(), [{ service: 'orderDelivery', mode: 'disabled' }]);
    expect(watcherFor([onlyCounting])?.metadata?.name).toBe('acme-watcher');
    const suspended = watchSourceOf(merchantFixture({ spec: { suspend: true } }), [
      { service: 'orderDelivery', mode: 'disabled' },
    ]);
    expect(suspended.counted).toEqual([]);
  });

  it("tells the merchant's runners its Carts, for the hub's cart registry", () => {
    const carts = ['acme-etsy', 'acme-shopify'];
    const children = buildChildren({ ...merchantContext, merchantCarts: carts }, plans, merchantSources());
    const cartsVariable = { name: 'SWITCHYARD_MERCHANT_CARTS', value: '["acme-etsy","acme-shopify"]' };
    expect(envOf(children.find((child) => child.kind === 'Deployment'))).toContainEqual(cartsVariable);
    expect(envOf(children.find((child) => child.kind === 'CronJob'))).toContainEqual(cartsVariable);
    const cartChildren = buildChildren(
      { owner: cartFixture(), merchantName: 'acme', settings: runnerSettingsFixture },
      [{ ...(plans[1] as ServicePlan & { mode: 'interval' }), service: 'orderDownload' }],
    );
    expect(envOf(cartChildren[0]).map((entry) => entry.name)).not.toContain('SWITCHYARD_MERCHANT_CARTS');
  });

  it("gives a Cart's target the same text whatever else the watcher serves", () => {
    const alone = watchTargetOf(cartSource('acme-etsy'));
    const targets = (sources: WatchSource[]) =>
      JSON.parse(
        envOf(watcherFor(sources)).find((entry) => entry.name === 'SWITCHYARD_WATCH_TARGETS')!.value!,
      ) as WatchTarget[];
    expect(targets(merchantSources(merchant, [cartSource('acme-etsy')]))[1]).toEqual(alone);
    expect(targets(merchantSources(merchant, [cartSource('a-first'), cartSource('acme-etsy')]))[2]).toEqual(alone);
  });
});

describe('buildMigrateJob', () => {
  it('migrates the hub store once per schema version, with no API credentials', () => {
    const job = buildMigrateJob('shops', runnerSettingsFixture);
    expect(job.metadata?.name).toBe(`switchyard-migrate-v${hubSchemaVersion}`);
    expect(job.metadata?.ownerReferences).toBeUndefined();
    expect(job.metadata?.labels?.['app.kubernetes.io/component']).toBe('migrate');
    const pod = job.spec!.template.spec!;
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.containers[0]!.args).toEqual(['migrate']);
    // Its retries wait about 10 minutes for the hub store; a migration still going after 30 is stuck.
    expect(job.spec?.activeDeadlineSeconds).toBe(migrateDeadlineSeconds);
    expect(migrateDeadlineSeconds).toBe(30 * 60);
    expect(pod.containers[0]!.env!.map((entry) => entry.name)).toEqual([
      'SWITCHYARD_DATABASE_URL',
      'SWITCHYARD_LOG_LEVEL',
      'CONTAINER_MEMORY_LIMIT_MIB',
    ]);
  });

  it("connects as the role that owns the schema when the Secret has a key for it, the runners' role otherwise", () => {
    const databaseUrlOf = (job: ReturnType<typeof buildMigrateJob>) =>
      job.spec!.template.spec!.containers[0]!.env!.find((entry) => entry.name === 'SWITCHYARD_DATABASE_URL');
    const owner = buildMigrateJob('shops', { ...runnerSettingsFixture, migrationSecretKey: 'ownerUrl' });
    expect(databaseUrlOf(owner)?.valueFrom?.secretKeyRef).toEqual({ name: 'switchyard-hub-store', key: 'ownerUrl' });
    expect(databaseUrlOf(buildMigrateJob('shops', runnerSettingsFixture))?.valueFrom?.secretKeyRef?.key).toBe('url');
    // The runners keep theirs.
    const cronJob = buildChildren(
      { ...merchantContext, settings: { ...runnerSettingsFixture, migrationSecretKey: 'ownerUrl' } },
      plans,
    ).find((child) => child.kind === 'CronJob');
    expect(envOf(cronJob).find((entry) => entry.name === 'SWITCHYARD_DATABASE_URL')?.valueFrom?.secretKeyRef?.key).toBe(
      'url',
    );
  });
});

describe('buildCleanupJob', () => {
  it('runs the cleanup once, records its scheduled time, and removes itself when finished', () => {
    const at = new Date('2026-11-27T15:42:00Z');
    const job = buildCleanupJob(
      merchantContext,
      { service: 'orderDelivery', mode: 'automatic', suspended: false, batchSize: 100 },
      at,
    );
    expect(job.metadata!.annotations).toEqual({ 'switchyard.dev/cleanup-time': '2026-11-27T15:42:00.000Z' });
    expect(job.metadata!.labels!['app.kubernetes.io/component']).toBe('cleanup');
    expect(job.spec!.ttlSecondsAfterFinished).toBeGreaterThan(3600);
    expect(job.spec!.template.spec!.containers[0]!.args).toEqual(['cleanup', '--service', 'orderDelivery']);
    expect(job.spec!.template.spec!.restartPolicy).toBe('Never');
    expect(job.spec?.activeDeadlineSeconds).toBe(cleanupDeadlineSeconds);
    expect(cleanupDeadlineSeconds).toBe(3600);
  });
});
