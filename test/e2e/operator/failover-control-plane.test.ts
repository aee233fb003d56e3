// A full restart of the control plane (etcd, kube-apiserver, controller-manager, scheduler, kwok) while the operator
// keeps running: its watches break, its informers restart, and it must serve again once the API server is back. Every
// informer is put to the test after /readyz: a child of each kind is deleted, a Cart is added and the Merchant's spec
// changes, and each must be acted on within 30 s. The periodic resync is pushed out of the way (an hour), so only
// resumed watches can explain it.
//
// The restart is of a local kwok cluster of its own, built like the shared one: the shared cluster serves the other
// test files, and other runs may be using it at the same moment. So it runs only where the local cluster does (not
// when KUBECONFIG names another cluster, as with the demo), and removes its cluster afterwards.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Owner } from '../../../operator/api/v1alpha1/types.ts';
import type { ChildKind } from '../../../operator/reconcile/child-kinds.ts';
import { childName, watcherName } from '../../../operator/reconcile/names.ts';
import {
  installCrds,
  isClusterReady,
  namedCluster,
  startControlPlane,
  startLocalCluster,
  stopControlPlane,
  stopLocalCluster,
  waitForNodesReady,
} from '../../cluster/local-cluster.ts';
import { childId, listManagedChildren, runnerIdentityOf } from '../support/children.ts';
import { eventually } from '../support/cluster.ts';
import { isLeading, startOperator, type RunningOperator } from '../support/operator.ts';

const run = promisify(execFile);
const seconds = (ms: number) => (ms / 1000).toFixed(1);

