// npm run bench:reconcile: how fast and how frugally the operator brings 200 Merchants and 2,000 Carts to Ready,
// against a baseline that server-side-applies the identical children directly with the same client and concurrency.
// Each phase gets a fresh throwaway kwok cluster, so neither inherits the other's objects.
//
// BENCH_MERCHANTS and BENCH_CARTS_PER_MERCHANT shrink it for a quick look (defaults 200 and 10).
import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { pino } from 'pino';
import { parse } from 'yaml';
import { apiVersion, type Cart, type Merchant, type Owner } from '../operator/api/v1alpha1/types.ts';
import { buildChildren, type Child } from '../operator/reconcile/desired.ts';
import { planServices } from '../operator/reconcile/plan.ts';
import { createClusterWriter } from '../operator/runtime/cluster-writer.ts';
import { shareConnections } from '../operator/runtime/kube-config.ts';
import { createMetrics } from '../operator/runtime/metrics.ts';
import {
  ensureBinaries,
  installCrds,
  namedCluster,
  repoRoot,
  startLocalCluster,
  stopLocalCluster,
  type Binaries,
} from '../test/cluster/local-cluster.ts';
import { runnerSettingsFixture } from '../test/support/fixtures.ts';

const run = promisify(execFile);
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

/** Runs `task` over `items`, `limit` at a time. */
async function eachLimited<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) await task(items[next++]!);
    }),
  );
}

async function prepareCluster(binaries: Binaries, name: string) {
  const cluster = namedCluster(name);
  await stopLocalCluster(binaries, cluster);
  await startLocalCluster(binaries, cluster);
  await installCrds(binaries, cluster.kubeconfig);
  await run(binaries.kubectl, ['--kubeconfig', cluster.kubeconfig, 'create', 'namespace', namespace]);
  // The operator's own client setup, so that the baseline and the operator talk to the API server alike.
  const kc = shareConnections(new k8s.KubeConfig());
  kc.loadFromFile(cluster.kubeconfig);
  return { cluster, kc };
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

async function waitUntil(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 30 * 60_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5_000));
  }
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

function childrenOf(owners: Owner[]): Child[] {
  const now = new Date();
  return owners.flatMap((owner) => {
    const merchantName = owner.kind === 'Merchant' ? owner.metadata.name : owner.spec.merchantRef.name;
    const planned = planServices(owner, 'UTC', now);
    if (!planned.ok) throw new Error(planned.message);
    return buildChildren({ owner, merchantName, settings: runnerSettingsFixture }, planned.plans);
  });
}

async function measureBaseline(binaries: Binaries) {
  const { cluster, kc } = await prepareCluster(binaries, 'switchyard-bench-baseline');
  try {
    const started = performance.now();
    const owners = await createOwners(kc, ownerManifests());
    const children = childrenOf(owners);
    const writer = createClusterWriter(kc, createMetrics());
    await eachLimited(children, concurrency, (child) => writer.applyChild(child));
    const deployments = children.filter((child) => child.kind === 'Deployment').length;
    await waitUntil('the baseline Deployments', () => allDeploymentsAvailable(kc, deployments));
    return { seconds: (performance.now() - started) / 1000, children: children.length };
  } finally {
    await stopLocalCluster(binaries, cluster);
  }
}

function readCounter(metrics: string, name: string, labels = ''): number {
  const line = metrics.split('\n').find((entry) => entry.startsWith(`${name}${labels} `));
  return line ? Number(line.split(' ')[1]) : 0;
}

/** The operator container's memory limit in the chart's default values, in MiB. */
function chartMemoryLimitMiB(): number {
  const values = parse(readFileSync(join(repoRoot, 'charts/switchyard/values.yaml'), 'utf8')) as {
    resources: { limits: { memory: string } };
  };
  const limit = /^(\d+)Mi$/.exec(values.resources.limits.memory);
  if (!limit) throw new Error(`the chart's resources.limits.memory is not in Mi: ${values.resources.limits.memory}`);
  return Number(limit[1]);
}

