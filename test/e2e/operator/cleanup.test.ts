// Cleanup runs on the real control plane, of an Automatic service whose runner reported failed records. Waiting for a
// random time of day is no test, so this one runs the controller in-process with its clock set just past the
// merchant's morning cleanup, as after an operator outage.
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { scheduleSeed } from '../../../operator/reconcile/plan.ts';
import { createClusterWriter, createEventRecorder } from '../../../operator/runtime/cluster-writer.ts';
import { Controller } from '../../../operator/runtime/controller.ts';
import { createMetrics } from '../../../operator/runtime/metrics.ts';
import { cleanupTimesForDay } from '../../../operator/schedule/index.ts';
import { runnerSettingsFixture } from '../../support/fixtures.ts';
import { eventually, kubectl, testKubeConfig, useTestNamespace } from '../support/cluster.ts';
import { applyYaml, batch, getOwner, waitForReady } from '../support/switchyard.ts';

const namespace = useTestNamespace('cleanup');
const kubeConfig = testKubeConfig();
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
    // Tomorrow's slot: a slot that passed before the Merchant existed is, rightly, not a missed cleanup.
    const tomorrow = new Date(Date.now() + 24 * 3600_000).toISOString().slice(0, 10);
    const [morning] = cleanupTimesForDay(scheduleSeed(merchant, 'orderDelivery'), tomorrow, 'UTC');
    // The operator "comes back" 20 minutes after the morning cleanup was due.
    const offset = morning.getTime() + 20 * 60_000 - Date.now();
    const metrics = createMetrics();
    const log = pino({ level: 'silent' });
    controller = new Controller({
      kubeConfig,
      namespaces: [namespace.name],
      concurrency: 2,
      resyncSeconds: 600,
      settings: runnerSettingsFixture,
      writer: createClusterWriter(kubeConfig, metrics),
      events: createEventRecorder(kubeConfig, () => undefined),
      metrics,
      log,
      now: () => new Date(Date.now() + offset),
    });
    await controller.start();

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
