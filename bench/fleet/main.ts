// npm run bench:fleet — the fleet in the one-watcher-per-Merchant shape, on this machine, loopback only:
//   1. a fresh kwok cluster, a real PostgreSQL (max_connections 100) and the compiled operator; 200 Merchants × 10
//      Carts with every Automatic service on, pointed at a loopback warehouse and cart platform;
//   2. until every Merchant and Cart is Ready: the watcher Deployments made and the memory they request, against what
//      the previous shape (a Deployment per Automatic service) would have made;
//   3. the migrate Job's command once, then the watcher pods of 20 merchants run for real as local processes (their
//      pod templates read from the API, the environment resolved as the kubelet would, the image's entry point);
//   4. hub-store sessions sampled every 200 ms; 5. the watchers' memory at rest and under load;
//   6. Automatic latency, hub commit → warehouse, at 200 orders/s over those merchants' 200 carts, with lost and
//      duplicated orders; 7. interval run start-up: spawn → the warehouse receiving the first record, over 50 runs.
// BENCH_MERCHANTS, BENCH_CARTS_PER_MERCHANT, BENCH_WATCHERS, BENCH_LOAD_SECONDS, BENCH_RATE and BENCH_INTERVAL_RUNS
// shrink it; BENCH_WATCHER_CREDENTIALS=0 runs the watchers without a ServiceAccount token (status goes to their log).
// Everything it starts (processes, the cluster, PostgreSQL, the fake servers) is stopped on the way out, and the whole
// run is bounded by BENCH_TIMEOUT_MINUTES (default 60).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { hubSchemaVersion, runnerEnv } from '../../operator/api/runner-contract.ts';
import { apiVersion, type Cart, type Merchant, type Owner } from '../../operator/api/v1alpha1/types.ts';
import { migrateJobName, watcherName } from '../../operator/reconcile/names.ts';
import { createLogger } from '../../operator/runner/log.ts';
import { createPool, type Pool } from '../../operator/runner/store/database.ts';
import { registerCart } from '../../operator/runner/store/carts.ts';
import { takeOrders, type CartScope } from '../../operator/runner/store/intake.ts';
import { ensureBinaries, repoRoot, stopLocalCluster } from '../../test/cluster/local-cluster.ts';
import {
  clusterCa,
  removeServiceAccountDir,
  requestServiceAccountToken,
  serviceAccountDirVariable,
  serviceHostEnvironment,
  writeServiceAccountDir,
} from '../../test/cluster/service-account-token.ts';
import { startFakeCart, startFakeWarehouse, type ReceivedWrite } from '../../test/support/contract-servers.ts';
import { startPostgres } from '../../test/support/postgres.ts';
import { runnerEnvironment } from '../../test/support/runner-environment.ts';
import {
  readCounter,
  eachLimited,
  prepareCluster,
  privateMiB,
  quantityBytes,
  readyCount,
  cpuSeconds,
  sleep,
  startOperator,
  statusMiB,
  waitUntil,
  type RunningOperator,
} from '../support.ts';

const merchants = Number(process.env.BENCH_MERCHANTS ?? 200);
const cartsPerMerchant = Number(process.env.BENCH_CARTS_PER_MERCHANT ?? 10);
const watcherCount = Math.min(merchants, Number(process.env.BENCH_WATCHERS ?? 20));
const loadSeconds = Number(process.env.BENCH_LOAD_SECONDS ?? 30);
const ordersPerSecond = Number(process.env.BENCH_RATE ?? 200);
const intervalRuns = Number(process.env.BENCH_INTERVAL_RUNS ?? 50);
const restSeconds = Number(process.env.BENCH_REST_SECONDS ?? 10);
/** Past the watchers' 30 s sweep, so that an order whose notification was missed still arrives (late) rather than lost. */
const graceSeconds = Number(process.env.BENCH_GRACE_SECONDS ?? 40);
const withCredentials = process.env.BENCH_WATCHER_CREDENTIALS !== '0';
/** BENCH_WATCHER_LITE=0: the watchers run with the entry point's flags except --lite-mode (V8's optimizing tiers on). */
const liteMode = process.env.BENCH_WATCHER_LITE !== '0';
const timeoutMinutes = Number(process.env.BENCH_TIMEOUT_MINUTES ?? 60);
const namespace = 'bench';
const concurrency = 16;
const operatorPort = 18_901;
const hubStoreSecret = { name: 'switchyard-hub-store', key: 'url' };
const runnerEntryPoint = join(repoRoot, 'bin/switchyard-runner');
/** The Node.js running this script first on PATH, as for the operator: the image's entry points run `node`. */
const childPath = `${dirname(process.execPath)}:${process.env.PATH ?? ''}`;

const merchantName = (m: number) => `merchant-${m}`;
const cartName = (m: number, c: number) => `${merchantName(m)}-cart-${c}`;

