// What the benchmarks share: a fresh throwaway kwok cluster, the compiled operator started by the image's entry point,
// bounded waits, and readings of a process's CPU and memory from /proc.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { parse } from 'yaml';
import type { Owner } from '../operator/api/v1alpha1/types.ts';
import { shareConnections } from '../operator/runtime/kube-config.ts';
import {
  installCrds,
  namedCluster,
  repoRoot,
  startLocalCluster,
  stopLocalCluster,
  type Binaries,
  type LocalCluster,
} from '../test/cluster/local-cluster.ts';

const run = promisify(execFile);

/** Runs `task` over `items`, `limit` at a time. */
export async function eachLimited<T>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) await task(items[next++]!);
    }),
  );
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` every `intervalMs` until it holds; throws after `timeoutMs`. */
export async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  { timeoutMs = 30 * 60_000, intervalMs = 5_000 } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/** A fresh kwok cluster by name (any leftover of that name is removed first), with the CRDs and a namespace. */
export async function prepareCluster(
  binaries: Binaries,
  name: string,
  namespace: string,
): Promise<{ cluster: LocalCluster; kc: k8s.KubeConfig }> {
  const cluster = namedCluster(name);
  await stopLocalCluster(binaries, cluster);
  await startLocalCluster(binaries, cluster);
  await installCrds(binaries, cluster.kubeconfig);
  await run(binaries.kubectl, ['--kubeconfig', cluster.kubeconfig, 'create', 'namespace', namespace]);
  // The operator's own client setup, so that the benchmark and the operator talk to the API server alike.
  const kc = shareConnections(new k8s.KubeConfig());
  kc.loadFromFile(cluster.kubeconfig);
  return { cluster, kc };
}

/** The operator container's memory limit in the chart's default values, in MiB. */
export function chartMemoryLimitMiB(): number {
  const values = parse(readFileSync(join(repoRoot, 'charts/switchyard/values.yaml'), 'utf8')) as {
    resources: { limits: { memory: string } };
  };
  const limit = /^(\d+)Mi$/.exec(values.resources.limits.memory);
  if (!limit) throw new Error(`the chart's resources.limits.memory is not in Mi: ${values.resources.limits.memory}`);
  return Number(limit[1]);
}

/** A memory quantity (`64Mi`, `1Gi`, `500M`, `1048576`) in bytes. */
export function quantityBytes(quantity: string): number {
  const match = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(quantity);
  if (!match) throw new Error(`not a memory quantity: ${quantity}`);
  const factor: Record<string, number> = {
    Ki: 2 ** 10,
    Mi: 2 ** 20,
    Gi: 2 ** 30,
    Ti: 2 ** 40,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
  };
  return Number(match[1]) * (match[2] ? factor[match[2]]! : 1);
}

/** CPU seconds (user and system) the process has used so far. */
export function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  // utime and stime are fields 14 and 15 of /proc/<pid>/stat, in clock ticks (100 a second on Linux).
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** A field of /proc/<pid>/status in MiB (VmRSS, VmHWM, ...); NaN once the process is gone. */
export function statusMiB(pid: number, field: string): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status)?.[1];
    return kib ? Number(kib) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** The kernel's high-water mark of the process's resident memory. */
export function peakRssMiB(pid: number): number {
  return statusMiB(pid, 'VmHWM');
}

/**
 * Memory only this process holds (Private_Clean + Private_Dirty of /proc/<pid>/smaps_rollup), in MiB: RSS less the
 * pages it shares, such as the node binary's file pages, which every Node.js process on a node shares.
 */
export function privateMiB(pid: number): number {
  try {
    const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB$`, 'm').exec(rollup)?.[1] ?? Number.NaN);
    return (field('Private_Clean') + field('Private_Dirty')) / 1024;
  } catch {
    return Number.NaN;
  }
}

export interface RunningOperator {
  readonly process: ChildProcess;
  /** The operator's /metrics text. */
  readonly metrics: () => Promise<string>;
  /** Resolves once it leads (it runs without leader election, so once it serves its metrics). */
  ready(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The compiled operator started by the image's entry point (the benchmarks build it first), with the Node.js running
 * this script and the memory limit the chart gives the operator by default.
 */
export function startOperator(cluster: LocalCluster, port: number, concurrency: number): RunningOperator {
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
  const exited = new Promise<void>((resolve) => operator.once('exit', () => resolve()));
  const metrics = () => fetch(`http://127.0.0.1:${port}/metrics`).then((response) => response.text());
  return {
    process: operator,
    metrics,
    ready: () =>
      waitUntil('the operator', async () => /^switchyard_leader 1$/m.test(await metrics().catch(() => '')), {
        timeoutMs: 120_000,
        intervalMs: 500,
      }),
    async stop() {
      if (operator.exitCode === null && operator.signalCode === null) operator.kill('SIGTERM');
      await exited;
    },
  };
}

export function readCounter(metrics: string, name: string, labels = ''): number {
  const line = metrics.split('\n').find((entry) => entry.startsWith(`${name}${labels} `));
  return line ? Number(line.split(' ')[1]) : 0;
}

/** How many Merchants or Carts of the namespace are Ready for their current generation (from the API server's cache). */
export async function readyCount(
  kc: k8s.KubeConfig,
  namespace: string,
  plural: 'merchants' | 'carts',
): Promise<number> {
  const list = (await kc.makeApiClient(k8s.CustomObjectsApi).listNamespacedCustomObject({
    group: 'switchyard.dev',
    version: 'v1alpha1',
    namespace,
    plural,
    resourceVersion: '0',
  })) as { items: Owner[] };
  return list.items.filter(
    (owner) =>
      owner.status?.observedGeneration === owner.metadata.generation &&
      owner.status?.conditions?.some((condition) => condition.type === 'Ready' && condition.status === 'True'),
  ).length;
}
