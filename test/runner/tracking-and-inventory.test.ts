// Tracking: warehouse → hub (Shipping Confirmations) → the order's cart (Shipment Upload).
// Inventory: warehouse → hub (Inventory) → every cart of the merchant (Inventory Upload), and to the other carts
// when an order for the same items loads from one of them. An order holds its units until a count includes it.
import { randomBytes } from 'node:crypto';
import { describe, expect, it, onTestFinished } from 'vitest';
import { startFakeCart, startFakeWarehouse } from '../support/contract-servers.ts';
import { useTestDatabase } from './support/database.ts';
import { eventually } from '../support/eventually.ts';
import { runOnce, startWatcher, type RunnerSetup } from './support/runners.ts';

const db = useTestDatabase();
/** One merchant with two carts, each cart a fake server of its own, for one test. */
async function merchantWithTwoCarts() {
  const [shopA, shopB, warehouse] = await Promise.all([startFakeCart(), startFakeCart(), startFakeWarehouse()]);
  onTestFinished(() => Promise.all([shopA.close(), shopB.close(), warehouse.close()]).then(() => undefined));
  const namespace = `ns-${randomBytes(3).toString('hex')}`;
  const base = { namespace, merchant: 'acme', databaseUrl: db.url };
  const merchant = (service: RunnerSetup['service']): RunnerSetup => ({
    ...base,
    service,
    owner: 'acme',
    endpointUrl: warehouse.url,
  });
  const cart = (name: 'shop-a' | 'shop-b', service: RunnerSetup['service']): RunnerSetup => ({
    ...base,
    service,
    owner: name,
    endpointUrl: (name === 'shop-a' ? shopA : shopB).url,
  });
  return { merchant, cart, shopA, shopB, warehouse };
}

async function expectRunOk(mode: 'run' | 'cleanup', setup: RunnerSetup) {
  const { exitCode, reporter } = await runOnce(mode, setup);
  expect(exitCode).toBe(0);
  return reporter.last;
}

describe('tracking', () => {
  it("reaches the cart of the order it ships, under the cart's own order id", async () => {
    const { merchant, cart, shopA, shopB, warehouse } = await merchantWithTwoCarts();
    shopA.orders.put({ id: 'A-100', lines: [{ sku: 'MUG', quantity: 1 }] });
    shopB.orders.put({ id: 'B-200', lines: [{ sku: 'MUG', quantity: 2 }] });
    await expectRunOk('run', cart('shop-a', 'orderDownload'));
    await expectRunOk('run', cart('shop-b', 'orderDownload'));
    await expectRunOk('run', merchant('orderDelivery'));
    expect(warehouse.orders.appliedFor('shop-a/A-100')).toHaveLength(1);
    expect(warehouse.orders.appliedFor('shop-b/B-200')).toHaveLength(1);

    const watchers = [startWatcher(cart('shop-a', 'shipmentUpload')), startWatcher(cart('shop-b', 'shipmentUpload'))];
    try {
      warehouse.shipments.put(
        { id: 'S-1', orderId: 'shop-b/B-200', carrier: 'UPS', trackingNumber: '1Z999' },
        { id: 'S-2', orderId: 'shop-a/A-100', carrier: 'DHL', trackingNumber: 'JD0001' },
      );
      expect(await expectRunOk('run', merchant('shippingConfirmations'))).toMatchObject({
        lastResult: { outcome: 'Succeeded', processed: 2, failed: 0 },
      });
      await eventually(
        'tracking at both carts',
        () => shopA.tracking.applied.length === 1 && shopB.tracking.applied.length === 1,
      );
      expect(shopA.tracking.applied[0]?.body).toMatchObject({ id: 'S-2', orderId: 'A-100', trackingNumber: 'JD0001' });
      expect(shopB.tracking.applied[0]?.body).toMatchObject({ id: 'S-1', orderId: 'B-200', trackingNumber: '1Z999' });
    } finally {
      await Promise.all(watchers.map((watcher) => watcher.stop()));
    }
  });

  it('for an order the hub never sent is rejected with a reason, and the rest of the page loads', async () => {
    const { merchant, cart, shopA, warehouse } = await merchantWithTwoCarts();
    shopA.orders.put({ id: 'A-300', lines: [{ sku: 'MUG', quantity: 1 }] });
    await expectRunOk('run', cart('shop-a', 'orderDownload'));
    warehouse.shipments.put(
      { id: 'S-10', orderId: 'shop-a/NOPE', carrier: 'UPS', trackingNumber: '1' },
      { id: 'S-11', orderId: 'shop-a/A-300', carrier: 'UPS', trackingNumber: '2' },
    );
    const report = await expectRunOk('run', merchant('shippingConfirmations'));
    expect(report?.lastResult).toMatchObject({ outcome: 'PartiallyFailed', processed: 2, failed: 1 });
    expect(report?.failedRecords?.sample.map((failure) => failure.id)).toEqual(['S-10']);
    expect(report?.failedRecords?.sample[0]?.reason).toMatch(/never sent this order/);
    await expectRunOk('run', cart('shop-a', 'shipmentUpload'));
    expect(shopA.tracking.appliedFor('S-11')).toHaveLength(1);
    expect(shopA.tracking.appliedFor('S-10')).toHaveLength(0);
  });
});