const percentile = (sorted: readonly number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;
const median = (values: readonly number[]) =>
  percentile(
    [...values].sort((a, b) => a - b),
    50,
  );
const f = (value: number, digits = 1) => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');
const mib = (bytes: number) => bytes / 2 ** 20;
const elapsedSince = (start: number) => (performance.now() - start) / 1000;
const log = (line: string) => console.log(line);
const progress = (line: string) => console.error(`[bench:fleet ${new Date().toISOString().slice(11, 19)}] ${line}`);

// ----------------------------------------------------------------------------------------------------------------
// What was started, so that it can be stopped whatever happens.

const processes = new Set<ChildProcess>();
const cleanups: (() => Promise<void> | void)[] = [];
let cleaningUp: Promise<void> | undefined;

function cleanUp(): Promise<void> {
  cleaningUp ??= (async () => {
    for (const child of processes) child.kill('SIGTERM');
    const stragglers = setTimeout(() => processes.forEach((child) => child.kill('SIGKILL')), 5_000);
    await Promise.all(
      [...processes].map((child) => new Promise<void>((resolve) => child.once('exit', () => resolve()))),
    );
    clearTimeout(stragglers);
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch (error) {
        progress(`clean-up step failed: ${String(error)}`);
      }
    }
  })();
  return cleaningUp;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    progress(`${signal}: stopping everything`);
    void cleanUp().finally(() => process.exit(130));
  });
}
const overall = setTimeout(() => {
  progress(`took longer than BENCH_TIMEOUT_MINUTES=${timeoutMinutes}: stopping everything`);
  void cleanUp().finally(() => process.exit(1));
}, timeoutMinutes * 60_000);
overall.unref();

interface Spawned {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly exited: Promise<number | null>;
  readonly logFile: string;
}

/** Starts a process with its output in a file (no pipe through this process, which is busy measuring). */
function spawnLogged(command: string, args: string[], env: Record<string, string>, logFile: string): Spawned {
  const fd = openSync(logFile, 'a');
  const child = spawn(command, args, { env: { PATH: childPath, ...env }, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  processes.add(child);
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      processes.delete(child);
      resolve(code);
    });
    child.once('error', () => {
      processes.delete(child);
      resolve(-1);
    });
  });
  return { child, pid: child.pid ?? -1, exited, logFile };
}

const tail = (file: string, lines = 15) => {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no output)';
  }
};

// ----------------------------------------------------------------------------------------------------------------
// Pods' environments, as the kubelet builds them.

/**
 * The container's environment: values, the downward API (metadata.namespace; limits.memory by its divisor, rounded
 * up as the kubelet does) and Secret keys. Anything else is refused rather than guessed.
 */
async function containerEnvironment(
  core: k8s.CoreV1Api,
  container: k8s.V1Container,
  podNamespace: string,
): Promise<Record<string, string>> {
  const env: Record<string, string> = {};
  for (const variable of container.env ?? []) {
    const from = variable.valueFrom;
    if (variable.value !== undefined) env[variable.name] = variable.value;
    else if (from?.fieldRef?.fieldPath === 'metadata.namespace') env[variable.name] = podNamespace;
    else if (from?.resourceFieldRef?.resource === 'limits.memory') {
      const limit = container.resources?.limits?.memory;
      if (limit === undefined) throw new Error(`${variable.name}: the container has no memory limit`);
      const divisor = quantityBytes(from.resourceFieldRef.divisor ?? '1');
      env[variable.name] = String(Math.ceil(quantityBytes(limit) / divisor));
    } else if (from?.secretKeyRef) {
      const { name = '', key, optional } = from.secretKeyRef;
      const secret = await core.readNamespacedSecret({ name, namespace: podNamespace }).catch(() => undefined);
      const value = secret?.data?.[key];
      if (value !== undefined) env[variable.name] = Buffer.from(value, 'base64').toString('utf8');
      else if (!optional) throw new Error(`${variable.name}: Secret ${name} has no key ${key}`);
    } else {
      throw new Error(`${variable.name}: this benchmark does not resolve ${JSON.stringify(variable.valueFrom)}`);
    }
  }
  return env;
}

/** The command of the runner container, as the image resolves it: bin/switchyard-runner of this checkout. */
function runnerCommandOf(container: k8s.V1Container): string[] {
  if (container.command?.[0] !== 'switchyard-runner') {
    throw new Error(`unexpected runner command ${JSON.stringify(container.command)}`);
  }
  return [...container.command.slice(1), ...(container.args ?? [])];
}

// ----------------------------------------------------------------------------------------------------------------
// Hub-store sessions, sampled.

interface SessionPeaks {
  samples: number;
  runners: number;
  watchers: number;
  /** The most sessions one merchant's watcher held at once, and whose. */
  perMerchant: number;
  perMerchantWho: string;
  /** Sessions of runners other than watchers (interval runs, migrate). */
  others: number;
}

function startSessionSampler(pool: Pool, everyMs: number) {
  const peaks: SessionPeaks = { samples: 0, runners: 0, watchers: 0, perMerchant: 0, perMerchantWho: '', others: 0 };
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const started = performance.now();
      try {
        const { rows } = await pool.query<{ name: string; sessions: number }>(
          `SELECT application_name AS name, count(*)::int AS sessions FROM pg_stat_activity
           WHERE application_name LIKE 'switchyard-runner%' GROUP BY application_name`,
        );
        const byMerchant = new Map<string, number>();
        let runners = 0;
        let watchers = 0;
        for (const { name, sessions } of rows) {
          runners += sessions;
          const watcher = /^switchyard-runner watcher (\S+)( listener)?$/.exec(name);
          if (!watcher) continue;
          watchers += sessions;
          byMerchant.set(watcher[1]!, (byMerchant.get(watcher[1]!) ?? 0) + sessions);
        }
        peaks.samples++;
        peaks.runners = Math.max(peaks.runners, runners);
        peaks.watchers = Math.max(peaks.watchers, watchers);
        peaks.others = Math.max(peaks.others, runners - watchers);
        for (const [merchant, sessions] of byMerchant) {
          if (sessions > peaks.perMerchant) {
            peaks.perMerchant = sessions;
            peaks.perMerchantWho = merchant;
          }
        }
      } catch (error) {
        progress(`session sample failed: ${String(error)}`);
      }
      await sleep(Math.max(0, everyMs - (performance.now() - started)));
    }
  })();
  return {
    peaks,
    async stop() {
      stopped = true;
      await loop;
    },
  };
}

