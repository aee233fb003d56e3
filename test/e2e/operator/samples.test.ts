// The samples a newcomer applies: the operator turns them into exactly the expected workloads and reports Ready.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../cluster/local-cluster.ts';
import { eventually, kubectl, useTestNamespace } from '../support/cluster.ts';
import { startOperator, type RunningOperator } from '../support/operator.ts';
import {
  applyYaml,
  batch,
  core,
  getOwner,
  inNamespace,
  waitForReady,
  waitForWorkloads,
} from '../support/switchyard.ts';

const namespace = useTestNamespace('samples');
let operator: RunningOperator;

beforeAll(async () => {
  operator = await startOperator(namespace.name);
  const samples = readFileSync(join(repoRoot, 'config/samples/acme.yaml'), 'utf8');
  await applyYaml(namespace.name, inNamespace(samples, namespace.name));
});
afterAll(async () => {
  await operator.stop();
});

describe('the samples in config/samples', () => {
  it("produce exactly the expected CronJobs and the merchant's one watcher Deployment", async () => {
    await waitForWorkloads(namespace.name, [
      'Deployment/acme-watcher',
      'CronJob/acme-shipping-confirmations',
      'CronJob/acme-inventory',
      'CronJob/acme-shopify-order-download',
      'CronJob/acme-etsy-order-download',
      'CronJob/acme-etsy-inventory-upload',
    ]);
    const cronJob = await batch.readNamespacedCronJob({ namespace: namespace.name, name: 'acme-inventory' });
    expect(cronJob.spec?.schedule).toBe('0 */2 * * *');
    expect(cronJob.spec?.timeZone).toBe('America/Chicago');
    // 15m is staggered: four runs an hour at the object's own minute, not */15.
    const download = await batch.readNamespacedCronJob({
      namespace: namespace.name,
      name: 'acme-shopify-order-download',
    });
    expect(download.spec?.schedule).toMatch(/^(\d+),(\d+),(\d+),(\d+) \* \* \* \*$/);
  });

  it('reach Ready, with the next run of each interval service and two cleanup times for each Automatic one', async () => {
    const merchant = await waitForReady('Merchant', namespace.name, 'acme');
    const services = Object.fromEntries((merchant.status?.services ?? []).map((service) => [service.name, service]));
    expect(services.orderDelivery).toMatchObject({
      schedule: 'Automatic',
      workload: { kind: 'Deployment', name: 'acme-watcher' },
    });
    const cleanupTimes = services.orderDelivery?.cleanup?.nextTimes ?? [];
    expect(cleanupTimes).toHaveLength(2);
    for (const time of cleanupTimes) expect(Date.parse(time)).toBeGreaterThan(Date.now() - 60_000);
    expect(Date.parse(services.inventory?.nextRunTime ?? '')).toBeGreaterThan(Date.now() - 60_000);
    expect(merchant.status?.observedGeneration).toBe(merchant.metadata.generation);
    const cart = await waitForReady('Cart', namespace.name, 'acme-etsy');
    expect(cart.status?.services?.map((service) => service.name).sort()).toEqual([
      'inventoryUpload',
      'orderDownload',
      'shipmentUpload',
    ]);
  });

  it('work with kubectl wait --for=condition=Ready on both kinds', async () => {
    const output = await kubectl([
      'wait',
      '-n',
      namespace.name,
      '--for=condition=Ready',
      '--timeout=60s',
      'merchant/acme',
      'cart/acme-shopify',
      'cart/acme-etsy',
    ]);
    expect(output).toContain('merchant.switchyard.dev/acme condition met');
    expect(output).toContain('cart.switchyard.dev/acme-etsy condition met');
  });

  it('show Ready, the merchant and whether orders move in kubectl get, by short name too', async () => {
    const output = await kubectl(['get', 'crt', '-n', namespace.name]);
    expect(output).toMatch(/NAME\s+MERCHANT\s+READY\s+FAILED\s+DOWNLOADED\s+SUSPENDED\s+AGE/);
    // No download has run yet: DOWNLOADED is empty.
    expect(output).toMatch(/acme-shopify\s+acme\s+True\s+0\s+(<none>\s+)?false/);
    const wide = await kubectl(['get', 'merch', 'acme', '-n', namespace.name, '-o', 'wide']);
    expect(wide).toMatch(/NAME\s+READY\s+FAILED\s+PENDING\s+DELIVERED\s+SUSPENDED\s+AGE\s+REASON\s+STATUS/);
    expect(wide).toMatch(/acme\s+True\s+0\s.*Reconciled\s+running /);
  });

  it("run a CronJob's Job to completion on a kwok node", async () => {
    await kubectl([
      'create',
      'job',
      '-n',
      namespace.name,
      'download-now',
      '--from=cronjob/acme-shopify-order-download',
    ]);
    await eventually(
      'the Job to succeed',
      async () => {
        const job = await batch.readNamespacedJob({ namespace: namespace.name, name: 'download-now' });
        return (job.status?.succeeded ?? 0) >= 1 ? job : undefined;
      },
      { timeoutMs: 60_000 },
    );
    const pods = await core.listNamespacedPod({ namespace: namespace.name, labelSelector: 'job-name=download-now' });
    const container = pods.items[0]?.spec?.containers[0];
    expect(container?.args).toEqual(['run', '--service', 'orderDownload']);
    expect(pods.items[0]?.spec?.serviceAccountName).toBe('acme-runner');
  });

  it('record Events for what the operator created', async () => {
    const events = await kubectl([
      'get',
      'events',
      '-n',
      namespace.name,
      '--field-selector',
      'reason=Created',
      '-o',
      'name',
    ]);
    expect(events.trim().split('\n').length).toBeGreaterThanOrEqual(9);
    const merchant = await getOwner('Merchant', namespace.name, 'acme');
    expect(merchant.metadata.uid).toBeTruthy();
  });
});
