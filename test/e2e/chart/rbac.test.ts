// The chart's RBAC, proven rather than assumed: the real operator process, authenticated as the chart's
// ServiceAccount with a token the API server issued to it, reconciles a Merchant and a Cart to Ready, cluster-wide
// and with watchNamespaces; the runner identity it creates can report to its own merchant's objects' status and to
// no one else's; neither can read Secrets or do what it does not need.
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubernetesApiError } from '../../../operator/runner/reporting/in-cluster-api.ts';
import { createKubernetesStatusReporter } from '../../../operator/runner/reporting/kubernetes-reporter.ts';
import { eventually, kubectl, testKubeConfig, useTestNamespace } from '../support/cluster.ts';
import { startOperator, type RunningOperator } from '../support/operator.ts';
import { serviceAccountApi } from '../support/service-account-api.ts';
import {
  applyYaml,
  cartYaml,
  merchantYaml,
  apps,
  core,
  getOwner,
  waitForReady,
  waitForWorkloads,
} from '../support/switchyard.ts';
import {
  canI,
  chartDir,
  type AccessScope,
  helm,
  helmResult,
  serviceAccountKubeconfig,
  serviceAccountUser,
  uniqueReleaseName,
} from './helm.ts';

const releaseNamespace = useTestNamespace('rbac');
const clusterWideShop = useTestNamespace('rbac-all');
const listedShop = useTestNamespace('rbac-listed');
const clusterWideRelease = uniqueReleaseName('all');
const namespacedRelease = uniqueReleaseName('listed');
const hubStoreUrl = 'postgres://hub:secret@hub-store:5432/hub';
const admin = testKubeConfig();
const rbacApi = admin.makeApiClient(k8s.RbacAuthorizationV1Api);
const coordination = admin.makeApiClient(k8s.CoordinationV1Api);
const running: RunningOperator[] = [];

beforeAll(async () => {
  const namespace = releaseNamespace.name;
  // The cluster's CRDs belong to the test setup, as they would to another release of the chart.
  const withoutCrds = ['--set', 'crds.install=false'];
  await helm(['install', clusterWideRelease, chartDir, '--namespace', namespace, ...withoutCrds]);
  await helm([
    'install',
    namespacedRelease,
    chartDir,
    '--namespace',
    namespace,
    ...withoutCrds,
    '--set',
    `watchNamespaces={${listedShop.name}}`,
    '--set',
    `hubStore.createSecretIn={${listedShop.name}}`,
    '--set',
    `hubStore.url=${hubStoreUrl}`,
  ]);
  // The cluster-wide install leaves the Secret to the user, as its NOTES say.
  await kubectl([
    'create',
    'secret',
    'generic',
    'switchyard-hub-store',
    '-n',
    clusterWideShop.name,
    `--from-literal=url=${hubStoreUrl}`,
  ]);
});

afterAll(async () => {
  await Promise.all(running.map((operator) => operator.stop()));
  for (const release of [clusterWideRelease, namespacedRelease]) {
    await helmResult(['uninstall', release, '--namespace', releaseNamespace.name]);
  }
});

const operatorServiceAccount = (release: string) => `${release}-switchyard`;
const operatorUser = (release: string) => serviceAccountUser(releaseNamespace.name, operatorServiceAccount(release));

/** The operator container's environment in the installed Deployment, the downward API's namespace resolved. */
async function installedEnvironment(release: string): Promise<Record<string, string>> {
  const namespace = releaseNamespace.name;
  const deployment = await apps.readNamespacedDeployment({ namespace, name: `${release}-switchyard` });
  const container = deployment.spec!.template.spec!.containers[0]!;
  return Object.fromEntries(
    (container.env ?? []).map((variable) => [
      variable.name,
      variable.valueFrom?.fieldRef?.fieldPath === 'metadata.namespace' ? namespace : (variable.value ?? ''),
    ]),
  );
}