/** CPU seconds (user and system) the process has used so far. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  // utime and stime are fields 14 and 15 of /proc/<pid>/stat, in clock ticks (100 a second on Linux).
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** The kernel's high-water mark of the process's resident memory. */
function peakRssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
  return kib / 1024;
}

async function measureOperator(binaries: Binaries) {
  const { cluster, kc } = await prepareCluster(binaries, 'switchyard-bench-operator');
  const port = 18_900;
  // The compiled operator started by the image's entry point (npm run bench:reconcile builds it first), with the
  // Node.js running this script and the memory limit the chart gives the operator by default.
  const operator = spawn(join(repoRoot, 'bin/switchyard-operator'), [], {
    env: {
      ...process.env,
      PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}`,
      CONTAINER_MEMORY_LIMIT_MIB: String(chartMemoryLimitMiB()),
      KUBECONFIG: cluster.kubeconfig,
      SWITCHYARD_CONCURRENCY: String(concurrency),
      SWITCHYARD_HTTP_PORT: String(port),
      SWITCHYARD_LEADER_ELECTION: 'false',
      SWITCHYARD_LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const metrics = () => fetch(`http://127.0.0.1:${port}/metrics`).then((response) => response.text());
  try {
    await waitUntil('the operator', async () => /^switchyard_leader 1$/m.test(await metrics().catch(() => '')));
    const custom = kc.makeApiClient(k8s.CustomObjectsApi);
    const started = performance.now();
    const owners = await createOwners(kc, ownerManifests());
    const ready = async (plural: string) => {
      const list = (await custom.listNamespacedCustomObject({
        group: 'switchyard.dev',
        version: 'v1alpha1',
        namespace,
        plural,
        resourceVersion: '0',
      })) as {
        items: Owner[];
      };
      return list.items.filter(
        (owner) =>
          owner.status?.observedGeneration === owner.metadata.generation &&
          owner.status?.conditions?.some((condition) => condition.type === 'Ready' && condition.status === 'True'),
      ).length;
    };
    await waitUntil(
      'every Merchant and Cart to be Ready',
      async () => (await ready('merchants')) + (await ready('carts')) === owners.length,
    );
    const seconds = (performance.now() - started) / 1000;
    const cpuUntilReady = cpuSeconds(operator.pid!);
    const children = childrenOf(owners).length;
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
    const heapMiB = readCounter(afterWindow, 'switchyard_operator_nodejs_heap_size_used_bytes') / 2 ** 20;
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
      peakRss: peakRssMiB(operator.pid!),
    };
  } finally {
    operator.kill('SIGTERM');
    await new Promise((resolve) => operator.once('exit', resolve));
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
Switchyard reconcile benchmark: ${merchants} Merchants, ${merchants * cartsPerMerchant} Carts, ${operator.children} children, concurrency ${concurrency}
  baseline (direct server-side apply) until all applied and watchers available: ${f(baseline.seconds)} s
  operator until every Merchant and Cart is Ready:                               ${f(operator.seconds)} s
  ratio operator / baseline:                                                     ${f(operator.seconds / baseline.seconds, 2)}  (aim ≤ 1.25)
  API writes per child (apply, create, delete):                                  ${f(operator.childWrites / operator.children, 2)}
  status writes per object:                                                      ${f(operator.statusWrites / operator.owners, 2)}
  writes during ${steadyStateSeconds} s of steady state:                                        ${operator.steadyWrites}  (aim 0): ${operator.steadyByVerb}, while ${operator.runsEnded} CronJob runs ended
    of the status writes, run and cleanup times only: ${operator.statusByCause[0]}; anything else: ${operator.statusByCause[1]}  (aim 0)
  operator CPU until Ready:                                                      ${f(operator.cpuUntilReady)} s
  operator peak RSS:                                                             ${f(operator.peakRss, 0)} MiB  (aim ≤ 256) with a ${chartMemoryLimitMiB()} MiB limit; heap in use at the end ${f(operator.heapMiB, 0)} MiB
`);
