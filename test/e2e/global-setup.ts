// Runs once before the e2e test files: finds or starts the control plane and hands its kubeconfig to the tests.
// The local kwok cluster is the default; set KUBECONFIG to run the same tests against any other cluster.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { TestProject } from 'vitest/node';
import {
  ensureBinaries,
  repoRoot,
  startLocalCluster,
  stopLocalCluster,
  type Binaries,
} from '../cluster/local-cluster.ts';

const run = promisify(execFile);

/** The CRDs as generated, installed the way a user would, and waited for. */
async function installCrds(binaries: Binaries, kubeconfig: string): Promise<void> {
  const kubectl = (...args: string[]) => run(binaries.kubectl, ['--kubeconfig', kubeconfig, ...args]);
  await kubectl('apply', '--server-side', '--force-conflicts', '-f', join(repoRoot, 'crds'));
  await kubectl(
    'wait',
    '--for=condition=Established',
    '--timeout=60s',
    'crd/merchants.switchyard.dev',
    'crd/carts.switchyard.dev',
  );
}

declare module 'vitest' {
  export interface ProvidedContext {
    kubeconfig: string;
    binaries: Binaries;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const binaries = await ensureBinaries();
  project.provide('binaries', binaries);
  const external = process.env.KUBECONFIG;
  if (external) {
    project.provide('kubeconfig', external);
    await installCrds(binaries, external);
    return async () => {};
  }
  const { kubeconfig, started, seconds } = await startLocalCluster(binaries);
  console.log(started ? `[e2e] started the local cluster in ${seconds}s` : '[e2e] reusing the running local cluster');
  project.provide('kubeconfig', kubeconfig);
  await installCrds(binaries, kubeconfig);
  // Tear down only what this run started: a cluster the developer brought up with cluster:up stays.
  return async () => {
    if (started) await stopLocalCluster(binaries);
  };
}
