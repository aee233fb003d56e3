// The hub's cart registry follows the Kubernetes objects: a Merchant's runners, told its Carts, retire a Cart that was
// deleted (its open deliveries closed, none opened after), and a Cart moved to another Merchant starts clean there.
import { randomBytes } from 'node:crypto';
import { describe, expect, it, onTestFinished } from 'vitest';
import type { ServiceName } from '../../operator/api/v1alpha1/services.ts';
import { registerCart, syncMerchantCarts } from '../../operator/runner/store/carts.ts';
import { takeInventoryLevels } from '../../operator/runner/store/intake.ts';
import { startFakeCart, startFakeWarehouse } from '../support/contract-servers.ts';
import { eventually } from '../support/eventually.ts';
import { useTestDatabase } from './support/database.ts';
import { withMerchantCarts } from './support/merchant-runners.ts';
import { runnerEnvironment, runOn, runOnce, watcherEnvironment, watchOn, type RunnerSetup } from './support/runners.ts';

const db = useTestDatabase();

const page = <T>(accepted: T[]) => ({ accepted, rejected: [], readFrom: undefined, advanceTo: undefined, passId: 'p' });

/** Deliveries not yet at `cart`, as `<service> <record>`: a shipment's id, a level's merchant/sku. */
async function openDeliveriesTo(namespace: string, cart: string): Promise<string[]> {
  const { rows } = await db.pool.query<{ delivery: string }>(
    `SELECT d.service || ' ' || coalesce(s.source_id, l.merchant || '/' || l.sku) AS delivery
     FROM deliveries d
     LEFT JOIN shipments s ON d.service = 'shipmentUpload' AND s.id = d.record_id
     LEFT JOIN inventory_levels l ON d.service = 'inventoryUpload' AND l.id = d.record_id
     WHERE d.namespace = $1 AND d.destination = $2 AND d.state <> 'delivered'
     ORDER BY 1`,
    [namespace, cart],
  );
  return rows.map((row) => row.delivery);
}

async function expectRunOk(run: Promise<{ exitCode: number }>): Promise<void> {
  expect((await run).exitCode).toBe(0);
}