/**
 * The operator process as the chart runs it: the installed Deployment's settings, and the chart's ServiceAccount's
 * token. Two departures, each narrowing it: a free HTTP port (tests share this machine), and for a cluster-wide
 * install the watch kept to the test's namespace, so that it leaves other tests' objects alone (the ClusterRole
 * grants the same there as anywhere; the can-i checks below cover the cluster scope).
 */
async function startChartOperator(release: string, merchantNamespace: string): Promise<RunningOperator> {
  const { SWITCHYARD_HTTP_PORT: _port, ...environment } = await installedEnvironment(release);
  const watched = environment.SWITCHYARD_WATCH_NAMESPACES || merchantNamespace;
  const operator = await startOperator(watched, {
    ...environment,
    KUBECONFIG: await serviceAccountKubeconfig(releaseNamespace.name, operatorServiceAccount(release)),
    SWITCHYARD_WATCH_NAMESPACES: watched,
    // Empty means the default: POD_NAMESPACE, as in the pod.
    SWITCHYARD_LEASE_NAMESPACE: '',
  });
  running.push(operator);
  return operator;
}

const merchantAndCart = [
  merchantYaml('acme', { orderDelivery: 'Automatic', inventory: '2h' }),
  cartYaml('acme-web', 'acme', { orderDownload: '15m', shipmentUpload: 'Automatic' }),
].join('---\n');

const expectedWorkloads = [
  'Deployment/acme-watcher',
  'CronJob/acme-shipping-confirmations',
  'CronJob/acme-inventory',
  'CronJob/acme-web-order-download',
];

/** Everything the operator does for one Merchant and one Cart, done under the chart's identity. */
async function proveReconcilesAs(release: string, merchantNamespace: string): Promise<void> {
  const operator = await startChartOperator(release, merchantNamespace);
  await applyYaml(merchantNamespace, merchantAndCart);
  await waitForWorkloads(merchantNamespace, expectedWorkloads);
  await waitForReady('Merchant', merchantNamespace, 'acme');
  await waitForReady('Cart', merchantNamespace, 'acme-web');

  // The runners' identity: a Role naming the merchant's own objects, which the operator may grant only because it
  // holds those permissions itself (RBAC's escalation check), and its binding.
  await core.readNamespacedServiceAccount({ namespace: merchantNamespace, name: 'acme-runner' });
  const role = await rbacApi.readNamespacedRole({ namespace: merchantNamespace, name: 'acme-runner' });
  expect(
    role.rules?.map((rule) =>
      [rule.verbs.join(), rule.resources?.join(), rule.resourceNames?.join()].filter(Boolean).join(' '),
    ),
  ).toEqual(['patch merchants/status acme', 'patch carts/status acme-web', 'create events']);
  const binding = await rbacApi.readNamespacedRoleBinding({ namespace: merchantNamespace, name: 'acme-runner-status' });
  expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'acme-runner' });
  // Leader election through the Lease the chart's Role names, in the release namespace.
  const lease = await coordination.readNamespacedLease({
    namespace: releaseNamespace.name,
    name: `${release}-switchyard-operator`,
  });
  expect(lease.spec?.holderIdentity).toBeTruthy();
  const events = await kubectl(['get', 'events', '-n', merchantNamespace, '--field-selector', 'reason=Created']);
  expect(events).toContain('Created CronJob acme-inventory');

  // The runner, as its own ServiceAccount, reports failed records with the runner's real reporter; the operator
  // totals them.
  const { api: runnerApi } = await serviceAccountApi(merchantNamespace, 'acme-runner');
  await createKubernetesStatusReporter(runnerApi).report(
    { kind: 'Cart', namespace: merchantNamespace, name: 'acme-web' },
    {
      name: 'orderDownload',
      failedRecords: { count: 2, sample: [{ id: 'order-1', reason: 'HTTP 422', time: new Date().toISOString() }] },
      lastResult: { time: new Date().toISOString(), outcome: 'PartiallyFailed', processed: 5, failed: 2 },
    },
  );
  await eventually('the operator to total the failed records', async () => {
    const cart = await getOwner('Cart', merchantNamespace, 'acme-web');
    return cart.status?.failedRecords === 2 ? cart : undefined;
  });

  expect(operator.logs.filter((line) => /forbidden/i.test(line))).toEqual([]);
  await operator.stop();
}

