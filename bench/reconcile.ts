// npm run bench:reconcile: how fast and how frugally the operator brings 200 Merchants and 2,000 Carts to Ready,
// against a baseline that server-side-applies the identical children directly with the same client and concurrency
// (each Merchant's one watcher Deployment, serving its Carts too, the CronJobs, the runners' identities) and creates
// the namespace's migrate Job, as the operator does.
// Each phase gets a fresh throwaway kwok cluster, so neither inherits the other's objects.
//
// BENCH_MERCHANTS and BENCH_CARTS_PER_MERCHANT shrink it for a quick look (defaults 200 and 10).
import * as k8s from '@kubernetes/client-node';
import { pino } from 'pino';
import { apiVersion, type Cart, type Merchant, type Owner } from '../operator/api/v1alpha1/types.ts';
import {
  buildChildren,
  buildMigrateJob,
  servedPlans,
  type Child,
  type WatchSource,
} from '../operator/reconcile/desired.ts';
import { planServices } from '../operator/reconcile/plan.ts';
import { createClusterWriter } from '../operator/runtime/cluster-writer.ts';
import { createMetrics } from '../operator/runtime/metrics.ts';
import { ensureBinaries, stopLocalCluster, type Binaries } from '../test/cluster/local-cluster.ts';
import { runnerSettingsFixture } from '../test/support/fixtures.ts';
import {
  chartMemoryLimitMiB,
  cpuSeconds,
  eachLimited,
  peakRssMiB,
  prepareCluster as prepareNamedCluster,
  readCounter,
  readyCount,
  startOperator,
  waitUntil,
} from './support.ts';

const merchants = Number(process.env.BENCH_MERCHANTS ?? 200);
const cartsPerMerchant = Number(process.env.BENCH_CARTS_PER_MERCHANT ?? 10);
const concurrency = 16;
const namespace = 'bench';
const steadyStateSeconds = Number(process.env.BENCH_STEADY_SECONDS ?? 60);

function ownerManifests(): (Merchant | Cart)[] {
  const owners: (Merchant | Cart)[] = [];
  for (let m = 0; m < merchants; m += 1) {
    const merchantName = `merchant-${m}`;
    owners.push({
      apiVersion,
      kind: 'Merchant',
      metadata: { name: merchantName, namespace, uid: '' },
      spec: { warehouse: { url: 'https://wms.example.com/api' } } as Merchant['spec'],
    });
    for (let c = 0; c < cartsPerMerchant; c += 1) {
      owners.push({
        apiVersion,
        kind: 'Cart',
        metadata: { name: `${merchantName}-cart-${c}`, namespace, uid: '' },
        spec: {
          merchantRef: { name: merchantName },
          platform: { url: 'https://cart.example.com/api' },
        } as Cart['spec'],
      });
    }
  }
  return owners;
}

async function createOwners(kc: k8s.KubeConfig, owners: Owner[]): Promise<Owner[]> {
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  const created: Owner[] = [];
  await eachLimited(owners, concurrency, async (owner) => {
    const { uid: _uid, ...metadata } = owner.metadata;
    created.push(
      (await custom.createNamespacedCustomObject({
        group: 'switchyard.dev',
        version: 'v1alpha1',
        namespace,
        plural: owner.kind === 'Merchant' ? 'merchants' : 'carts',
        body: { ...owner, metadata },
      })) as Owner,
    );
  });
  return created;
}

async function allDeploymentsAvailable(kc: k8s.KubeConfig, expected: number): Promise<boolean> {
  // resourceVersion 0: served from the API server's cache, so polling does not weigh on the measurement.
  const deployments = await kc
    .makeApiClient(k8s.AppsV1Api)
    .listNamespacedDeployment({ namespace, resourceVersion: '0' });
  const available = deployments.items.filter((deployment) =>
    deployment.status?.conditions?.some((condition) => condition.type === 'Available' && condition.status === 'True'),
  );
  return available.length >= expected;
}

/**
 * The children the operator makes for these objects, as it makes them: a Merchant's watcher serves the Automatic
 * services of the Merchant and of its Carts (by name, as the reconcile's cartSources orders them), a Cart has only its
 * CronJobs; and one migrate Job for the namespace, which the operator creates (a `create` write) with its first Merchant.
 */
