// The local control plane: kwokctl's binary runtime runs etcd, kube-apiserver, kube-controller-manager,
// kube-scheduler and kwok-controller as plain processes on loopback, with fake nodes so that Pods run and Jobs finish.
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
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
