// Bad input from sources: each malformed record is rejected with a reason and counted as failed, and the rest of
// its page loads; a source that breaks the contract or cannot be read fails the run.
import { randomBytes } from 'node:crypto';
import { describe, expect, it, onTestFinished } from 'vitest';
import { startFakeCart, startFakeWarehouse } from '../support/contract-servers.ts';
import { useTestDatabase } from './support/database.ts';
import { runOnce, type RunnerSetup } from './support/runners.ts';

const db = useTestDatabase();

async function cartSetup() {
  const [cart, warehouse] = await Promise.all([startFakeCart(), startFakeWarehouse()]);
  onTestFinished(() => Promise.all([cart.close(), warehouse.close()]).then(() => undefined));
  const namespace = `ns-${randomBytes(3).toString('hex')}`;
  const base = { namespace, merchant: 'acme', databaseUrl: db.url };
  const download: RunnerSetup = { ...base, service: 'orderDownload', owner: 'web-shop', endpointUrl: cart.url };
  const merchant = (service: RunnerSetup['service']): RunnerSetup => ({
    ...base,
    service,
    owner: 'acme',
    endpointUrl: warehouse.url,
  });
  return { cart, warehouse, download, merchant };
}

const marker = 'PAYLOAD-CONTENT-MARKER';
const valid = (id: string) => ({ id, lines: [{ sku: 'SKU-1', quantity: 1 }], note: marker });

describe('malformed orders from a cart', () => {
  it('are rejected one by one with reasons, while the valid ones load and are delivered', async () => {
    const { cart, warehouse, download, merchant } = await cartSetup();
    cart.orders.put(
      valid('V-1'),
      { lines: [{ sku: 'SKU-1', quantity: 1 }], note: marker },
      { id: 42, lines: [{ sku: 'SKU-1', quantity: 1 }] },
      { id: 'WRONG-LINES', lines: marker },
      { id: 'NEGATIVE', lines: [{ sku: 'SKU-1', quantity: -3 }] },
      { id: 'HUGE', lines: [{ sku: 'SKU-1', quantity: 1 }], note: marker.repeat(20_000) },
      valid('V-2'),
    );
    const { exitCode, reporter } = await runOnce('run', download);
    expect(exitCode).toBe(0);
    const report = reporter.last!;
    expect(report.lastResult).toMatchObject({ outcome: 'PartiallyFailed', processed: 7, failed: 5 });
    expect(report.failedRecords?.count).toBe(5);
    const reasons = Object.fromEntries(report.failedRecords!.sample.map((failure) => [failure.id, failure.reason]));
    expect(Object.keys(reasons).sort()).toEqual([
      '42',
      'HUGE',
      'NEGATIVE',
      'WRONG-LINES',
      expect.stringMatching(/^content-sha256:/),
    ]);
    expect(reasons['42']).toMatch(/^id: .*expected string/);
    expect(reasons.HUGE).toMatch(/^record is \d+ bytes; at most 262144 are accepted$/);
    expect(reasons.NEGATIVE).toMatch(/^lines\.0\.quantity: /);
    expect(reasons['WRONG-LINES']).toMatch(/^lines: .*expected array/);
    expect(JSON.stringify(report)).not.toContain(marker);

    const delivered = await runOnce('run', merchant('orderDelivery'));
    expect(delivered.exitCode).toBe(0);
    expect(warehouse.orders.applied.map((write) => write.body.id).sort()).toEqual(['web-shop/V-1', 'web-shop/V-2']);
  });

  it('stay failed until the source sends a valid version; cleanup forgets those the source no longer has', async () => {
    const { cart, download } = await cartSetup();
    cart.orders.put(
      valid('OK'),
      { id: 'FIXED-LATER', lines: [] },
      { id: 'DELETED-LATER', lines: 'none' },
      { id: 'STILL-BAD', lines: [{ sku: '', quantity: 1 }] },
    );
    expect((await runOnce('run', download)).reporter.last?.failedRecords?.count).toBe(3);

    cart.orders.put(valid('FIXED-LATER'));
    const afterFix = (await runOnce('run', download)).reporter.last!;
    expect(afterFix.lastResult).toMatchObject({ processed: 1, failed: 0 });
    expect(afterFix.failedRecords?.sample.map((failure) => failure.id).sort()).toEqual(['DELETED-LATER', 'STILL-BAD']);

    cart.orders.remove((item) => (item as { id?: unknown }).id === 'DELETED-LATER');
    // The cleanup the operator starts for a service with failed records, at its time or on a retry-now request.
    const cleanup = await runOnce('cleanup', download);
    expect(cleanup.exitCode).toBe(0);
    expect(cleanup.reporter.last?.failedRecords?.sample.map((failure) => failure.id)).toEqual(['STILL-BAD']);
    // Cleanup re-read older pages without moving the cursor: the next run finds nothing new.
    expect((await runOnce('run', download)).reporter.last?.lastResult).toMatchObject({ processed: 0 });
  });
});

