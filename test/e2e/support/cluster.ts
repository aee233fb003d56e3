// Shared e2e helpers: a client for the test cluster, a namespace per test file, and polling.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, inject } from 'vitest';
import { eventually as pollUntil } from '../../support/eventually.ts';

const run = promisify(execFile);

export function testKubeConfig(): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(inject('kubeconfig'));
  return kc;
}

/** Runs the pinned kubectl against the test cluster; resolves with stdout, rejects with stderr in the message. */
export async function kubectl(args: string[], input?: string): Promise<string> {
  const child = run(inject('binaries').kubectl, ['--kubeconfig', inject('kubeconfig'), ...args], {
    maxBuffer: 64 << 20,
  });
  if (input !== undefined) {
    child.child.stdin?.end(input);
  }
  try {
    return (await child).stdout;
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    throw new Error(`kubectl ${args.join(' ')} failed: ${stderr.trim()}`, { cause: error });
  }
}

/** Creates a namespace of its own for the calling test file and deletes it afterwards. */
export function useTestNamespace(prefix: string): { readonly name: string } {
  const namespace = { name: `${prefix}-${randomBytes(3).toString('hex')}` };
  beforeAll(async () => {
    const core = testKubeConfig().makeApiClient(k8s.CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: namespace.name } } });
  });
  afterAll(async () => {
    const core = testKubeConfig().makeApiClient(k8s.CoreV1Api);
    await core.deleteNamespace({ name: namespace.name }).catch(() => undefined);
  });
  return namespace;
}

/** Polls until `probe` holds; against a cluster, with a minute's patience and a gentler pace by default. */
export function eventually<T>(
  what: string,
  probe: () => T | undefined | Promise<T | undefined>,
  options: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  return pollUntil(what, probe, { timeoutMs: 60_000, intervalMs: 250, ...options });
}

/** True for the API server's 404 as client-node 2.x reports it. */
export function isNotFound(error: unknown): boolean {
  return (error as { code?: number }).code === 404;
}
