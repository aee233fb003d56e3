// Runs the real operator process (operator/main.ts) against the test cluster, as `npm start` would.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { inject } from 'vitest';
import { repoRoot } from '../../cluster/local-cluster.ts';
import { freeLoopbackPort } from '../../support/free-port.ts';

export interface RunningOperator {
  readonly logs: string[];
  readonly port: number;
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

export async function startOperator(namespace: string, env: Record<string, string> = {}): Promise<RunningOperator> {
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
    const ready = await fetch(`http://127.0.0.1:${port}/metrics`)
      .then(async (response) => /^switchyard_leader 1$/m.test(await response.text()))
      .catch(() => false);
    if (ready) break;
    if (Date.now() > deadline) throw new Error(`the operator did not start:\n${logs.join('\n')}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return {
    logs,
    port,
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