describe("a Cart deleted from a Merchant's Carts", () => {
  it("has its open deliveries closed by the Merchant's next run, and gets none from later counts or shipments", async () => {
    const [shopA, shopB, warehouse] = await Promise.all([startFakeCart(), startFakeCart(), startFakeWarehouse()]);
    onTestFinished(() => Promise.all([shopA.close(), shopB.close(), warehouse.close()]).then(() => undefined));
    const namespace = `ns-${randomBytes(3).toString('hex')}`;
    const base = { namespace, merchant: 'acme', databaseUrl: db.url };
    const cart = (name: string, service: ServiceName): RunnerSetup => ({
      ...base,
      service,
      owner: name,
      endpointUrl: (name === 'shop-a' ? shopA : shopB).url,
    });
    const merchantRun = (service: ServiceName, carts: string[]) =>
      runOn(
        'run',
        service,
        withMerchantCarts(runnerEnvironment({ ...base, service, owner: 'acme', endpointUrl: warehouse.url }), carts),
      );

    shopA.orders.put({ id: 'A-1', lines: [{ sku: 'MUG', quantity: 1 }] });
    shopB.orders.put({ id: 'B-1', lines: [{ sku: 'MUG', quantity: 1 }] });
    await expectRunOk(runOnce('run', cart('shop-a', 'orderDownload')));
    await expectRunOk(runOnce('run', cart('shop-b', 'orderDownload')));
    warehouse.shipments.put({ id: 'S-1', orderId: 'shop-b/B-1', carrier: 'UPS', trackingNumber: '1Z1' });
    warehouse.inventory.put({ sku: 'MUG', quantity: 10 });
    await expectRunOk(merchantRun('shippingConfirmations', ['shop-a', 'shop-b']));
    await expectRunOk(merchantRun('inventory', ['shop-a', 'shop-b']));
    expect(await openDeliveriesTo(namespace, 'shop-b')).toEqual(['inventoryUpload acme/MUG', 'shipmentUpload S-1']);

    // shop-b is deleted; before any shop-b runner sent them, the Merchant's next run (here Inventory) closes them and
    // then takes a new count, which reaches shop-a only.
    warehouse.inventory.put({ sku: 'MUG', quantity: 8 });
    await expectRunOk(merchantRun('inventory', ['shop-a']));
    expect(await openDeliveriesTo(namespace, 'shop-b')).toEqual([]);
    expect(await openDeliveriesTo(namespace, 'shop-a')).toEqual(['inventoryUpload acme/MUG']);

    // A second package for shop-b's order: recorded, sent nowhere.
    warehouse.shipments.put({ id: 'S-2', orderId: 'shop-b/B-1', carrier: 'UPS', trackingNumber: '1Z2' });
    await expectRunOk(merchantRun('shippingConfirmations', ['shop-a']));
    expect(await openDeliveriesTo(namespace, 'shop-b')).toEqual([]);
    expect(shopB.tracking.received).toEqual([]);
    expect(shopB.inventory.received).toEqual([]);
  });

  it("is retired by the Merchant's watcher at its start too, and only carts of that Merchant are", async () => {
    const warehouse = await startFakeWarehouse();
    onTestFinished(() => warehouse.close());
    const namespace = `ns-${randomBytes(3).toString('hex')}`;
    for (const [cart, merchant] of [
      ['shop-a', 'acme'],
      ['shop-b', 'acme'],
      ['shop-g', 'globex'],
    ] as const) {
      await registerCart(db.pool, { namespace, cart, merchant });
    }
    await takeInventoryLevels(db.pool, { namespace, merchant: 'acme' }, page([{ sku: 'MUG', quantity: 4 }]));
    expect(await openDeliveriesTo(namespace, 'shop-b')).toEqual(['inventoryUpload acme/MUG']);

    const setup = { namespace, merchant: 'acme', databaseUrl: db.url, owner: 'acme', endpointUrl: warehouse.url };
    const watcher = watchOn(
      withMerchantCarts(watcherEnvironment([{ ...setup, service: 'orderDelivery' }]), ['shop-a']),
    );
    const registered = async () => {
      const { rows } = await db.pool.query<{ cart: string }>('SELECT cart FROM carts WHERE namespace = $1 ORDER BY 1', [
        namespace,
      ]);
      return rows.map((row) => row.cart).join();
    };
    await eventually('shop-b to be retired', async () => (await registered()) === 'shop-a,shop-g');
    expect(await watcher.stop()).toBe(0);
    expect(await openDeliveriesTo(namespace, 'shop-b')).toEqual([]);
    expect(await openDeliveriesTo(namespace, 'shop-a')).toEqual(['inventoryUpload acme/MUG']);
  });

  it('says which carts it retired and how many deliveries it closed', async () => {
    const namespace = `ns-${randomBytes(3).toString('hex')}`;
    for (const cart of ['shop-a', 'shop-b', 'shop-c'])
      await registerCart(db.pool, { namespace, cart, merchant: 'acme' });
    await takeInventoryLevels(
      db.pool,
      { namespace, merchant: 'acme' },
      page([
        { sku: 'MUG', quantity: 4 },
        { sku: 'CUP', quantity: 1 },
      ]),
    );
    expect(await syncMerchantCarts(db.pool, { namespace, merchant: 'acme' }, ['shop-b'])).toEqual([
      { cart: 'shop-a', closedDeliveries: 2 },
      { cart: 'shop-c', closedDeliveries: 2 },
    ]);
    expect(await syncMerchantCarts(db.pool, { namespace, merchant: 'acme' }, ['shop-b'])).toEqual([]);
  });
});