// ----------------------------------------------------------------------------------------------------------------

function ownerManifests(warehouseUrl: string, cartUrl: string): (Merchant | Cart)[] {
  const owners: (Merchant | Cart)[] = [];
  for (let m = 0; m < merchants; m += 1) {
    owners.push({
      apiVersion,
      kind: 'Merchant',
      metadata: { name: merchantName(m), namespace, uid: '' },
      // Every service at its default: Order Delivery Automatic; the Carts' Shipment and Inventory Upload Automatic.
      spec: { warehouse: { url: warehouseUrl } } as Merchant['spec'],
    });
    for (let c = 0; c < cartsPerMerchant; c += 1) {
      owners.push({
        apiVersion,
        kind: 'Cart',
        metadata: { name: cartName(m, c), namespace, uid: '' },
        spec: { merchantRef: { name: merchantName(m) }, platform: { url: cartUrl } } as Cart['spec'],
      });
    }
  }
  return owners;
}

async function createOwners(kc: k8s.KubeConfig, owners: Owner[]): Promise<void> {
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  await eachLimited(owners, concurrency, async (owner) => {
    const { uid: _uid, ...metadata } = owner.metadata;
    await custom.createNamespacedCustomObject({
      group: 'switchyard.dev',
      version: 'v1alpha1',
      namespace,
      plural: owner.kind === 'Merchant' ? 'merchants' : 'carts',
      body: { ...owner, metadata },
    });
  });
}

/** One order as Order Download lands it: its own transaction, the page's cursor left as it is. */
function landOrder(pool: Pool, cart: CartScope, id: string): Promise<void> {
  return takeOrders(pool, cart, {
    accepted: [{ id, lines: [{ sku: `SKU-${id.length % 7}`, quantity: 1 }] }],
    rejected: [],
    readFrom: undefined,
    advanceTo: undefined,
    passId: randomUUID(),
  });
}

/** CPU seconds used during the load phase, and the wall-clock seconds it took. */
interface CpuBudget {
  watchers: number;
  postgres: number;
  bench: number;
  operator: number;
  machine: number;
  wall: number;
}

/** CPU seconds of a process, or undefined once it is gone. */
function safeCpuSeconds(pid: number): number | undefined {
  try {
    return cpuSeconds(pid);
  } catch {
    return undefined;
  }
}

/** CPU seconds the whole machine has been busy (all cores; /proc/stat, less idle and iowait). */
function machineBusySeconds(): number {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = fields.reduce((sum, value) => sum + value, 0);
  return (total - fields[3]! - fields[4]!) / 100;
}

interface Milestones {
  createdSeconds: number;
  firstWatcherAvailable?: number;
  watchersAvailable?: number;
  merchantsReady?: number;
  halfCartsReady?: number;
  queuePeak: number;
}

interface Figures {
  milestones: Milestones;
  operatorCpuSeconds: number;
  reconciles: { count: number; seconds: number; errors: number; statusWrites: number; childWrites: number };
  readyCount: number;
  readySeconds: number;
  watcherDeployments: number;
  watcherMemoryRequestMiB: number;
  podMemoryRequestMiB: number;
  watcherRevisions: number;
  oldShapeDeployments: number;
  migrateSeconds: number;
  watchersStartSeconds: number;
  restRss: number[];
  restPrivate: number[];
  loadRss: number[];
  loadHwm: number[];
  loadPrivate: number[];
  sessions: SessionPeaks;
  intervalSessionPeak: number;
  inserted: number;
  insertErrors: number;
  insertSeconds: number;
  maxInsertLagMs: number;
  latencies: number[];
  lost: number;
  appliedTwice: number;
  repeatedRequests: number;
  watcherCpuSeconds: number;
  cpu: CpuBudget;
  loadAverage: number[];
  startupMs: number[];
  runMs: number[];
  intervalMerchant: string;
  watcherWarnings: number;
  firstWarning: string;
}

