// Cleanup runs on the real control plane, of an Automatic service whose runner reported failed records. Waiting for a
// random time of day is no test, so this one runs the controller in-process with its clock set just past the
// merchant's morning cleanup, as after an operator outage.
import { afterAll, describe, expect, it } from 'vitest';
import type { Controller } from '../../../operator/runtime/controller.ts';
import type { Metrics } from '../../../operator/runtime/metrics.ts';
import { eventually, kubectl, useTestNamespace } from '../support/cluster.ts';
import { justPastMorningCleanup, startControllerAhead } from '../support/controller-ahead.ts';
import { applyYaml, batch, getOwner, waitForReady } from '../support/switchyard.ts';

const namespace = useTestNamespace('cleanup');
let controller: Controller | undefined;

afterAll(async () => {
  await controller?.stop();
});

describe('cleanup runs of an Automatic service', () => {
  it('start a cleanup Job missed less than an hour ago, which runs and reports its time', async () => {
    await applyYaml(
      namespace.name,
      `apiVersion: switchyard.dev/v1alpha1
kind: Merchant
metadata: { name: tidy }
spec:
  warehouse: { url: "https://wms.example.com" }
  services: { shippingConfirmations: { schedule: Disabled }, inventory: { schedule: Disabled } }`,
    );
    // Its watcher's runner reported failed records, which is what makes a cleanup worth running.
    await kubectl(
      [
        'apply',
        '--server-side',
        '--subresource=status',
        '--field-manager=switchyard-runner/orderDelivery',
        '-n',
        namespace.name,
        '-f',
        '-',
      ],
      `apiVersion: switchyard.dev/v1alpha1
kind: Merchant
metadata: { name: tidy }
status: { services: [{ name: orderDelivery, failedRecords: { count: 3 } }] }`,
    );
    const merchant = await getOwner('Merchant', namespace.name, 'tidy');
    const { morning, offsetMs } = justPastMorningCleanup(merchant, 'orderDelivery');
    let metrics: Metrics;
    ({ controller, metrics } = await startControllerAhead(namespace.name, offsetMs));

    const job = await eventually('the cleanup Job', async () => {
      const jobs = await batch.listNamespacedJob({
        namespace: namespace.name,
        labelSelector: 'app.kubernetes.io/component=cleanup',
      });
      return jobs.items[0];
    });
    expect(job.metadata?.annotations?.['switchyard.dev/cleanup-time']).toBe(morning.toISOString());
    expect(job.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'Merchant', name: 'tidy', controller: true });
    expect(job.spec?.ttlSecondsAfterFinished).toBeGreaterThan(0);
    expect(job.spec?.template.spec?.containers[0]?.args).toEqual(['cleanup', '--service', 'orderDelivery']);
    await eventually('the cleanup Job to complete', async () => {
      const current = await batch.readNamespacedJob({ namespace: namespace.name, name: job.metadata!.name! });
      return (current.status?.succeeded ?? 0) >= 1 ? true : undefined;
    });

    const ready = await waitForReady('Merchant', namespace.name, 'tidy');
    const cleanup = ready.status?.services?.find((service) => service.name === 'orderDelivery')?.cleanup;
    expect(cleanup?.lastTime).toBe(morning.toISOString().replace('.000Z', 'Z'));
    expect(cleanup?.nextTimes).toHaveLength(2);
    expect((await metrics.cleanupRuns.get()).values[0]?.value).toBe(1);
    const jobs = await batch.listNamespacedJob({
      namespace: namespace.name,
      labelSelector: 'app.kubernetes.io/component=cleanup',
    });
    expect(jobs.items).toHaveLength(1);
  });
});
