// Orders: cart → hub (Order Download) → warehouse (Order Delivery), Automatic and interval, and what becomes of
// orders the warehouse refuses.
import { randomBytes } from 'node:crypto';
import { describe, expect, it, onTestFinished } from 'vitest';
import { startFakeCart, startFakeWarehouse } from '../support/contract-servers.ts';
import { useTestDatabase } from './support/database.ts';
import { eventually } from '../support/eventually.ts';
import { runOnce, startWatcher, type RunnerSetup } from './support/runners.ts';

const db = useTestDatabase();

/** A merchant with one cart, fresh fake servers and a namespace of its own, for one test. */
async function tenant(options: { warehouseToken?: string; runnerToken?: string } = {}) {
  const [cart, warehouse] = await Promise.all([
    startFakeCart(),
    startFakeWarehouse(options.warehouseToken === undefined ? {} : { token: options.warehouseToken }),
  ]);
  onTestFinished(() => Promise.all([cart.close(), warehouse.close()]).then(() => undefined));
  const namespace = `ns-${randomBytes(3).toString('hex')}`;
  const download: RunnerSetup = {
    service: 'orderDownload',
    namespace,
    owner: 'web-shop',
    merchant: 'acme',
    endpointUrl: cart.url,
    databaseUrl: db.url,
  };
  const delivery: RunnerSetup = {
    service: 'orderDelivery',
    namespace,
    owner: 'acme',
    merchant: 'acme',
    endpointUrl: warehouse.url,
    databaseUrl: db.url,
    ...(options.runnerToken === undefined ? {} : { token: options.runnerToken }),
  };
  /** Puts orders on the cart and runs Order Download, as its CronJob would. */
  const load = async (...orders: Record<string, unknown>[]) => {
    cart.orders.put(...orders);
    expect((await runOnce('run', download)).exitCode).toBe(0);
  };
  return { cart, warehouse, download, delivery, load };
}

const order = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  lines: [{ sku: 'SKU-1', quantity: 1 }],
  ...extra,
});

/** The warehouse answers the first write with 429 and this Retry-After, and accepts the rest. */
function throttleFirstWrite(retryAfter: string) {
  let throttled = false;
  return () => {
    if (throttled) return undefined;
    throttled = true;
    return { status: 429, reason: 'slow down', headers: { 'retry-after': retryAfter } };
  };
}

async function deliver(mode: 'run' | 'cleanup', setup: RunnerSetup) {
  const { exitCode, reporter } = await runOnce(mode, setup);
  expect(exitCode).toBe(0);
  return reporter.last;
}