/** A GET of the hub-store Secret with the ServiceAccount's own token: the API server's answer code. */
async function secretReadStatus(serviceAccountNamespace: string, serviceAccount: string, secretNamespace: string) {
  const config = new k8s.KubeConfig();
  config.loadFromFile(await serviceAccountKubeconfig(serviceAccountNamespace, serviceAccount));
  try {
    await config
      .makeApiClient(k8s.CoreV1Api)
      .readNamespacedSecret({ namespace: secretNamespace, name: 'switchyard-hub-store' });
    return 200;
  } catch (error) {
    return (error as { code?: number }).code;
  }
}

describe('the operator with the RBAC of a cluster-wide install', () => {
  it('reconciles a Merchant and a Cart to Ready, with their CronJobs, Deployments and runner identity', async () => {
    await proveReconcilesAs(clusterWideRelease, clusterWideShop.name);
  });

  it('may watch its kinds everywhere, and grant no role it does not hold', async () => {
    const user = operatorUser(clusterWideRelease);
    expect(await canI(user, 'watch', 'merchants.switchyard.dev')).toBe(true);
    expect(await canI(user, 'list', 'cronjobs.batch')).toBe(true);
    expect(await canI(user, 'patch', 'carts.switchyard.dev', { subresource: 'status' })).toBe(true);
    expect(await canI(user, 'create', 'deployments.apps', { namespace: 'default' })).toBe(true);
    expect(await canI(user, 'create', 'roles.rbac.authorization.k8s.io', { namespace: 'default' })).toBe(true);
    expect(await canI(user, 'bind', 'clusterroles/cluster-admin')).toBe(false);
    expect(await canI(user, 'bind', 'roles.rbac.authorization.k8s.io', { namespace: 'default' })).toBe(false);
    expect(await canI(user, 'escalate', 'roles.rbac.authorization.k8s.io', { namespace: 'default' })).toBe(false);
    // Events: created, and patched to count a repeat on the Event's series.
    expect(await canI(user, 'patch', 'events.events.k8s.io', { namespace: 'default' })).toBe(true);
  });

  it.each<[string, string, AccessScope]>([
    ['get', 'secrets', { namespace: 'default' }],
    ['list', 'secrets', {}],
    ['watch', 'secrets', {}],
    ['get', 'configmaps', { namespace: 'default' }],
    ['create', 'pods', { namespace: 'default' }],
    ['create', 'pods', { namespace: 'default', subresource: 'exec' }],
    ['delete', 'namespaces', {}],
    ['create', 'clusterroles.rbac.authorization.k8s.io', {}],
    ['escalate', 'clusterroles.rbac.authorization.k8s.io', {}],
    ['create', 'clusterrolebindings.rbac.authorization.k8s.io', {}],
    ['create', 'serviceaccounts', { namespace: 'default', subresource: 'token' }],
    ['impersonate', 'users', {}],
    ['update', 'merchants.switchyard.dev', { namespace: 'default' }],
    ['delete', 'carts.switchyard.dev', { namespace: 'default' }],
    ['update', 'leases.coordination.k8s.io', { namespace: 'default' }],
    // Verbs it never uses: it applies (patch) rather than updates, reads its caches rather than getting, and leaves
    // finished cleanup Jobs to their TTL (it deletes only a failed migrate Job).
    ['get', 'merchants.switchyard.dev', { namespace: 'default' }],
    ['update', 'merchants.switchyard.dev', { namespace: 'default', subresource: 'status' }],
    ['get', 'carts.switchyard.dev', { namespace: 'default', subresource: 'status' }],
    ['update', 'cronjobs.batch', { namespace: 'default' }],
    ['update', 'deployments.apps', { namespace: 'default' }],
    ['update', 'serviceaccounts', { namespace: 'default' }],
    ['update', 'rolebindings.rbac.authorization.k8s.io', { namespace: 'default' }],
    ['get', 'jobs.batch', { namespace: 'default' }],
    ['update', 'events.events.k8s.io', { namespace: 'default' }],
    ['bind', 'clusterroles.rbac.authorization.k8s.io', {}],
  ])('may not %s %s %j', async (verb, resource, scope) => {
    expect(await canI(operatorUser(clusterWideRelease), verb, resource, scope)).toBe(false);
  });

  it('gets 403 reading a Secret with its own token', async () => {
    const status = await secretReadStatus(
      releaseNamespace.name,
      operatorServiceAccount(clusterWideRelease),
      clusterWideShop.name,
    );
    expect(status).toBe(403);
  });
});