describe('a Cart moved to another Merchant', () => {
  it("starts clean: the old merchant's pending tracking and inventory are closed, and the new merchant's levels reach it", async () => {
    const [shop, acmeWarehouse, globexWarehouse] = await Promise.all([
      startFakeCart(),
      startFakeWarehouse(),
      startFakeWarehouse(),
    ]);
    onTestFinished(() =>
      Promise.all([shop.close(), acmeWarehouse.close(), globexWarehouse.close()]).then(() => undefined),
    );
    const namespace = `ns-${randomBytes(3).toString('hex')}`;
    const shopOf = (merchant: string, service: ServiceName): RunnerSetup => ({
      namespace,
      merchant,
      service,
      owner: 'shop',
      endpointUrl: shop.url,
      databaseUrl: db.url,
    });
    const merchantRun = (merchant: string, service: ServiceName, carts: string[]) =>
      runOn(
        'run',
        service,
        withMerchantCarts(
          runnerEnvironment({
            namespace,
            merchant,
            service,
            owner: merchant,
            endpointUrl: (merchant === 'acme' ? acmeWarehouse : globexWarehouse).url,
            databaseUrl: db.url,
          }),
          carts,
        ),
      );

    // The shop sells for acme: an order, its tracking and acme's levels wait for it.
    shop.orders.put({ id: 'O-1', lines: [{ sku: 'MUG', quantity: 1 }] });
    await expectRunOk(runOnce('run', shopOf('acme', 'orderDownload')));
    acmeWarehouse.shipments.put({ id: 'S-1', orderId: 'shop/O-1', carrier: 'UPS', trackingNumber: '1Z1' });
    acmeWarehouse.inventory.put({ sku: 'MUG', quantity: 5 }, { sku: 'CUP', quantity: 2 });
    globexWarehouse.inventory.put({ sku: 'MUG', quantity: 9 }, { sku: 'HAT', quantity: 3 });
    await expectRunOk(merchantRun('acme', 'shippingConfirmations', ['shop']));
    await expectRunOk(merchantRun('acme', 'inventory', ['shop']));
    await expectRunOk(merchantRun('globex', 'inventory', []));
    expect(await openDeliveriesTo(namespace, 'shop')).toEqual([
      'inventoryUpload acme/CUP',
      'inventoryUpload acme/MUG',
      'shipmentUpload S-1',
    ]);

    // Moved to globex: the Cart's first runner there registers it anew.
    await expectRunOk(runOnce('run', shopOf('globex', 'orderDownload')));
    expect(await openDeliveriesTo(namespace, 'shop')).toEqual([
      'inventoryUpload globex/HAT',
      'inventoryUpload globex/MUG',
    ]);
    await expectRunOk(runOnce('run', shopOf('globex', 'inventoryUpload')));
    await expectRunOk(runOnce('run', shopOf('globex', 'shipmentUpload')));
    expect(shop.inventory.applied.map((write) => [write.body.sku, write.body.available]).sort()).toEqual([
      ['HAT', 3],
      ['MUG', 9],
    ]);
    expect(shop.tracking.received).toEqual([]);
    // Its orders stay acme's: the cursor was kept, so O-1 was not read again into globex.
    const { rows } = await db.pool.query<{ merchant: string }>(
      'SELECT merchant FROM orders WHERE namespace = $1 AND cart = $2',
      [namespace, 'shop'],
    );
    expect(rows).toEqual([{ merchant: 'acme' }]);

    // And acme's runners, told it has no Carts now, find nothing of theirs to retire.
    expect(await syncMerchantCarts(db.pool, { namespace, merchant: 'acme' }, [])).toEqual([]);
    expect(await openDeliveriesTo(namespace, 'shop')).toEqual([]);
  });

  it("gets the new merchant's level of a SKU it had at the same revision, and again when it moves back", async () => {
    const shop = await startFakeCart();
    onTestFinished(() => shop.close());
    const namespace = `ns-${randomBytes(3).toString('hex')}`;
    const upload = (merchant: string): RunnerSetup => ({
      namespace,
      merchant,
      service: 'inventoryUpload',
      owner: 'shop',
      endpointUrl: shop.url,
      databaseUrl: db.url,
    });
    // Both merchants count MUG once: two levels, each at revision 1.
    await takeInventoryLevels(db.pool, { namespace, merchant: 'acme' }, page([{ sku: 'MUG', quantity: 5 }]));
    await takeInventoryLevels(db.pool, { namespace, merchant: 'globex' }, page([{ sku: 'MUG', quantity: 9 }]));
    const available = () => shop.inventory.applied.map((write) => write.body.available);
    for (const [merchant, expected] of [
      ['acme', [5]],
      ['globex', [5, 9]],
      ['acme', [5, 9, 5]],
    ] as const) {
      await expectRunOk(runOnce('run', upload(merchant)));
      // A destination drops a repeated key as a replay: the cart would keep the other merchant's count.
      expect(available()).toEqual(expected);
    }
  });
});