describe.skipIf(process.env.KUBECONFIG !== undefined)('a control-plane restart', () => {
  const binaries = inject('binaries');
  const cluster = namedCluster('switchyard-restart');
  const namespace = 'restart';
  let kubeConfig: k8s.KubeConfig;
  let operator: RunningOperator | undefined;
  let nodesManaged: Promise<void> | undefined;

  const kubectl = async (args: string[], input?: string) => {
    const child = run(binaries.kubectl, ['--kubeconfig', cluster.kubeconfig, ...args]);
    if (input !== undefined) child.child.stdin?.end(input);
    return (await child).stdout;
  };

  async function waitForReady(kind: 'Merchant' | 'Cart', name: string): Promise<void> {
    const custom = kubeConfig.makeApiClient(k8s.CustomObjectsApi);
    const plural = kind === 'Merchant' ? 'merchants' : 'carts';
    await eventually(`${kind} ${name} to be Ready`, async () => {
      const owner = (await custom.getNamespacedCustomObject({
        group: 'switchyard.dev',
        version: 'v1alpha1',
        namespace,
        plural,
        name,
      })) as Owner;
      const ready = owner.status?.conditions?.find((condition) => condition.type === 'Ready');
      return owner.status?.observedGeneration === owner.metadata.generation && ready?.status === 'True'
        ? true
        : undefined;
    });
  }

  beforeAll(async () => {
    const { seconds: took } = await startLocalCluster(binaries, cluster);
    console.log(`[failover] started a local cluster of its own for the restart in ${took} s`);
    await installCrds(binaries, cluster.kubeconfig);
    kubeConfig = new k8s.KubeConfig();
    kubeConfig.loadFromFile(cluster.kubeconfig);
    await kubectl(['create', 'namespace', namespace]);
    operator = await startOperator(namespace, {
      KUBECONFIG: cluster.kubeconfig,
      SWITCHYARD_RESYNC_SECONDS: '3600',
    });
  });
  afterAll(async () => {
    if (operator?.running) await operator.stop();
    await nodesManaged?.catch(() => undefined);
    await stopLocalCluster(binaries, cluster);
  });

  function merchant(services: string): string {
    return `apiVersion: switchyard.dev/v1alpha1
kind: Merchant
metadata: { name: steady }
spec:
  warehouse: { url: "https://wms.example.com" }
  services: { ${services} }`;
  }
  const cart = (name: string) => `apiVersion: switchyard.dev/v1alpha1
kind: Cart
metadata: { name: ${name} }
spec: { merchantRef: { name: steady }, platform: { url: "https://cart.example.com" } }`;
  const apply = (yaml: string) => kubectl(['apply', '-n', namespace, '-f', '-'], yaml);

  it('resumes its watches: after /readyz, deleted children of every kind and new objects are acted on within 30 s', async () => {
    const running = operator!;
    await apply([merchant(''), cart('steady-shop')].join('\n---\n'));
    await waitForReady('Merchant', 'steady');
    await waitForReady('Cart', 'steady-shop');
    const deleted: { kind: ChildKind; name: string }[] = [
      { kind: 'Deployment', name: watcherName('steady') },
      { kind: 'CronJob', name: childName('steady', 'shippingConfirmations') },
      { kind: 'CronJob', name: childName('steady-shop', 'orderDownload') },
      ...runnerIdentityOf('steady'),
    ];
    const present = (await listManagedChildren(namespace, kubeConfig)).map(childId);
    for (const child of deleted) expect(present).toContain(childId(child));
    const pid = running.pid;
    const logsBefore = running.logs.length;

    const stoppedAt = performance.now();
    try {
      await stopControlPlane(binaries, cluster);
      expect(await isClusterReady(binaries, cluster.kubeconfig)).toBe(false);
    } finally {
      ({ nodesManaged } = await startControlPlane(binaries, cluster));
    }
    const readyAt = performance.now();
    console.log(`[failover] control plane stopped and back (/readyz ok) in ${seconds(readyAt - stoppedAt)} s`);

    // The same process, still leading: the outage was shorter than its renew deadline.
    expect(running.running).toBe(true);
    expect(running.pid).toBe(pid);
    expect(await isLeading(running)).toBe(true);

    // One change per informer: a child of each kind deleted (the child informers), a Cart added (the Cart informer),
    // the Merchant's spec changed (the Merchant informer).
    for (const { kind, name } of deleted) {
      await kubectl(['delete', '-n', namespace, kind.toLowerCase(), name, '--wait=false']);
    }
    await apply(cart('steady-late'));
    await apply(merchant('inventory: { schedule: 2h }'));
    const changedAt = performance.now();

    const batch = kubeConfig.makeApiClient(k8s.BatchV1Api);
    const inventory = childName('steady', 'inventory');
    const lateCronJob = childName('steady-late', 'orderDownload');
    const pending = new Map<string, (ids: Set<string>) => Promise<boolean>>([
      ...deleted.map(
        (child) =>
          [`${childId(child)} restored`, (ids: Set<string>) => Promise.resolve(ids.has(childId(child)))] as const,
      ),
      [`CronJob/${lateCronJob} of the new Cart`, (ids) => Promise.resolve(ids.has(`CronJob/${lateCronJob}`))],
      [
        `CronJob/${inventory} rescheduled to every 2 h`,
        async () => {
          const cronJob = await batch.readNamespacedCronJob({ namespace, name: inventory });
          return /^\d+ \d+(,\d+)+ \* \* \*$/.test(cronJob.spec?.schedule ?? '');
        },
      ],
    ]);
    const doneAfter = new Map<string, number>();
    const informerRestarts = () =>
      running.logs.slice(logsBefore).filter((line) => line.includes('restarting the informer'));
    await eventually(
      'every deleted child restored and every change acted on',
      async () => {
        const ids = new Set(
          (await listManagedChildren(namespace, kubeConfig)).filter((child) => !child.deleting).map(childId),
        );
        for (const [what, check] of pending) {
          if (!doneAfter.has(what) && (await check(ids))) doneAfter.set(what, performance.now() - readyAt);
        }
        return doneAfter.size === pending.size ? true : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 100 },
    ).catch((error: unknown) => {
      const missing = [...pending.keys()].filter((what) => !doneAfter.has(what));
      throw new Error(
        `not done 60 s after /readyz: ${missing.join(', ')}\ninformer restarts logged:\n${informerRestarts().join('\n')}`,
        { cause: error },
      );
    });
    const slowest = Math.max(...doneAfter.values());
    for (const [what, ms] of doneAfter) console.log(`[failover]   ${what}: ${seconds(ms)} s after /readyz`);
    console.log(
      `[failover] control-plane restart: every watch resumed; all restored ${seconds(slowest)} s after /readyz, ` +
        `${seconds(Math.max(0, readyAt + slowest - changedAt))} s after the last change was made ` +
        `(${informerRestarts().length} informer restarts logged, same operator process)`,
    );
    expect(slowest).toBeLessThan(30_000);

    // Pods run again once kwok-controller manages the nodes; then the watchers roll out and all is Ready.
    await nodesManaged;
    await waitForNodesReady(binaries, cluster.kubeconfig);
    console.log(`[failover] kwok manages every node again ${seconds(performance.now() - readyAt)} s after /readyz`);
    await waitForReady('Merchant', 'steady');
    await waitForReady('Cart', 'steady-late');
    expect(running.running).toBe(true);
  });
});