function childrenOf(owners: Owner[]): { applied: Child[]; migrateJob: ReturnType<typeof buildMigrateJob> } {
  const now = new Date();
  const plansOf = (owner: Owner) => {
    const planned = planServices(owner, 'UTC', now, runnerSettingsFixture.databaseSecret.name);
    if (!planned.ok) throw new Error(planned.message);
    return planned.plans;
  };
  const cartsOf = new Map<string, Cart[]>();
  for (const owner of owners) {
    if (owner.kind !== 'Cart') continue;
    cartsOf.set(owner.spec.merchantRef.name, [...(cartsOf.get(owner.spec.merchantRef.name) ?? []), owner]);
  }
  const applied = owners.flatMap((owner) => {
    const plans = plansOf(owner);
    if (owner.kind === 'Cart') {
      return buildChildren(
        { owner, merchantName: owner.spec.merchantRef.name, settings: runnerSettingsFixture },
        plans,
      );
    }
    const sources: WatchSource[] = [
      { owner, plans: servedPlans(plans) },
      ...(cartsOf.get(owner.metadata.name) ?? [])
        .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))
        .map((cart) => ({ owner: cart, plans: servedPlans(plansOf(cart)) })),
    ];
    return buildChildren({ owner, merchantName: owner.metadata.name, settings: runnerSettingsFixture }, plans, sources);
  });
  return { applied, migrateJob: buildMigrateJob(namespace, runnerSettingsFixture) };
}

/** Children in all: the applied ones and the migrate Job. */
const childCount = (children: ReturnType<typeof childrenOf>) => children.applied.length + 1;

/** Watcher ReplicaSets per watcher Deployment: 1 when each watcher rolled out once, more when its template changed. */
async function watcherRevisions(kc: k8s.KubeConfig): Promise<number> {
  const apps = kc.makeApiClient(k8s.AppsV1Api);
  const labelSelector = 'app.kubernetes.io/component=watcher';
  const [replicaSets, deployments] = await Promise.all([
    apps.listNamespacedReplicaSet({ namespace, labelSelector, resourceVersion: '0' }),
    apps.listNamespacedDeployment({ namespace, labelSelector, resourceVersion: '0' }),
  ]);
  return replicaSets.items.length / Math.max(1, deployments.items.length);
}

async function measureBaseline(binaries: Binaries) {
  const { cluster, kc } = await prepareNamedCluster(binaries, 'switchyard-bench-baseline', namespace);
  try {
    const started = performance.now();
    const owners = await createOwners(kc, ownerManifests());
    const children = childrenOf(owners);
    const writer = createClusterWriter(kc, createMetrics());
    await Promise.all([
      writer.createJob(children.migrateJob),
      eachLimited(children.applied, concurrency, (child) => writer.applyChild(child)),
    ]);
    const deployments = children.applied.filter((child) => child.kind === 'Deployment').length;
    await waitUntil('the baseline Deployments', () => allDeploymentsAvailable(kc, deployments));
    return {
      seconds: (performance.now() - started) / 1000,
      children: childCount(children),
      watcherRevisions: await watcherRevisions(kc),
    };
  } finally {
    await stopLocalCluster(binaries, cluster);
  }
}

