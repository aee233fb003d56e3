// Run now, retry now and cleanups of interval services, driven as in production: `kubectl annotate` on the local
// cluster, the operator's Jobs, their pods' runners as real processes (test/cluster/runner-pods.ts), a real PostgreSQL
// and loopback cart and warehouse. The controller runs in-process with its clock set just past the merchant's morning
// cleanup of Order Delivery, so that the cleanup is due as soon as records fail.
import { afterAll, beforeAll, describe, expect, inject, it, onTestFailed } from 'vitest';
import { hubSchemaVersion } from '../../../operator/api/runner-contract.ts';
import type { Owner } from '../../../operator/api/v1alpha1/types.ts';
import type { Controller } from '../../../operator/runtime/controller.ts';
import { createLogger } from '../../../operator/runner/log.ts';
import { createPool, type Pool } from '../../../operator/runner/store/database.ts';
import { checkSchema } from '../../../operator/runner/store/readiness.ts';
import { RunnerPods } from '../../cluster/runner-pods.ts';
import {
  startFakeCart,
  startFakeWarehouse,
  type FakeCart,
  type FakeWarehouse,
} from '../../support/contract-servers.ts';
import { startPostgres, type PostgresServer } from '../../support/postgres.ts';
import { eventually, kubectl, useTestNamespace } from '../support/cluster.ts';
import { justPastMorningCleanup, startControllerAhead } from '../support/controller-ahead.ts';
import { applyYaml, batch, getOwner } from '../support/switchyard.ts';

const namespace = useTestNamespace('requests');
let postgres: PostgresServer;
let pool: Pool;
let warehouse: FakeWarehouse;
let shop: FakeCart;
let runnerPods: RunnerPods;
let controller: Controller | undefined;
const runnerOutput: string[] = [];

beforeAll(async () => {
  postgres = await startPostgres();
  pool = createPool(postgres.url, 'e2e', createLogger('silent'), 1);
  warehouse = await startFakeWarehouse();
  shop = await startFakeCart();
  await applyYaml(
    namespace.name,
    `apiVersion: v1\nkind: Secret\nmetadata: { name: switchyard-hub-store }\nstringData: { url: "${postgres.url}" }`,
  );
  runnerPods = new RunnerPods({
    kubeconfig: inject('kubeconfig'),
    namespace: namespace.name,
    onOutput: (pod, line) => runnerOutput.push(`${pod}: ${line}`),
  });
  await runnerPods.start();
});
afterAll(async () => {
  await controller?.stop();
  await runnerPods?.stop();
  await pool?.end();
  await Promise.all([warehouse?.close(), shop?.close()]);
  await postgres?.stop();
});

const annotate = (kind: 'merchant' | 'cart', name: string, ...annotations: string[]) =>
  kubectl(['annotate', '--overwrite', '-n', namespace.name, `${kind}/${name}`, ...annotations]);

function serviceOf(owner: Owner, name: string) {
  return owner.status?.services?.find((service) => service.name === name);
}

async function requestJobs(): Promise<string[]> {
  const jobs = await batch.listNamespacedJob({
    namespace: namespace.name,
    labelSelector: 'app.kubernetes.io/component=request',
  });
  return jobs.items.map((job) => `${job.metadata!.name!}: ${job.spec!.template.spec!.containers[0]!.args!.join(' ')}`);
}

