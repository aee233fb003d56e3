// The local control plane: kwokctl's binary runtime runs etcd, kube-apiserver, kube-controller-manager,
// kube-scheduler and kwok-controller as plain processes on loopback, with fake nodes so that Pods run and Jobs finish.
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const stateRoot = join(repoRoot, '.cluster');
// kwokctl keeps each cluster's PKI, logs and process ids under its work dir; keep them beside the checkout.
const kwokWorkdir = join(stateRoot, 'kwok');

/** A local cluster by name: `switchyard` is the one for development and tests; benchmarks make their own. */
export interface LocalCluster {
  name: string;
  kubeconfig: string;
}

export const defaultCluster: LocalCluster = { name: 'switchyard', kubeconfig: join(stateRoot, 'kubeconfig') };

export function namedCluster(name: string): LocalCluster {
  return { name, kubeconfig: join(stateRoot, `${name}.kubeconfig`) };
}

export type BinaryName =
  'etcd' | 'kube-apiserver' | 'kube-controller-manager' | 'kube-scheduler' | 'kubectl' | 'kwok' | 'kwokctl' | 'helm';
export type Binaries = Record<BinaryName, string>;

export function readPinnedVersions(): Record<string, string> {
  const text = readFileSync(join(repoRoot, 'test/cluster/versions.env'), 'utf8');
  const entries = text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => line.split('=', 2) as [string, string]);
  return Object.fromEntries(entries);
}