async function main(): Promise<Figures> {
  const began = performance.now();
  const workDir = mkdtempSync(join(tmpdir(), 'switchyard-bench-fleet-'));
  cleanups.push(() => rmSync(workDir, { recursive: true, force: true }));
  const binaries = await ensureBinaries();

  progress('starting PostgreSQL (max_connections 100), the fake warehouse and cart platform');
  const postgres = await startPostgres({ maxConnections: 100 });
  cleanups.push(() => postgres.stop());
  const [warehouse, cart] = await Promise.all([startFakeWarehouse(), startFakeCart()]);
  cleanups.push(() => Promise.all([warehouse.close(), cart.close()]).then(() => undefined));
  const quiet = createLogger('warn');
  const samplerPool = createPool(postgres.url, 'bench sampler', quiet, 1);
  // Orders land concurrently, as from several Order Download runs; not counted as runner sessions.
  const intakePool = createPool(postgres.url, 'bench intake', quiet, 8);
  cleanups.push(() => Promise.all([samplerPool.end(), intakePool.end()]).then(() => undefined));

  // Arrivals at the warehouse, by hub order id (the first applied write of each).
  const arrivedAt = new Map<string, number>();
  const arrivalWaiters = new Map<string, () => void>();
  warehouse.orders.onApplied((write: ReceivedWrite) => {
    const id = warehouse.orders.idOf(write.body);
    if (!arrivedAt.has(id)) arrivedAt.set(id, write.at);
    arrivalWaiters.get(id)?.();
  });
  const arrival = (id: string) =>
    arrivedAt.has(id)
      ? Promise.resolve()
      : new Promise<void>((resolve) => arrivalWaiters.set(id, () => (arrivalWaiters.delete(id), resolve())));

  progress('starting a fresh kwok cluster');
  const { cluster, kc } = await prepareCluster(binaries, 'switchyard-bench-fleet', namespace);
  cleanups.push(() => stopLocalCluster(binaries, cluster));
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const apps = kc.makeApiClient(k8s.AppsV1Api);
  const batch = kc.makeApiClient(k8s.BatchV1Api);

  const operator: RunningOperator = startOperator(cluster, operatorPort, concurrency);
  cleanups.push(() => operator.stop());
  await operator.ready();
  await core.createNamespacedSecret({
    namespace,
    body: { metadata: { name: hubStoreSecret.name }, stringData: { [hubStoreSecret.key]: postgres.url } },
  });

  // 1–2. The fleet, until Ready.
  progress(`creating ${merchants} Merchants and ${merchants * cartsPerMerchant} Carts`);
  const owners = ownerManifests(warehouse.url, cart.url);
  const createdAt = performance.now();
  await createOwners(kc, owners);
  const createdSeconds = elapsedSince(createdAt);
  // Where the time goes: when the watchers became available, and the Merchants and Carts Ready; the work queue.
  const milestones: Milestones = { createdSeconds, queuePeak: 0 };
  const mark = (key: Exclude<keyof Milestones, 'queuePeak'>, reached: boolean) => {
    if (reached) milestones[key] ??= elapsedSince(createdAt);
  };
  const cartTotal = merchants * cartsPerMerchant;
  await waitUntil(
    'every Merchant and Cart to be Ready',
    async () => {
      const [merchantsReady, cartsReady, watchersAvailable, metrics] = await Promise.all([
        readyCount(kc, namespace, 'merchants'),
        readyCount(kc, namespace, 'carts'),
        apps
          .listNamespacedDeployment({
            namespace,
            labelSelector: 'app.kubernetes.io/component=watcher',
            resourceVersion: '0',
          })
          .then(
            (list) =>
              list.items.filter((deployment) =>
                deployment.status?.conditions?.some((c) => c.type === 'Available' && c.status === 'True'),
              ).length,
          ),
        operator.metrics().catch(() => ''),
      ]);
      milestones.queuePeak = Math.max(milestones.queuePeak, readCounter(metrics, 'switchyard_workqueue_depth'));
      mark('firstWatcherAvailable', watchersAvailable > 0);
      mark('watchersAvailable', watchersAvailable >= merchants);
      mark('merchantsReady', merchantsReady >= merchants);
      mark('halfCartsReady', cartsReady >= cartTotal / 2);
      return merchantsReady + cartsReady === owners.length;
    },
    { timeoutMs: 30 * 60_000, intervalMs: 2_000 },
  );
  const readySeconds = elapsedSince(createdAt);
  const operatorCpuSeconds = cpuSeconds(operator.process.pid!);
  const metricsAtReady = await operator.metrics();
  const sumOf = (name: string) =>
    metricsAtReady
      .split('\n')
      .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
      .reduce((total, line) => total + Number(line.split(' ').at(-1)), 0);
  const reconciles = {
    count: sumOf('switchyard_reconcile_total'),
    seconds: sumOf('switchyard_reconcile_duration_seconds_sum'),
    errors: sumOf('switchyard_reconcile_errors_total'),
    statusWrites: readCounter(metricsAtReady, 'switchyard_api_writes_total', '{verb="status"}'),
    childWrites: ['apply', 'create', 'delete'].reduce(
      (total, verb) => total + readCounter(metricsAtReady, 'switchyard_api_writes_total', `{verb="${verb}"}`),
      0,
    ),
  };
  progress(`all ${owners.length} Ready after ${f(readySeconds)} s`);

  const watcherSelector = 'app.kubernetes.io/component=watcher';
  const [deployments, replicaSets] = await Promise.all([
    apps.listNamespacedDeployment({ namespace, labelSelector: watcherSelector }),
    apps.listNamespacedReplicaSet({ namespace, labelSelector: watcherSelector }),
  ]);
  const requestBytes = (deployment: k8s.V1Deployment) =>
    (deployment.spec?.replicas ?? 1) *
    (deployment.spec?.template.spec?.containers ?? []).reduce(
      (total, container) => total + quantityBytes(container.resources?.requests?.memory ?? '0'),
      0,
    );
  const watcherMemoryRequestMiB = mib(deployments.items.reduce((total, item) => total + requestBytes(item), 0));
  const podMemoryRequestMiB = deployments.items[0] ? mib(requestBytes(deployments.items[0])) : Number.NaN;

  // 3. The migrate Job's command, once: kwok does not run containers.
  const migrateJob = await batch.readNamespacedJob({ namespace, name: migrateJobName(hubSchemaVersion) });
  const migrateContainer = migrateJob.spec!.template.spec!.containers[0]!;
  const migrateStarted = performance.now();
  const migrate = spawnLogged(
    runnerEntryPoint,
    runnerCommandOf(migrateContainer),
    await containerEnvironment(core, migrateContainer, namespace),
    join(workDir, 'migrate.log'),
  );
  const migrateCode = await migrate.exited;
  if (migrateCode !== 0) throw new Error(`migrate exited with ${migrateCode}:\n${tail(migrate.logFile)}`);
  const migrateSeconds = elapsedSince(migrateStarted);
  progress(`migrated the hub store in ${f(migrateSeconds)} s`);

  // 4. Hub-store sessions from here on.
  const sampler = startSessionSampler(samplerPool, 200);
  cleanups.push(() => sampler.stop());

  // 3. The watcher pods of the first merchants, as local processes.
  progress(`starting the watchers of ${watcherCount} merchants`);
  const watchers: { merchant: string; spawned: Spawned }[] = [];
  const watchersStarted = performance.now();
  for (let m = 0; m < watcherCount; m += 1) {
    const merchant = merchantName(m);
    const deployment = await apps.readNamespacedDeployment({ namespace, name: watcherName(merchant) });
    const podSpec = deployment.spec!.template.spec!;
    const container = podSpec.containers[0]!;
    const env = await containerEnvironment(core, container, namespace);
    // Pods have a network of their own; these processes share this machine's, so probes listen on a free port.
    env[runnerEnv.healthPort] = '0';
    if (withCredentials && podSpec.serviceAccountName && podSpec.automountServiceAccountToken !== false) {
      // What the kubelet mounts of the pod's ServiceAccount (an hour's token is enough for this run).
      const issued = await requestServiceAccountToken(core, namespace, podSpec.serviceAccountName, 3600);
      const dir = writeServiceAccountDir(issued.token, clusterCa(kc), namespace);
      cleanups.push(() => removeServiceAccountDir(dir));
      Object.assign(env, serviceHostEnvironment(kc), { [serviceAccountDirVariable]: dir });
    }
    const [command, ...args] = liteMode
      ? [runnerEntryPoint, ...runnerCommandOf(container)]
      : [
          // bin/switchyard-runner's flags for a watcher, without --lite-mode.
          process.execPath,
          '--enable-source-maps',
          '--max-semi-space-size=1',
          `--max-old-space-size=${Math.floor(Number(env[runnerEnv.memoryLimit]) / 2)}`,
          join(repoRoot, 'dist/runner/main.js'),
          ...runnerCommandOf(container),
        ];
    const spawned = spawnLogged(command, args, env, join(workDir, `${merchant}.log`));
    void spawned.exited.then((code) => {
      if (!cleaningUp) progress(`watcher ${merchant} exited with ${code}:\n${tail(spawned.logFile)}`);
    });
    watchers.push({ merchant, spawned });
  }
  const loadCarts: CartScope[] = [];
  for (let c = 0; c < cartsPerMerchant; c += 1) {
    for (let m = 0; m < watcherCount; m += 1)
      loadCarts.push({ namespace, cart: cartName(m, c), merchant: merchantName(m) });
  }
  // Warm-up: one order per merchant, delivered by its watcher, so that start-up is not measured as load.
  const warmUps = watchers.map((_, m) => ({ namespace, cart: cartName(m, 0), merchant: merchantName(m) }));
  await Promise.all(warmUps.map((scope) => landOrder(intakePool, scope, 'warm-up')));
  const warmedUp = await Promise.race([
    Promise.all(warmUps.map((scope) => arrival(`${scope.cart}/warm-up`))).then(() => true),
    sleep(120_000).then(() => false),
  ]);
  if (!warmedUp) {
    const missing = warmUps.filter((scope) => !arrivedAt.has(`${scope.cart}/warm-up`)).map((scope) => scope.merchant);
    const firstMissing = watchers.find(({ merchant }) => merchant === missing[0])!;
    throw new Error(
      `no warm-up order from ${missing.join(', ')} reached the warehouse within 120 s; ${firstMissing.merchant}'s log:\n${tail(firstMissing.spawned.logFile)}`,
    );
  }
  const watchersStartSeconds = elapsedSince(watchersStarted);
  progress(`every watcher delivered its warm-up order ${f(watchersStartSeconds)} s after the first was started`);

  // 5. At rest.
  await sleep(restSeconds * 1000);
  const restRss = watchers.map(({ spawned }) => statusMiB(spawned.pid, 'VmRSS'));
  const restPrivate = watchers.map(({ spawned }) => privateMiB(spawned.pid));

  // 6. Automatic latency under load.
  progress(`load: ${ordersPerSecond} orders/s for ${loadSeconds} s over ${loadCarts.length} carts`);
  const total = Math.round(ordersPerSecond * loadSeconds);
  const landedAt = new Map<string, number>();
  let insertErrors = 0;
  let maxInsertLagMs = 0;
  const loadRssPeak = watchers.map(() => 0);
  const rssSampler = setInterval(() => {
    watchers.forEach(({ spawned }, index) => {
      loadRssPeak[index] = Math.max(loadRssPeak[index]!, statusMiB(spawned.pid, 'VmRSS') || 0);
    });
  }, 500);
  // Where the CPU goes during the load: the watchers, PostgreSQL, this process (the load and the fake warehouse), the
  // operator, and the whole machine (the rest: the kwok cluster, and whatever else shares it).
  const postgresPids = (await samplerPool.query<{ pid: number }>('SELECT pid FROM pg_stat_activity')).rows.map(
    (row) => row.pid,
  );
  const cpuNow = () => ({
    watchers: watchers.reduce((sum, { spawned }) => sum + cpuSeconds(spawned.pid), 0),
    postgres: postgresPids.reduce((sum, pid) => sum + (safeCpuSeconds(pid) ?? 0), 0),
    bench: (process.cpuUsage().user + process.cpuUsage().system) / 1e6,
    operator: cpuSeconds(operator.process.pid!),
    machine: machineBusySeconds(),
    wall: performance.now() / 1000,
  });
  const cpuBefore = cpuNow();
  const loadAverage: number[] = [];
  const loadAverageSampler = setInterval(() => loadAverage.push(loadavg()[0]!), 5_000);
  const inFlight = new Set<Promise<void>>();
  const loadStarted = performance.now();
  for (let index = 0; index < total; index += 1) {
    const due = loadStarted + (index * 1000) / ordersPerSecond;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    const scope = loadCarts[index % loadCarts.length]!;
    const id = `L-${index}`;
    const landing = landOrder(intakePool, scope, id).then(
      () => {
        const landed = performance.now();
        landedAt.set(`${scope.cart}/${id}`, landed);
        // How late the commit came after the order was due: the load generator keeping up, or not.
        maxInsertLagMs = Math.max(maxInsertLagMs, landed - due);
      },
      (error: unknown) => {
        insertErrors++;
        if (insertErrors <= 3) progress(`an order could not be landed: ${String(error)}`);
      },
    );
    inFlight.add(landing);
    void landing.finally(() => inFlight.delete(landing));
  }
  await Promise.all(inFlight);
  const insertSeconds = elapsedSince(loadStarted);
  const graceUntil = performance.now() + graceSeconds * 1000;
  while (performance.now() < graceUntil && [...landedAt.keys()].some((id) => !arrivedAt.has(id))) await sleep(100);
  clearInterval(rssSampler);
  clearInterval(loadAverageSampler);
  const cpuAfter = cpuNow();
  const cpu: CpuBudget = {
    watchers: cpuAfter.watchers - cpuBefore.watchers,
    postgres: cpuAfter.postgres - cpuBefore.postgres,
    bench: cpuAfter.bench - cpuBefore.bench,
    operator: cpuAfter.operator - cpuBefore.operator,
    machine: cpuAfter.machine - cpuBefore.machine,
    wall: cpuAfter.wall - cpuBefore.wall,
  };
  const watcherCpuSeconds = cpu.watchers;
  const loadHwm = watchers.map(({ spawned }) => statusMiB(spawned.pid, 'VmHWM'));
  const loadPrivate = watchers.map(({ spawned }) => privateMiB(spawned.pid));
  const latencies = [...landedAt]
    .filter(([id]) => arrivedAt.has(id))
    .map(([id, landed]) => Math.max(0, arrivedAt.get(id)! - landed))
    .sort((a, b) => a - b);
  const lost = [...landedAt.keys()].filter((id) => !arrivedAt.has(id)).length;
  // The same order applied under two idempotency keys is a duplicate; a repeated request under one key is answered
  // as before by the sink and applies nothing, but is counted too.
  const appliedIds = new Map<string, number>();
  for (const write of warehouse.orders.applied) {
    const id = warehouse.orders.idOf(write.body);
    appliedIds.set(id, (appliedIds.get(id) ?? 0) + 1);
  }
  const appliedTwice = [...appliedIds.values()].filter((count) => count > 1).length;
  const repeatedRequests = warehouse.orders.received.filter((write) => write.replayed).length;
  progress(`load done: ${latencies.length}/${landedAt.size} delivered`);

  // Their watchers must not take the interval runs' orders: a merchant whose watcher is not running here.
  const intervalMerchant = merchants > watcherCount ? merchantName(merchants - 1) : 'interval-only';
  const intervalCart: CartScope = { namespace, cart: `${intervalMerchant}-cart-0`, merchant: intervalMerchant };
  await registerCart(intakePool, intervalCart);
  const watcherContainer = (await apps.readNamespacedDeployment({ namespace, name: watcherName(merchantName(0)) }))
    .spec!.template.spec!.containers[0]!;
  const intervalEnv = {
    ...runnerEnvironment({
      service: 'orderDelivery',
      namespace,
      owner: intervalMerchant,
      merchant: intervalMerchant,
      endpointUrl: warehouse.url,
      databaseUrl: postgres.url,
    }),
    // As the operator's pod templates set them: the runners' log level and memory limit.
    [runnerEnv.logLevel]: watcherContainer.env?.find((entry) => entry.name === runnerEnv.logLevel)?.value ?? 'info',
    [runnerEnv.memoryLimit]: String(
      Math.ceil(quantityBytes(watcherContainer.resources?.limits?.memory ?? '256Mi') / 2 ** 20),
    ),
  };

  // 7. Interval run start-up.
  progress(`interval runs: ${intervalRuns} × run --service orderDelivery for ${intervalMerchant}`);
  const othersBefore = sampler.peaks.others;
  sampler.peaks.others = 0;
  const startupMs: number[] = [];
  const runMs: number[] = [];
  for (let run = 0; run < intervalRuns; run += 1) {
    const id = `I-${run}`;
    await landOrder(intakePool, intervalCart, id);
    const delivered = arrival(`${intervalCart.cart}/${id}`);
    const started = performance.now();
    const spawned = spawnLogged(
      runnerEntryPoint,
      ['run', '--service', 'orderDelivery'],
      intervalEnv,
      join(workDir, 'interval.log'),
    );
    const deadline = sleep(60_000).then(() => 'timeout' as const);
    const first = await Promise.race([delivered.then(() => 'delivered' as const), spawned.exited, deadline]);
    if (first !== 'delivered') {
      spawned.child.kill('SIGKILL');
      throw new Error(`interval run ${run}: no order reached the warehouse (${first}):\n${tail(spawned.logFile)}`);
    }
    startupMs.push(arrivedAt.get(`${intervalCart.cart}/${id}`)! - started);
    const code = await Promise.race([spawned.exited, deadline]);
    if (code !== 0) throw new Error(`interval run ${run} exited with ${code}:\n${tail(spawned.logFile)}`);
    runMs.push(performance.now() - started);
  }
  const intervalSessionPeak = sampler.peaks.others;
  const warnings = watchers.flatMap(({ spawned }) =>
    readFileSync(spawned.logFile, 'utf8')
      .split('\n')
      .filter((line) => /"level":"(warn|error|fatal)"/.test(line)),
  );
  const firstWarning = warnings[0]
    ? String((JSON.parse(warnings[0]) as { msg?: string }).msg ?? warnings[0]).slice(0, 160)
    : '';
  sampler.peaks.others = Math.max(othersBefore, intervalSessionPeak);
  await sampler.stop();
  progress(`done in ${f(elapsedSince(began), 0)} s; stopping everything`);

  return {
    milestones,
    operatorCpuSeconds,
    reconciles,
    readyCount: owners.length,
    readySeconds,
    watcherDeployments: deployments.items.length,
    watcherMemoryRequestMiB,
    podMemoryRequestMiB,
    watcherRevisions: replicaSets.items.length / Math.max(1, deployments.items.length),
    oldShapeDeployments: merchants * (1 + 2 * cartsPerMerchant),
    migrateSeconds,
    watchersStartSeconds,
    restRss,
    restPrivate,
    loadRss: loadRssPeak,
    loadHwm,
    loadPrivate,
    sessions: sampler.peaks,
    intervalSessionPeak,
    inserted: landedAt.size,
    insertErrors,
    insertSeconds,
    maxInsertLagMs,
    latencies,
    lost,
    appliedTwice,
    repeatedRequests,
    watcherCpuSeconds,
    cpu,
    loadAverage,
    startupMs,
    runMs,
    intervalMerchant,
    watcherWarnings: warnings.length,
    firstWarning,
  };
}