describe('the operator with the RBAC of a watchNamespaces install (Roles only)', () => {
  it('reconciles a Merchant and a Cart to Ready in its listed namespace', async () => {
    await proveReconcilesAs(namespacedRelease, listedShop.name);
  });

  it('may act in the listed namespace only, and never on Secrets', async () => {
    const user = operatorUser(namespacedRelease);
    const listed = { namespace: listedShop.name };
    const other = { namespace: clusterWideShop.name };
    expect(await canI(user, 'watch', 'merchants.switchyard.dev', listed)).toBe(true);
    expect(await canI(user, 'create', 'rolebindings.rbac.authorization.k8s.io', listed)).toBe(true);
    expect(await canI(user, 'create', 'roles.rbac.authorization.k8s.io', listed)).toBe(true);
    expect(await canI(user, 'create', 'roles.rbac.authorization.k8s.io', other)).toBe(false);
    expect(await canI(user, 'list', 'merchants.switchyard.dev')).toBe(false);
    expect(await canI(user, 'watch', 'merchants.switchyard.dev', other)).toBe(false);
    expect(await canI(user, 'create', 'deployments.apps', other)).toBe(false);
    expect(await canI(user, 'get', 'secrets', listed)).toBe(false);
    expect(await canI(user, 'create', 'pods', listed)).toBe(false);
    const status = await secretReadStatus(
      releaseNamespace.name,
      operatorServiceAccount(namespacedRelease),
      listedShop.name,
    );
    expect(status).toBe(403);
  });
});

const anotherMerchant = `
apiVersion: switchyard.dev/v1alpha1
kind: Merchant
metadata: { name: globex }
spec:
  warehouse: { url: "https://wms.globex.example/api" }
  services: {}
---
apiVersion: switchyard.dev/v1alpha1
kind: Cart
metadata: { name: globex-web }
spec:
  merchantRef: { name: globex }
  platform: { url: "https://cart.globex.example/api" }
  services: {}
`;

const lateCart = `
apiVersion: switchyard.dev/v1alpha1
kind: Cart
metadata: { name: acme-app }
spec:
  merchantRef: { name: acme }
  platform: { url: "https://app.example.com/api" }
  services: { orderDownload: { schedule: 30m } }
`;

