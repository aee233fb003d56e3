// kstatus itself (sigs.k8s.io/cli-utils pkg/kstatus/status, the rules Flux, kpt and cli-utils' waits apply), as a
// command built by test/cluster/build-kstatus.sh from test/cluster/kstatus/main.go at the version pinned in
// test/cluster/versions.env, and cached outside the repository.
import { execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from '../../cluster/local-cluster.ts';

const run = promisify(execFile);

export type KstatusStatus = 'InProgress' | 'Failed' | 'Current' | 'Terminating' | 'NotFound' | 'Unknown';

export interface KstatusResult {
  status: KstatusStatus;
  message: string;
}

/** Builds the command if it is not cached yet (cold: a minute or a few on 2 cores); returns its path. */
export async function ensureKstatus(): Promise<string> {
  const { stdout } = await run('bash', [join(repoRoot, 'test/cluster/build-kstatus.sh')], {
    timeout: 900_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout.trim().split('\n').at(-1)!;
}

/** kstatus' verdict on each object, in order. */
export function computeKstatus(binary: string, objects: readonly unknown[]): Promise<KstatusResult[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, [], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`kstatus exited with ${code}: ${stderr.trim()}`));
      const results = stdout
        .trim()
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as KstatusResult);
      if (results.length !== objects.length) {
        return reject(new Error(`kstatus answered for ${results.length} of ${objects.length} objects`));
      }
      resolve(results);
    });
    child.stdin.end(JSON.stringify(objects));
  });
}