describe('run now, retry now and cleanups of interval services', () => {
  it('download on request, a refused delivery cleaned up at its time, and retried on request once fixed', async () => {
    onTestFailed(() => console.log(`runner output:\n${runnerOutput.join('\n')}`));
    await applyYaml(
      namespace.name,
      `apiVersion: switchyard.dev/v1alpha1
kind: Merchant
metadata: { name: tidy }
spec:
  warehouse: { url: "${warehouse.url}" }
  services: { orderDelivery: { schedule: 1h }, shippingConfirmations: { schedule: Disabled }, inventory: { schedule: Disabled } }
---
apiVersion: switchyard.dev/v1alpha1
kind: Cart
metadata: { name: tidy-web }
spec:
  merchantRef: { name: tidy }
  platform: { url: "${shop.url}" }
  services: { orderDownload: { schedule: 1h }, shipmentUpload: { schedule: 1h }, inventoryUpload: { schedule: 1h } }`,
    );
    const merchant = await getOwner('Merchant', namespace.name, 'tidy');
    const { morning, offsetMs } = justPastMorningCleanup(merchant, 'orderDelivery');
    ({ controller } = await startControllerAhead(namespace.name, offsetMs));
    await eventually(
      'the migrate Job to migrate the hub store',
      async () => ((await checkSchema(pool)).current === hubSchemaVersion ? true : undefined),
      { timeoutMs: 60_000 },
    );

    // Run now: the cart's orders are downloaded without waiting for the hour.
    shop.orders.put(
      { id: '1001', lines: [{ sku: 'MUG', quantity: 1 }] },
      { id: '1002', lines: [{ sku: 'CUP', quantity: 2 }] },
      { id: 'BROKEN', lines: [] },
    );
    await annotate(
      'cart',
      'tidy-web',
      'switchyard.dev/run-requested-at=download-1',
      'switchyard.dev/run-services=orderDownload',
    );
    const downloaded = await eventually('the requested download', async () => {
      const cart = await getOwner('Cart', namespace.name, 'tidy-web');
      return serviceOf(cart, 'orderDownload')?.lastResult?.processed === 3 ? cart : undefined;
    });
    expect(downloaded.status?.lastHandledRunRequest).toBe('download-1');
    expect(serviceOf(downloaded, 'orderDownload')).toMatchObject({
      failedRecords: { count: 1, sample: [{ id: 'BROKEN' }] },
    });
    expect(serviceOf(downloaded, 'orderDownload')?.lastSuccessTime).toBeDefined();
    // The cart drops the broken order; retry now re-reads the source from it and forgets it.
    shop.orders.remove((item) => (item as { id?: unknown }).id === 'BROKEN');
    await annotate('cart', 'tidy-web', 'switchyard.dev/retry-requested-at=dropped-broken');
    await eventually('the broken order to be forgotten', async () => {
      const cart = await getOwner('Cart', namespace.name, 'tidy-web');
      return serviceOf(cart, 'orderDownload')?.failedRecords?.count === 0 ? cart : undefined;
    });

    // The warehouse refuses the orders (a mapping it lacks): they need a person, and interval runs leave them be.
    warehouse.orders.respondWith(() => ({ status: 422, reason: 'ship method GIFTWRAP is not mapped' }));
    await annotate('merchant', 'tidy', 'switchyard.dev/run-requested-at=deliver-1');
    // A service with failed records gets its cleanup at its time: here at once, as its slot passed 20 minutes ago.
    const cleanup = await eventually(
      'the cleanup of the refused orders to start',
      async () => {
        const jobs = await batch.listNamespacedJob({
          namespace: namespace.name,
          labelSelector: 'app.kubernetes.io/component=cleanup,switchyard.dev/service=orderDelivery',
        });
        return jobs.items[0];
      },
      { timeoutMs: 60_000 },
    );
    expect(cleanup.metadata?.annotations?.['switchyard.dev/cleanup-time']).toBe(morning.toISOString());
    expect(cleanup.spec?.template.spec?.containers[0]?.args).toEqual(['cleanup', '--service', 'orderDelivery']);
    // The run tried each order once, and the cleanup once more.
    await eventually('the cleanup to try the refused orders again', () =>
      warehouse.orders.received.filter((write) => write.status === 422).length === 4 ? true : undefined,
    );
    const refused = await eventually('the cleanup to report', async () => {
      const owner = await getOwner('Merchant', namespace.name, 'tidy');
      return serviceOf(owner, 'orderDelivery')?.lastResult?.processed === 2 &&
        owner.status?.services?.find((service) => service.name === 'orderDelivery')?.cleanup?.lastTime
        ? owner
        : undefined;
    });
    expect(serviceOf(refused, 'orderDelivery')?.failedRecords?.count).toBe(2);

    // Someone maps the ship method; retry now sends the refused orders without waiting for the next cleanup.
    warehouse.orders.respondWith(undefined);
    await annotate('merchant', 'tidy', 'switchyard.dev/retry-requested-at=after-the-fix');
    const retried = await eventually('the retried orders to be delivered', async () => {
      const owner = await getOwner('Merchant', namespace.name, 'tidy');
      return serviceOf(owner, 'orderDelivery')?.failedRecords?.count === 0 ? owner : undefined;
    });
    expect(retried.status?.lastHandledRetryRequest).toBe('after-the-fix');
    expect(retried.status?.lastHandledRunRequest).toBe('deliver-1');
    expect(new Set(warehouse.orders.applied.map((write) => String(write.body.id)))).toEqual(
      new Set(['tidy-web/1001', 'tidy-web/1002']),
    );
    // One Job per request and service, whatever the number of reconciles since.
    expect((await requestJobs()).map((job) => job.replace(/-[0-9a-f]{8}:/, ':')).sort()).toEqual([
      'tidy-order-delivery-retry: cleanup --service orderDelivery',
      'tidy-order-delivery-run: run --service orderDelivery',
      'tidy-web-order-download-retry: cleanup --service orderDownload',
      'tidy-web-order-download-run: run --service orderDownload',
    ]);
  });
});