async function measureOperator(binaries: Binaries) {
  const { cluster, kc } = await prepareNamedCluster(binaries, 'switchyard-bench-operator', namespace);
  const operator = startOperator(cluster, 18_900, concurrency);
  const { metrics } = operator;
  try {
    await operator.ready();
    const started = performance.now();
    const owners = await createOwners(kc, ownerManifests());
    await waitUntil(
      'every Merchant and Cart to be Ready',
      async () =>
        (await readyCount(kc, namespace, 'merchants')) + (await readyCount(kc, namespace, 'carts')) === owners.length,
    );
    const seconds = (performance.now() - started) / 1000;
    const cpuUntilReady = cpuSeconds(operator.process.pid!);
    const children = childCount(childrenOf(owners));
    const revisions = await watcherRevisions(kc);
    const atReady = await metrics();
    const writes = (text: string) =>
      ['apply', 'create', 'delete', 'status'].reduce(
        (total, verb) => total + readCounter(text, 'switchyard_api_writes_total', `{verb="${verb}"}`),
        0,
      );
    const childWrites = ['apply', 'create', 'delete'].reduce(
      (total, verb) => total + readCounter(atReady, 'switchyard_api_writes_total', `{verb="${verb}"}`),
      0,
    );
    const statusWrites = readCounter(atReady, 'switchyard_api_writes_total', '{verb="status"}');
    const windowStart = new Date();
    await new Promise((resolve) => setTimeout(resolve, steadyStateSeconds * 1000));
    const afterWindow = await metrics();
    const steadyWrites = writes(afterWindow) - writes(atReady);
    const inWindow = (name: string, labels: string) =>
      readCounter(afterWindow, name, labels) - readCounter(atReady, name, labels);
    const steadyByVerb = ['apply', 'create', 'delete', 'status']
      .map((verb) => `${verb} ${inWindow('switchyard_api_writes_total', `{verb="${verb}"}`)}`)
      .join(', ');
    const statusByCause = (['schedule', 'change'] as const).map((cause) =>
      inWindow('switchyard_status_writes_total', `{cause="${cause}"}`),
    );
    // In steady state the only changes are the CronJobs' runs, each reported once when it ends, and cleanup runs.
    const cronJobs = await kc.makeApiClient(k8s.BatchV1Api).listNamespacedCronJob({ namespace, resourceVersion: '0' });
    const runsEnded = cronJobs.items.filter((cronJob) => {
      const ended = cronJob.status?.lastSuccessfulTime;
      return ended !== undefined && new Date(ended) >= windowStart;
    }).length;
    const heapMiB = readCounter(afterWindow, 'nodejs_heap_size_used_bytes') / 2 ** 20;
    return {
      seconds,
      children,
      owners: owners.length,
      childWrites,
      statusWrites,
      steadyWrites,
      steadyByVerb,
      statusByCause,
      runsEnded,
      cpuUntilReady,
      heapMiB,
      peakRss: peakRssMiB(operator.process.pid!),
      watcherRevisions: revisions,
    };
  } finally {
    await operator.stop();
    await stopLocalCluster(binaries, cluster);
  }
}

const log = pino({ level: 'info' });
const binaries = await ensureBinaries();
log.info({ merchants, carts: merchants * cartsPerMerchant, concurrency }, 'baseline: applying the children directly');
const baseline = await measureBaseline(binaries);
log.info('operator: reconciling the same objects');
const operator = await measureOperator(binaries);

const f = (value: number, digits = 1) => value.toFixed(digits);
console.log(`
Switchyard reconcile benchmark: ${merchants} Merchants, ${merchants * cartsPerMerchant} Carts, ${operator.children} children (a watcher per Merchant, the migrate Job), concurrency ${concurrency}
  baseline (direct apply, migrate Job created) until all applied and watchers available: ${f(baseline.seconds)} s
  operator until every Merchant and Cart is Ready:                                       ${f(operator.seconds)} s
  ratio operator / baseline:                                                             ${f(operator.seconds / baseline.seconds, 2)}  (aim ≤ 1.25)
  API writes per child (apply, create, delete):                                          ${f(operator.childWrites / operator.children, 2)}
  watcher ReplicaSets per watcher (template revisions): operator ${f(operator.watcherRevisions, 2)}, baseline ${f(baseline.watcherRevisions, 2)}
  status writes per object:                                                              ${f(operator.statusWrites / operator.owners, 2)}
  writes during ${steadyStateSeconds} s of steady state:                                                ${operator.steadyWrites}  (aim 0): ${operator.steadyByVerb}, while ${operator.runsEnded} CronJob runs ended
    of the status writes, run and cleanup times only: ${operator.statusByCause[0]}; anything else: ${operator.statusByCause[1]}  (aim 0)
  operator CPU until Ready:                                                              ${f(operator.cpuUntilReady)} s
  operator peak RSS:                                                                     ${f(operator.peakRss, 0)} MiB  (aim ≤ 256) with a ${chartMemoryLimitMiB()} MiB limit; heap in use at the end ${f(operator.heapMiB, 0)} MiB
`);
