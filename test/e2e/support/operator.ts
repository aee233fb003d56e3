// Runs the real operator process (operator/main.ts) against the test cluster, as `npm start` would.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { inject } from 'vitest';
import { repoRoot } from '../../cluster/local-cluster.ts';
import { freeLoopbackPort } from '../../support/free-port.ts';

export interface RunningOperator {
  readonly logs: string[];
  readonly port: number;
  /** The process id; the operator's lease identity is `<hostname>-<pid>`. */
  readonly pid: number;
  /** False once the process has ended. */
  readonly running: boolean;
  /** SIGTERM, and wait for the process to end. */
  stop(): Promise<void>;
  /** SIGKILL: the operator dies mid-way, as on a node failure. */
  kill(): Promise<void>;
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((resolve) => child.once('exit', () => resolve()));
}

/** True when the operator's /metrics says it leads (`switchyard_leader 1`); false when it does not or does not answer. */
export async function isLeading(operator: Pick<RunningOperator, 'port'>): Promise<boolean> {
  return fetch(`http://127.0.0.1:${operator.port}/metrics`)
    .then(async (response) => /^switchyard_leader 1$/m.test(await response.text()))
    .catch(() => false);
}

export interface StartOptions {
  /**
   * `leader` (the default): resolve once it leads with its caches synced. `listening`: once its HTTP endpoints
   * answer, leader or standby, so that several replicas can be started together.
   */
  waitFor?: 'leader' | 'listening';
}

export async function startOperator(
  namespace: string,
  env: Record<string, string> = {},
  { waitFor = 'leader' }: StartOptions = {},
): Promise<RunningOperator> {
  const port = await freeLoopbackPort();
  const child = spawn(process.execPath, [join(repoRoot, 'operator/main.ts')], {
    env: {
      ...process.env,
      KUBECONFIG: inject('kubeconfig'),
      SWITCHYARD_WATCH_NAMESPACES: namespace,
      SWITCHYARD_LEASE_NAMESPACE: namespace,
      SWITCHYARD_HTTP_PORT: String(port),
      SWITCHYARD_RESYNC_SECONDS: '60',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  const collect = (chunk: Buffer) => logs.push(...chunk.toString().split('\n').filter(Boolean));
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  // Ready once it leads and its caches are synced.
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the operator exited with ${child.exitCode}:\n${logs.join('\n')}`);
    const ready =
      waitFor === 'leader'
        ? await isLeading({ port })
        : await fetch(`http://127.0.0.1:${port}/metrics`).then(
            async (response) => (await response.text()) !== '' && response.ok,
            () => false,
          );
    if (ready) break;
    if (Date.now() > deadline) throw new Error(`the operator did not start:\n${logs.join('\n')}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return {
    logs,
    port,
    pid: child.pid!,
    get running() {
      return child.exitCode === null && child.signalCode === null;
    },
    async stop() {
      child.kill('SIGTERM');
      await exited(child);
    },
    async kill() {
      child.kill('SIGKILL');
      await exited(child);
    },
  };
}
