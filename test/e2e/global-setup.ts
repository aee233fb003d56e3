// Runs once before the e2e test files: finds or starts the control plane and hands its kubeconfig to the tests.
// The local kwok cluster is the default; set KUBECONFIG to run the same tests against any other cluster.
import type { TestProject } from 'vitest/node';
import {
  ensureBinaries,
  installCrds,
  startLocalCluster,
  stopLocalCluster,
  type Binaries,
} from '../cluster/local-cluster.ts';

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