describe('inventory', () => {
  it('reaches every cart of the merchant, and an order from one cart updates the others at once', async () => {
    const { merchant, cart, shopA, shopB, warehouse } = await merchantWithTwoCarts();
    // Register both carts with the hub (any cart service does), as their first runs would.
    await expectRunOk('run', cart('shop-a', 'inventoryUpload'));
    await expectRunOk('run', cart('shop-b', 'inventoryUpload'));

    const sku = `TEE-${randomBytes(2).toString('hex')}`;
    warehouse.inventory.put({ sku, quantity: 10 }, { sku: `${sku}-XL`, quantity: 3 });
    await expectRunOk('run', merchant('inventory'));
    const watchers = [startWatcher(cart('shop-a', 'inventoryUpload')), startWatcher(cart('shop-b', 'inventoryUpload'))];
    try {
      await eventually('both levels at both carts', () =>
        [shopA, shopB].every(
          (shop) => shop.inventory.appliedFor(sku).length === 1 && shop.inventory.appliedFor(`${sku}-XL`).length === 1,
        ),
      );
      expect(shopB.inventory.appliedFor(sku)[0]).toMatchObject({ sku, available: 10 });

      shopA.orders.put({ id: 'A-500', lines: [{ sku, quantity: 4 }] });
      await expectRunOk('run', cart('shop-a', 'orderDownload'));
      await eventually(
        'shop B to learn that 6 are left',
        () => shopB.inventory.appliedFor(sku).at(-1)?.available === 6,
      );
      // The cart that took the order counted it itself.
      expect(shopA.inventory.appliedFor(sku)).toHaveLength(1);

      // A count taken before the warehouse has the order cannot include it: the order still holds its units.
      warehouse.inventory.put({ sku, quantity: 12 });
      await expectRunOk('run', merchant('inventory'));
      await eventually('both carts at 12 - 4 = 8', () =>
        [shopA, shopB].every((shop) => shop.inventory.appliedFor(sku).at(-1)?.available === 8),
      );
      // Once the warehouse has acknowledged the order, its next count includes it, and stands as it is.
      await expectRunOk('run', merchant('orderDelivery'));
      expect(warehouse.orders.appliedFor('shop-a/A-500')).toHaveLength(1);
      warehouse.inventory.put({ sku, quantity: 7 });
      await expectRunOk('run', merchant('inventory'));
      await eventually('both carts at 7', () =>
        [shopA, shopB].every((shop) => shop.inventory.appliedFor(sku).at(-1)?.available === 7),
      );
    } finally {
      await Promise.all(watchers.map((watcher) => watcher.stop()));
    }
  });

  it('reaches a cart that joins the merchant later', async () => {
    const { merchant, cart, shopB, warehouse } = await merchantWithTwoCarts();
    const sku = `CAP-${randomBytes(2).toString('hex')}`;
    warehouse.inventory.put({ sku, quantity: 7 });
    await expectRunOk('run', merchant('inventory'));
    await expectRunOk('run', cart('shop-b', 'inventoryUpload'));
    expect(shopB.inventory.appliedFor(sku)).toEqual([expect.objectContaining({ sku, available: 7 })]);
  });
});