describe('Automatic order delivery', () => {
  it('delivers orders downloaded from the cart to the warehouse within a second', async () => {
    const { warehouse, delivery, load } = await tenant({ warehouseToken: 'wms-token', runnerToken: 'wms-token' });
    // A sweep far in the future: only the notification can deliver in time.
    const watcher = startWatcher({ ...delivery, sweepSeconds: 600 });
    try {
      await load(order('A-1', { customer: 'Ada' }));
      const loadedAt = Date.now();
      await eventually('the warehouse to receive A-1', () => warehouse.orders.appliedFor('web-shop/A-1').length === 1, {
        timeoutMs: 1000,
      });
      expect(Date.now() - loadedAt).toBeLessThan(1000);
      expect(warehouse.orders.appliedFor('web-shop/A-1')[0]).toMatchObject({
        id: 'web-shop/A-1',
        cart: 'web-shop',
        cartOrderId: 'A-1',
        customer: 'Ada',
      });
    } finally {
      expect(await watcher.stop()).toBe(0);
    }
    expect(watcher.reporter.last).toMatchObject({
      name: 'orderDelivery',
      failedRecords: { count: 0, sample: [] },
      lastResult: { outcome: 'Succeeded', processed: 1, failed: 0 },
    });
  });

  it('does not retry a failed order at once, retries it when a new order triggers it, and leaves refused ones to cleanup', async () => {
    const { warehouse, delivery, load } = await tenant();
    warehouse.orders.respondWith((body) => {
      if (body.id === 'web-shop/FLAKY') return { status: 503, reason: 'warehouse busy' };
      if (body.id === 'web-shop/BAD') return { status: 422, reason: 'ship method FAST is not mapped' };
      return undefined;
    });
    const watcher = startWatcher({ ...delivery, sweepSeconds: 1 });
    try {
      await load(order('FLAKY'), order('BAD'));
      await eventually('both to be tried', () => warehouse.orders.received.length === 2);
      await eventually('the failures to be reported', () => watcher.reporter.last?.failedRecords?.count === 2);
      expect(watcher.reporter.last?.failedRecords?.sample.map((failure) => failure.id).sort()).toEqual([
        'web-shop/BAD',
        'web-shop/FLAKY',
      ]);
      expect(
        watcher.reporter.last?.failedRecords?.sample.find((failure) => failure.id === 'web-shop/BAD')?.reason,
      ).toBe('HTTP 422: ship method FAST is not mapped');

      // Several sweeps pass: nothing new arrived, so nothing is retried.
      warehouse.orders.respondWith(undefined);
      await new Promise((resolve) => setTimeout(resolve, 2500));
      expect(warehouse.orders.receivedFor('web-shop/FLAKY')).toHaveLength(1);

      // A new order triggers the service: the transient failure goes along; the refused one waits for a person.
      await load(order('NEW'));
      await eventually(
        'FLAKY to be delivered with NEW',
        () => warehouse.orders.appliedFor('web-shop/FLAKY').length === 1,
      );
      expect(warehouse.orders.appliedFor('web-shop/NEW')).toHaveLength(1);
      expect(warehouse.orders.receivedFor('web-shop/BAD')).toHaveLength(1);
      await eventually('one failure left in status', () => watcher.reporter.last?.failedRecords?.count === 1);
    } finally {
      await watcher.stop();
    }

    // The person fixed the mapping in the warehouse; the twice-daily cleanup (or a retry-now request) retries every
    // failure: the operator starts that Job (test/e2e/operator/requests.test.ts), which runs this.
    const report = await deliver('cleanup', delivery);
    expect(warehouse.orders.appliedFor('web-shop/BAD')).toHaveLength(1);
    expect(report).toMatchObject({
      failedRecords: { count: 0, sample: [] },
      lastResult: { outcome: 'Succeeded', processed: 1, failed: 0 },
    });
  });

  it('sends an edited order again, and an order that needed a person once it is edited', async () => {
    const { warehouse, delivery, load } = await tenant();
    warehouse.orders.respondWith((body) =>
      body.address === undefined ? { status: 422, reason: 'address missing' } : undefined,
    );
    const watcher = startWatcher({ ...delivery, sweepSeconds: 600 });
    try {
      await load(order('E-1'));
      await eventually('the refusal', () => watcher.reporter.last?.failedRecords?.count === 1);
      await load(order('E-1', { address: 'Main St 1' }));
      await eventually('the edited order', () => warehouse.orders.appliedFor('web-shop/E-1').length === 1);
      await load(order('E-1', { address: 'Main St 2' }));
      await eventually('the second edit', () => warehouse.orders.appliedFor('web-shop/E-1').length === 2);
      // Downloading the same content again sends nothing.
      await load(order('E-1', { address: 'Main St 2' }));
      await eventually('a clean status', () => watcher.reporter.last?.failedRecords?.count === 0);
    } finally {
      await watcher.stop();
    }
    const writes = warehouse.orders.receivedFor('web-shop/E-1');
    expect(writes.map((write) => write.body.address)).toEqual([undefined, 'Main St 1', 'Main St 2']);
    expect(new Set(writes.map((write) => write.idempotencyKey)).size).toBe(3);
  });
});