function report(figures: Figures): void {
  const spread = (values: number[]) => {
    const sorted = [...values].sort((a, b) => a - b);
    return `min ${f(sorted[0] ?? Number.NaN)} / median ${f(median(sorted))} / max ${f(sorted.at(-1) ?? Number.NaN)} MiB`;
  };
  const latencies = figures.latencies;
  const p50 = percentile(latencies, 50);
  const p99 = percentile(latencies, 99);
  const startupMedian = median(figures.startupMs);
  const startupP90 = percentile(
    [...figures.startupMs].sort((a, b) => a - b),
    90,
  );
  const restMax = Math.max(...figures.restRss);
  const perMerchant = figures.sessions.perMerchant;
  const gib = (value: number) => `${f(value / 1024, 1)} GiB`;
  const loadAverage = figures.loadAverage.length > 0 ? Math.max(...figures.loadAverage) : Number.NaN;
  const lines: string[] = [];
  const heading = (text: string) => lines.push(text);
  const row = (label: string, value: string, indent = 2) =>
    lines.push(`${' '.repeat(indent)}${label.padEnd(52 - indent)}${value}`);
  heading('');
  heading(
    `Switchyard fleet benchmark: ${merchants} Merchants × ${cartsPerMerchant} Carts, every Automatic service on; ` +
      `${watcherCount} watchers run as local processes`,
  );
  heading('Fleet (kwok, the compiled operator)');
  row(`every Merchant and Cart Ready (${figures.readyCount}):`, `${f(figures.readySeconds)} s after creation began`);
  const m = figures.milestones;
  const at = (seconds: number | undefined) => (seconds === undefined ? 'n/a' : `${f(seconds)} s`);
  row(
    '  where the time goes (from creation):',
    `all created ${at(m.createdSeconds)}; first watcher available ${at(m.firstWatcherAvailable)}, all ` +
      `${at(m.watchersAvailable)}; Merchants Ready ${at(m.merchantsReady)}; half the Carts ${at(m.halfCartsReady)}`,
  );
  row(
    '  operator until Ready:',
    `${figures.reconciles.count} reconciles (${f(figures.reconciles.count / figures.readyCount, 2)} an object, ` +
      `${f((figures.reconciles.seconds * 1000) / Math.max(1, figures.reconciles.count), 1)} ms each, ` +
      `${figures.reconciles.errors} errors), work queue up to ${m.queuePeak}, ${f(figures.operatorCpuSeconds)} s CPU; ` +
      `${figures.reconciles.childWrites} child and ${figures.reconciles.statusWrites} status writes ` +
      `(${f((figures.reconciles.childWrites + figures.reconciles.statusWrites) / figures.readySeconds, 0)}/s)`,
  );
  row(
    'watcher Deployments:',
    `${figures.watcherDeployments}  (previous shape, one per Automatic service: ${figures.oldShapeDeployments} = ` +
      `${merchants} × (1 + 2 × ${cartsPerMerchant}))`,
  );
  row(
    'memory they request:',
    `${gib(figures.watcherMemoryRequestMiB)}  (${f(figures.podMemoryRequestMiB, 0)} MiB a pod; previous shape ` +
      `${gib(figures.oldShapeDeployments * figures.podMemoryRequestMiB)})`,
  );
  row(
    'watcher ReplicaSets per watcher at Ready:',
    `${f(figures.watcherRevisions, 2)}  (template revisions as Carts joined their Merchant's watcher)`,
  );
  row("migrate (the migrate Job's command, once):", `${f(figures.migrateSeconds, 2)} s`);
  heading(
    `Watchers (bin/switchyard-runner watch, the pod template's environment, ` +
      `${withCredentials ? "the ServiceAccount's token" : 'no Kubernetes credentials'}` +
      `${liteMode ? '' : '; NOT in lite mode (BENCH_WATCHER_LITE=0)'})`,
  );
  row(
    'start → every watcher delivered a warm-up order:',
    `${f(figures.watchersStartSeconds)} s for ${watcherCount} started one after another`,
  );
  row(
    'log lines at warn or above:',
    `${figures.watcherWarnings}${figures.firstWarning ? `, e.g. ${figures.firstWarning}` : ''}`,
  );
  heading(`  hub-store sessions, peak (every 200 ms, ${figures.sessions.samples} samples):`);
  row('all runners:', `${figures.sessions.runners}  (max_connections 100)`, 4);
  row(
    'watchers:',
    `${figures.sessions.watchers} = ${f(figures.sessions.watchers / watcherCount, 2)} per merchant; ` +
      `most for one merchant at once: ${perMerchant} (${figures.sessions.perMerchantWho})`,
    4,
  );
  row(
    'other runners (interval runs, ~0.2 s each):',
    `${figures.sessions.others}; during the interval runs ${figures.intervalSessionPeak}`,
    4,
  );
  row(`RSS at rest (after ${restSeconds} s idle):`, spread(figures.restRss));
  row('private memory at rest (smaps_rollup):', `${spread(figures.restPrivate)}  (RSS less shared pages: node's own)`);
  row('under load, RSS sampled every 500 ms, peak:', spread(figures.loadRss));
  row('under load, VmHWM (peak since start):', spread(figures.loadHwm));
  row('under load, private memory at the end:', spread(figures.loadPrivate));
  heading(
    `Automatic latency, hub commit → warehouse receipt (${ordersPerSecond} orders/s for ${loadSeconds} s, ` +
      `round-robin over ${watcherCount * cartsPerMerchant} carts of ${watcherCount} merchants)`,
  );
  row(
    'orders landed:',
    `${figures.inserted} in ${f(figures.insertSeconds)} s (${f(figures.inserted / figures.insertSeconds, 0)}/s; ` +
      `a commit up to ${f(figures.maxInsertLagMs, 0)} ms after it was due; ${figures.insertErrors} failed to land)`,
  );
  row(
    'latency:',
    `p50 ${f(p50)} ms, p99 ${f(p99)} ms, max ${f(latencies.at(-1) ?? Number.NaN)} ms  (${latencies.length} delivered)`,
  );
  row(`lost (not received ${graceSeconds} s after the last landed):`, String(figures.lost));
  row(
    'duplicates (one order applied twice):',
    `${figures.appliedTwice}; repeated requests answered as replays: ${figures.repeatedRequests}`,
  );
  const c = figures.cpu;
  row(
    'CPU during the load and grace (all cores):',
    `${f(c.machine)} s busy of ${f(c.wall * availableParallelism())} s in ${f(c.wall)} s: watchers ${f(c.watchers)}, ` +
      `PostgreSQL ${f(c.postgres)}, this process (load, fake warehouse) ${f(c.bench)}, operator ${f(c.operator)}, ` +
      `the rest (kwok, other users) ${f(c.machine - c.watchers - c.postgres - c.bench - c.operator)}`,
  );
  row(
    'watcher CPU, load and grace:',
    `${f(figures.watcherCpuSeconds)} s in all (${f((figures.watcherCpuSeconds * 1000) / Math.max(1, figures.inserted), 2)} ms ` +
      `an order); 1-min load average up to ${f(loadAverage, 2)} on ${availableParallelism()} cores`,
  );
  heading(
    `Interval run start-up (${figures.startupMs.length} × run --service orderDelivery for ${figures.intervalMerchant}, ` +
      'whose watcher is not running, one pending order each)',
  );
  row(
    'spawn → warehouse receives the first record:',
    `median ${f(startupMedian, 0)} ms, p90 ${f(startupP90, 0)} ms  (an upper bound of "first record claimed")`,
  );
  row('spawn → process exit:', `median ${f(median(figures.runMs), 0)} ms`);
  heading('');
  const summary = (what: string, measured: string, aim: string, ok: boolean | undefined) =>
    lines.push(
      `  ${what.padEnd(44)}${measured.padEnd(16)}${aim.padEnd(12)}${ok === undefined ? '' : ok ? 'met' : 'NOT MET'}`,
    );
  summary('Summary', 'measured', 'aim', undefined);
  summary(
    'watcher pods',
    String(figures.watcherDeployments),
    `≤ ${merchants}`,
    figures.watcherDeployments <= merchants,
  );
  summary('hub-store sessions per merchant (watcher)', String(perMerchant), '≤ 2', perMerchant <= 2);
  summary(`watcher RSS at rest (max of ${watcherCount})`, `${f(restMax)} MiB`, '≤ 60 MiB', restMax <= 60);
  summary(`  private memory of it (max)`, `${f(Math.max(...figures.restPrivate))} MiB`, '', undefined);
  const landingRate = figures.inserted / figures.insertSeconds;
  summary(
    '  at orders landed per second (the load)',
    f(landingRate, 0),
    `${ordersPerSecond}`,
    landingRate >= 0.95 * ordersPerSecond,
  );
  summary('Automatic latency p99', `${f(p99)} ms`, '≤ 50 ms', p99 <= 50);
  summary('interval start-up, median', `${f(startupMedian, 0)} ms`, '≤ 300 ms', startupMedian <= 300);
  summary(
    'orders lost / duplicated',
    `${figures.lost} / ${figures.appliedTwice}`,
    '0 / 0',
    figures.lost === 0 && figures.appliedTwice === 0,
  );
  log(lines.join('\n'));
}

let exitCode = 0;
try {
  report(await main());
} catch (error) {
  exitCode = 1;
  console.error(error);
} finally {
  await cleanUp();
}
process.exit(exitCode);
