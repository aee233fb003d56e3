// npm run cluster:up | cluster:down
import { defaultCluster, ensureBinaries, startLocalCluster, stopLocalCluster } from './local-cluster.ts';
import { relative } from 'node:path';

const command = process.argv[2];
const binaries = await ensureBinaries();
if (command === 'up') {
  const { started, seconds } = await startLocalCluster(binaries);
  const kubeconfig = relative(process.cwd(), defaultCluster.kubeconfig);
  console.log(started ? `Local cluster started in ${seconds}s.` : 'Local cluster already running; reused it.');
  console.log(`  export KUBECONFIG=${kubeconfig}`);
  console.log(`  kubectl get nodes            # kubectl is ${binaries.kubectl}`);
  console.log(`Stop it with: npm run cluster:down`);
} else if (command === 'down') {
  await stopLocalCluster(binaries);
  console.log('Local cluster stopped.');
} else {
  console.error('usage: node test/cluster/cli.ts up|down');
  process.exit(2);
}