/** Builds (or reuses from the cache) the pinned binaries and returns their paths. */
export async function ensureBinaries(): Promise<Binaries> {
  const script = join(repoRoot, 'test/cluster/build-binaries.sh');
  const stdout = await new Promise<string>((resolvePaths, reject) => {
    const child = spawn('bash', [script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolvePaths(out) : reject(new Error(`${script} exited with code ${code}`)),
    );
  });
  const paths = Object.fromEntries(
    stdout
      .trim()
      .split('\n')
      .map((line) => line.split('=', 2) as [string, string]),
  );
  return paths as Binaries;
}

function kwokEnv(): NodeJS.ProcessEnv {
  // kwokctl takes the Kubernetes version only from the environment; it chooses the components' flags by it.
  return { ...process.env, KWOK_WORKDIR: kwokWorkdir, KWOK_KUBE_VERSION: readPinnedVersions().KUBERNETES_VERSION };
}

/** True when the kubeconfig's API server answers /readyz. */
export async function isClusterReady(binaries: Binaries, kubeconfig: string): Promise<boolean> {
  if (!existsSync(kubeconfig)) return false;
  try {
    const { stdout } = await run(
      binaries.kubectl,
      ['--kubeconfig', kubeconfig, '--request-timeout=5s', 'get', '--raw', '/readyz'],
      { timeout: 10_000 },
    );
    return stdout.trim() === 'ok';
  } catch {
    return false;
  }
}

export interface StartResult {
  kubeconfig: string;
  /** False when a running cluster was reused. */
  started: boolean;
  seconds: number;
}

/** Starts a local cluster, or reuses it when it already answers. */
export async function startLocalCluster(binaries: Binaries, cluster = defaultCluster): Promise<StartResult> {
  const began = performance.now();
  const elapsed = () => Math.round((performance.now() - began) / 100) / 10;
  if (await isClusterReady(binaries, cluster.kubeconfig)) {
    return { kubeconfig: cluster.kubeconfig, started: false, seconds: elapsed() };
  }
  // A cluster that exists but does not answer (processes gone after a reboot) is recreated from scratch.
  await deleteKwokCluster(binaries, cluster);
  mkdirSync(stateRoot, { recursive: true });
  const kwokctl = (...args: string[]) =>
    run(binaries.kwokctl, ['--name', cluster.name, ...args], { env: kwokEnv(), maxBuffer: 16 << 20 });
  await kwokctl(
    'create',
    'cluster',
    '--runtime=binary',
    `--kubeconfig=${cluster.kubeconfig}`,
    `--etcd-binary=${binaries.etcd}`,
    `--kube-apiserver-binary=${binaries['kube-apiserver']}`,
    `--kube-controller-manager-binary=${binaries['kube-controller-manager']}`,
    `--kube-scheduler-binary=${binaries['kube-scheduler']}`,
    `--kwok-controller-binary=${binaries.kwok}`,
    // Tests and benchmarks create thousands of objects; the default client QPS limits would be the bottleneck.
    '--disable-qps-limits',
    // A throwaway cluster does not need etcd to fsync every write.
    '--extra-args=etcd=unsafe-no-fsync=true',
    // Thousands of watcher Deployments roll out at once in the benchmark; five workers each is the bottleneck.
    '--extra-args=kube-controller-manager=concurrent-deployment-syncs=20',
    '--extra-args=kube-controller-manager=concurrent-replicaset-syncs=20',
    '--wait=120s',
  );
  // Roomy fake nodes: the benchmark runs thousands of watcher pods.
  await kwokctl(
    'scale',
    'node',
    '--replicas=2',
    '--param=.allocatable.pods=5000',
    '--param=.allocatable.cpu=1000',
    '--param=.allocatable.memory="2Ti"',
  );
  await run(binaries.kubectl, [
    '--kubeconfig',
    cluster.kubeconfig,
    'wait',
    '--for=condition=Ready',
    'node',
    '--all',
    '--timeout=60s',
  ]);
  return { kubeconfig: cluster.kubeconfig, started: true, seconds: elapsed() };
}

async function deleteKwokCluster(binaries: Binaries, cluster: LocalCluster): Promise<void> {
  if (!existsSync(join(kwokWorkdir, 'clusters', cluster.name))) return;
  await run(binaries.kwokctl, ['--name', cluster.name, 'delete', 'cluster'], { env: kwokEnv() });
}

/** Stops every process of a local cluster and removes its state. */
export async function stopLocalCluster(binaries: Binaries, cluster = defaultCluster): Promise<void> {
  await deleteKwokCluster(binaries, cluster);
  rmSync(cluster.kubeconfig, { force: true });
}

/**
 * Installs the generated CRDs the way a user would (server-side apply) and waits until both are Established.
 * `kubectl wait` fails rather than waits while a new CRD has no conditions yet, so that case is retried.
 */
export async function installCrds(binaries: Binaries, kubeconfig: string): Promise<void> {
  const kubectl = (...args: string[]) => run(binaries.kubectl, ['--kubeconfig', kubeconfig, ...args]);
  await kubectl('apply', '--server-side', '--force-conflicts', '-f', join(repoRoot, 'crds'));
  for (let attempt = 1; ; attempt += 1) {
    try {
      await kubectl(
        'wait',
        '--for=condition=Established',
        '--timeout=60s',
        'crd/merchants.switchyard.dev',
        'crd/carts.switchyard.dev',
      );
      return;
    } catch (error) {
      const noConditionsYet = /\.status\.conditions accessor error/.test((error as { stderr?: string }).stderr ?? '');
      if (!noConditionsYet || attempt >= 10) throw error;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

/** True when `kubeconfig` is that of a local kwok cluster made here (not an external cluster named by KUBECONFIG). */
export function isLocalCluster(kubeconfig: string, cluster = defaultCluster): boolean {
  return resolve(kubeconfig) === resolve(cluster.kubeconfig) && existsSync(join(kwokWorkdir, 'clusters', cluster.name));
}

function controlPlanePids(cluster: LocalCluster): number[] {
  const dir = join(kwokWorkdir, 'clusters', cluster.name, 'pids');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((file) => file.endsWith('.pid'))
    .map((file) => Number(readFileSync(join(dir, file), 'utf8').trim()))
    .filter((pid) => Number.isInteger(pid) && pid > 0);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * kwok-controller manages a fake node only while it holds the node's Lease (in kube-node-lease), and each process
 * has an identity of its own: a restarted kwok-controller finds the Leases held by its dead predecessor for their
 * full duration (kwokctl sets 200 s) and tries again every quarter of it, so for up to four minutes no Pod would
 * start. Releasing the Leases before the stop lets the next kwok-controller take the nodes at once.
 */
async function releaseNodeLeases(binaries: Binaries, kubeconfig: string): Promise<void> {
  await run(binaries.kubectl, [
    '--kubeconfig',
    kubeconfig,
    '--request-timeout=10s',
    'delete',
    'lease',
    '-n',
    'kube-node-lease',
    '--all',
  ]);
}

interface NodeLeaseState {
  node: string;
  lease?: { holder: string; renewed: number };
}

async function nodeLeases(binaries: Binaries, kubeconfig: string): Promise<NodeLeaseState[]> {
  const get = async (...args: string[]) =>
    JSON.parse(
      (await run(binaries.kubectl, ['--kubeconfig', kubeconfig, '--request-timeout=10s', 'get', ...args, '-o', 'json']))
        .stdout,
    ) as { items: { metadata: { name: string }; spec?: { holderIdentity?: string; renewTime?: string } }[] };
  const [nodes, leases] = await Promise.all([get('nodes'), get('lease', '-n', 'kube-node-lease')]);
  return nodes.items.map(({ metadata }) => {
    const lease = leases.items.find((item) => item.metadata.name === metadata.name);
    const holder = lease?.spec?.holderIdentity;
    const renewTime = lease?.spec?.renewTime;
    return {
      node: metadata.name,
      ...(holder && renewTime && { lease: { holder, renewed: Date.parse(renewTime) } }),
    };
  });
}

/**
 * Stops every process of the local cluster's control plane (etcd, kube-apiserver, kube-controller-manager,
 * kube-scheduler, kwok-controller) and waits until they have exited, keeping its state (etcd's data, PKI, ports) so
 * that `startControlPlane` brings the same cluster back.
 */
export async function stopControlPlane(binaries: Binaries, cluster = defaultCluster): Promise<void> {
  const pids = controlPlanePids(cluster);
  await releaseNodeLeases(binaries, cluster.kubeconfig);
  await run(binaries.kwokctl, ['--name', cluster.name, 'stop', 'cluster'], { env: kwokEnv() });
  const deadline = Date.now() + 60_000;
  while (pids.some(isAlive)) {
    if (Date.now() > deadline) throw new Error(`the control plane of ${cluster.name} did not stop within 60 s`);
    await new Promise((resolveWait) => setTimeout(resolveWait, 100));
  }
}

/**
 * Starts a stopped local cluster's control plane again. Resolves once the API server answers /readyz; `nodesManaged`
 * then resolves once kwok-controller manages every node again (Pods start), which `waitForNodesReady` does not show:
 * a node stays Ready for minutes after its kwok-controller is gone.
 */
export async function startControlPlane(
  binaries: Binaries,
  cluster = defaultCluster,
): Promise<{ nodesManaged: Promise<void> }> {
  const startedAt = Date.now();
  await run(binaries.kwokctl, ['--name', cluster.name, 'start', 'cluster'], { env: kwokEnv() });
  const deadline = Date.now() + 120_000;
  while (!(await isClusterReady(binaries, cluster.kubeconfig))) {
    if (Date.now() > deadline) throw new Error(`the API server of ${cluster.name} did not come back within 120 s`);
    await new Promise((resolveWait) => setTimeout(resolveWait, 200));
  }
  const nodesManaged = (async () => {
    // Leases a dead kwok-controller still holds (it was stopped by other means than stopControlPlane) are released
    // after a grace; the new one takes them at its next attempt, within a quarter of the lease duration.
    const releaseStaleAfter = Date.now() + 10_000;
    let released = false;
    for (;;) {
      const states = await nodeLeases(binaries, cluster.kubeconfig);
      if (states.every((state) => state.lease && state.lease.renewed >= startedAt - 1_000)) return;
      if (Date.now() > deadline + 120_000) {
        throw new Error(`kwok-controller does not manage every node again: ${JSON.stringify(states)}`);
      }
      if (!released && Date.now() > releaseStaleAfter) {
        released = true;
        await releaseNodeLeases(binaries, cluster.kubeconfig);
      }
      await new Promise((resolveWait) => setTimeout(resolveWait, 500));
    }
  })();
  // Not awaited by the caller yet: keep an early failure from being reported as unhandled.
  nodesManaged.catch(() => undefined);
  return { nodesManaged };
}
/** Waits until every node of the cluster is Ready (kwok's fake nodes come back with the control plane). */
export async function waitForNodesReady(binaries: Binaries, kubeconfig: string, timeoutSeconds = 60): Promise<void> {
  await run(binaries.kubectl, [
    '--kubeconfig',
    kubeconfig,
    'wait',
    '--for=condition=Ready',
    'node',
    '--all',
    `--timeout=${timeoutSeconds}s`,
  ]);
}