describe('interval order delivery', () => {
  it('moves everything pending in batches and exits 0', async () => {
    const { warehouse, delivery, load } = await tenant();
    await load(...Array.from({ length: 250 }, (_, index) => order(`I-${index}`)));
    const report = await deliver('run', { ...delivery, batchSize: 40 });
    expect(report?.lastResult).toMatchObject({ outcome: 'Succeeded', processed: 250, failed: 0 });
    expect(warehouse.orders.applied).toHaveLength(250);
    expect(warehouse.orders.received).toHaveLength(250);
  });

  it('marks orders failed, not lost, when the warehouse is down, and delivers them on the next run', async () => {
    const { warehouse, delivery, load } = await tenant();
    await load(order('D-1'), order('D-2'));
    await warehouse.close();
    const down = await deliver('run', { ...delivery, endpointUrl: 'http://127.0.0.1:9' });
    expect(down).toMatchObject({
      failedRecords: { count: 2 },
      lastResult: { outcome: 'Failed', processed: 2, failed: 2 },
    });
    expect(down?.failedRecords?.sample[0]?.reason).toMatch(/could not reach the destination/);

    const back = await startFakeWarehouse();
    onTestFinished(() => back.close());
    const report = await deliver('run', { ...delivery, endpointUrl: back.url });
    expect(report).toMatchObject({ failedRecords: { count: 0 }, lastResult: { processed: 2, failed: 0 } });
    expect(back.orders.applied.map((write) => write.body.id).sort()).toEqual(['web-shop/D-1', 'web-shop/D-2']);
  });

  it('honours a short Retry-After by pausing the run, and retries the throttled order in a later run', async () => {
    const { warehouse, delivery, load } = await tenant();
    await load(order('R-1'), order('R-2'), order('R-3'));
    warehouse.orders.respondWith(throttleFirstWrite('1'));
    const startedAt = Date.now();
    const first = await deliver('run', { ...delivery, batchSize: 1 });
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(900);
    expect(first?.lastResult).toMatchObject({ processed: 3, failed: 1 });
    const throttledId = warehouse.orders.received[0]!.body.id as string;
    expect(warehouse.orders.receivedFor(throttledId)).toHaveLength(1);

    const later = await deliver('run', delivery);
    expect(later).toMatchObject({ failedRecords: { count: 0 }, lastResult: { processed: 1, failed: 0 } });
    expect(warehouse.orders.appliedFor(throttledId)).toHaveLength(1);
  });

  it('ends the run on a long Retry-After, leaving the rest pending and the throttled order waiting', async () => {
    const { warehouse, delivery, load } = await tenant();
    await load(order('L-1'), order('L-2'), order('L-3'));
    warehouse.orders.respondWith(throttleFirstWrite('3600'));
    const first = await deliver('run', { ...delivery, batchSize: 1 });
    expect(first?.lastResult).toMatchObject({ processed: 1, failed: 1 });
    expect(warehouse.orders.received).toHaveLength(1);
    const throttledId = warehouse.orders.received[0]!.body.id as string;

    const next = await deliver('run', delivery);
    expect(next?.lastResult).toMatchObject({ processed: 2, failed: 0 });
    expect(warehouse.orders.receivedFor(throttledId)).toHaveLength(1);
    expect(next?.failedRecords?.sample.map((failure) => failure.id)).toEqual([throttledId]);
  });

  it('presents the endpoint token, and keeps refused credentials as a failure that needs a person', async () => {
    const { warehouse, delivery, load } = await tenant({ warehouseToken: 'right' });
    await load(order('T-1'));
    const refused = await deliver('run', { ...delivery, token: 'wrong' });
    expect(refused?.failedRecords?.sample[0]?.reason).toMatch(/HTTP 401.*credentials/);
    expect(warehouse.unauthorized).toBe(1);
    // Needs a person: the next interval run does not retry it.
    await deliver('run', { ...delivery, token: 'right' });
    expect(warehouse.orders.applied).toHaveLength(0);
    // After the Secret is fixed, the cleanup that the operator starts for a service with failed records does.
    await deliver('cleanup', { ...delivery, token: 'right' });
    expect(warehouse.orders.appliedFor('web-shop/T-1')).toHaveLength(1);
  });

  it('gives up on a write after the request timeout and keeps the order for a retry', async () => {
    const { warehouse, delivery, load } = await tenant();
    await load(order('SLOW'));
    warehouse.writeDelayMs = 2500;
    const report = await deliver('run', { ...delivery, requestTimeoutSeconds: 1 });
    expect(report?.failedRecords?.sample[0]).toMatchObject({ id: 'web-shop/SLOW', reason: 'no answer within 1s' });
    warehouse.writeDelayMs = 0;
    // The slow write may still have landed: the retry carries the same key, so the warehouse applies it once.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    expect(await deliver('run', delivery)).toMatchObject({ failedRecords: { count: 0 } });
    expect(warehouse.orders.appliedFor('web-shop/SLOW')).toHaveLength(1);
    expect(new Set(warehouse.orders.receivedFor('web-shop/SLOW').map((write) => write.idempotencyKey)).size).toBe(1);
  });
});