describe('malformed shipments and inventory from a warehouse', () => {
  it('are rejected with reasons; the rest loads', async () => {
    const { warehouse, merchant } = await cartSetup();
    warehouse.shipments.put(
      { id: 'S-NO-TRACKING', orderId: 'web-shop/1', carrier: 'UPS' },
      { id: 'S-BAD-ORDER', orderId: 'not-an-order-id', carrier: 'UPS', trackingNumber: '1' },
    );
    const shipments = (await runOnce('run', merchant('shippingConfirmations'))).reporter.last!;
    expect(shipments.lastResult).toMatchObject({ outcome: 'Failed', processed: 2, failed: 2 });
    const shipmentReasons = Object.fromEntries(
      shipments.failedRecords!.sample.map((failure) => [failure.id, failure.reason]),
    );
    expect(shipmentReasons['S-NO-TRACKING']).toMatch(/^trackingNumber: /);
    expect(shipmentReasons['S-BAD-ORDER']).toMatch(/^orderId: must be the id the hub gave the order/);

    warehouse.inventory.put({ sku: 'A', quantity: 'ten' }, { quantity: 3 }, { sku: 'B', quantity: 4 });
    const inventory = (await runOnce('run', merchant('inventory'))).reporter.last!;
    expect(inventory.lastResult).toMatchObject({ outcome: 'PartiallyFailed', processed: 3, failed: 2 });
    expect(inventory.failedRecords?.sample.find((failure) => failure.id === 'A')?.reason).toMatch(/^quantity: /);
  });
});

describe('a source that cannot be read', () => {
  it('is read again after a transient failure, and the run succeeds', async () => {
    const { cart, download } = await cartSetup();
    cart.orders.put(valid('AFTER-503'));
    cart.orders.failNextReads(1, { status: 503, reason: 'maintenance', headers: { 'retry-after': '0' } });
    const { exitCode, reporter } = await runOnce('run', download);
    expect(exitCode).toBe(0);
    expect(reporter.last?.lastResult).toMatchObject({ outcome: 'Succeeded', processed: 1 });
    expect(cart.orders.reads).toBe(2);
  });

  it('fails the run (exit 1, outcome Failed) when it refuses the credentials or breaks the contract', async () => {
    const { cart, download } = await cartSetup();
    cart.orders.failNextReads(1, { status: 401, reason: 'who are you' });
    const refused = await runOnce('run', download);
    expect(refused.exitCode).toBe(1);
    expect(refused.reporter.last?.lastResult).toMatchObject({ outcome: 'Failed', processed: 0 });
    // One Warning Event on the Cart says so, besides its status.
    expect(
      refused.reporter.failures.map(({ failure }) => `${failure.mode} ${failure.service}: ${failure.message}`),
    ).toEqual([expect.stringMatching(/^run orderDownload: .*401/)]);

    // 200 with a body that is not a page: {"error": ...}
    cart.orders.failNextReads(1, { status: 200, reason: 'surprise' });
    const broken = await runOnce('run', download);
    expect(broken.exitCode).toBe(1);
    expect(broken.reporter.last?.lastResult.outcome).toBe('Failed');

    // Nothing was lost: the next good read starts where the store's cursor is.
    cart.orders.put(valid('LATER'));
    const good = await runOnce('run', download);
    expect(good.exitCode).toBe(0);
    expect(good.reporter.last?.lastResult).toMatchObject({ processed: 1 });
    expect(good.reporter.failures).toEqual([]);
  });
});