describe("a merchant's runner identity", () => {
  const namespace = () => listedShop.name;
  const user = () => serviceAccountUser(listedShop.name, 'acme-runner');
  const mayPatchStatus = (plural: string, name: string) =>
    canI(user(), 'patch', `${plural}.switchyard.dev/${name}`, { namespace: namespace(), subresource: 'status' });

  beforeAll(async () => {
    // The operator as the chart runs it, now with a second merchant in the namespace.
    await startChartOperator(namespacedRelease, listedShop.name);
    await applyYaml(listedShop.name, anotherMerchant);
    await waitForReady('Cart', listedShop.name, 'globex-web');
    await waitForReady('Cart', listedShop.name, 'acme-web');
  });

  it("may patch its own Merchant's and Carts' status, and no other merchant's", async () => {
    expect(await mayPatchStatus('merchants', 'acme')).toBe(true);
    expect(await mayPatchStatus('carts', 'acme-web')).toBe(true);
    expect(await mayPatchStatus('merchants', 'globex')).toBe(false);
    expect(await mayPatchStatus('carts', 'globex-web')).toBe(false);
    // Nor a Cart that does not exist yet, whatever it will be called.
    expect(await mayPatchStatus('carts', 'acme-app')).toBe(false);
    // And the other merchant's runners likewise.
    const globex = serviceAccountUser(listedShop.name, 'globex-runner');
    const status = { namespace: listedShop.name, subresource: 'status' };
    expect(await canI(globex, 'patch', 'merchants.switchyard.dev/globex', status)).toBe(true);
    expect(await canI(globex, 'patch', 'carts.switchyard.dev/globex-web', status)).toBe(true);
    expect(await canI(globex, 'patch', 'merchants.switchyard.dev/acme', status)).toBe(false);
    expect(await canI(globex, 'patch', 'carts.switchyard.dev/acme-web', status)).toBe(false);
  });

  it('is refused by the API server when its runner reports to another merchant', async () => {
    const { api } = await serviceAccountApi(listedShop.name, 'acme-runner');
    const error = await createKubernetesStatusReporter(api)
      .report(
        { kind: 'Cart', namespace: listedShop.name, name: 'globex-web' },
        {
          name: 'orderDownload',
          failedRecords: { count: 99, sample: [] },
          lastResult: { time: new Date().toISOString(), outcome: 'Failed', processed: 0, failed: 99 },
        },
      )
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(KubernetesApiError);
    expect(error).toMatchObject({ status: 403, reason: 'Forbidden' });
    const cart = await getOwner('Cart', listedShop.name, 'globex-web');
    expect(cart.status?.failedRecords ?? 0).toBe(0);
  });

  it('follows the Carts: a new Cart of the merchant is added, a deleted one removed', async () => {
    await applyYaml(listedShop.name, lateCart);
    await eventually(
      'acme-runner to gain Cart acme-app',
      async () => (await mayPatchStatus('carts', 'acme-app')) || undefined,
    );
    await kubectl(['delete', 'cart', 'acme-app', '-n', listedShop.name]);
    await eventually(
      'acme-runner to lose Cart acme-app',
      async () => !(await mayPatchStatus('carts', 'acme-app')) || undefined,
    );
    expect(await mayPatchStatus('carts', 'acme-web')).toBe(true);
  });

  it('may read nothing, write no spec, and reach no other namespace or any Secret', async () => {
    const own = { namespace: listedShop.name };
    const status = { ...own, subresource: 'status' };
    // The runner only PATCHes its owner's status (server-side apply): no get, not even of its own objects.
    expect(await canI(user(), 'get', 'carts.switchyard.dev/acme-web', own)).toBe(false);
    expect(await canI(user(), 'get', 'merchants.switchyard.dev/acme', status)).toBe(false);
    expect(await canI(user(), 'update', 'merchants.switchyard.dev/acme', status)).toBe(false);
    expect(await canI(user(), 'patch', 'merchants.switchyard.dev/acme', own)).toBe(false);
    expect(await canI(user(), 'list', 'carts.switchyard.dev', own)).toBe(false);
    expect(
      await canI(user(), 'patch', 'carts.switchyard.dev', { namespace: clusterWideShop.name, subresource: 'status' }),
    ).toBe(false);
    expect(await canI(user(), 'get', 'secrets', own)).toBe(false);
    expect(await secretReadStatus(listedShop.name, 'acme-runner', listedShop.name)).toBe(403);
  });
});
