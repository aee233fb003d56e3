// One watcher per merchant: the Automatic services of the Merchant and of all its Carts in one process, on at most
// two hub-store connections (one for queries, one for LISTEN), each service reporting to its own owner.
import { randomBytes } from 'node:crypto';
import { describe, expect, it, onTestFinished } from 'vitest';
import { startFakeCart, startFakeWarehouse } from '../support/contract-servers.ts';
import { eventually } from '../support/eventually.ts';
import { useTestDatabase } from './support/database.ts';
import { countingOnly, withMerchantCarts } from './support/merchant-runners.ts';
import { runOnce, startWatcher, watcherEnvironment, watchOn, type RunnerSetup } from './support/runners.ts';

const db = useTestDatabase();

async function merchantWithTwoCarts() {
  const [shopA, shopB, warehouse] = await Promise.all([startFakeCart(), startFakeCart(), startFakeWarehouse()]);
  onTestFinished(() => Promise.all([shopA.close(), shopB.close(), warehouse.close()]).then(() => undefined));
  const merchantName = `acme-${randomBytes(3).toString('hex')}`;
  const base = { namespace: `ns-${randomBytes(3).toString('hex')}`, merchant: merchantName, databaseUrl: db.url };
  const merchant = (service: RunnerSetup['service']): RunnerSetup => ({
    ...base,
    service,
    owner: merchantName,
    endpointUrl: warehouse.url,
  });
  const cart = (name: 'shop-a' | 'shop-b', service: RunnerSetup['service']): RunnerSetup => ({
    ...base,
    service,
    owner: name,
    endpointUrl: (name === 'shop-a' ? shopA : shopB).url,
  });
  return { merchantName, merchant, cart, shopA, shopB, warehouse };
}

async function sessionsOf(applicationName: string): Promise<number> {
  const { rows } = await db.pool.query<{ count: number }>(
    `SELECT count(*)::int AS count FROM pg_stat_activity WHERE application_name LIKE $1`,
    [`${applicationName}%`],
  );
  return rows[0]?.count ?? 0;
}

describe("a merchant's watcher", () => {
  it('serves the Merchant and both Carts from one process, on at most two hub-store connections', async () => {
    const { merchantName, merchant, cart, shopA, shopB, warehouse } = await merchantWithTwoCarts();
    const watcher = startWatcher([
      merchant('orderDelivery'),
      cart('shop-a', 'shipmentUpload'),
      cart('shop-a', 'inventoryUpload'),
      cart('shop-b', 'shipmentUpload'),
      cart('shop-b', 'inventoryUpload'),
    ]);
    try {
      shopA.orders.put({ id: 'A-1', lines: [{ sku: 'MUG', quantity: 1 }] });
      shopB.orders.put({ id: 'B-1', lines: [{ sku: 'MUG', quantity: 2 }] });
      expect((await runOnce('run', cart('shop-a', 'orderDownload'))).exitCode).toBe(0);
      expect((await runOnce('run', cart('shop-b', 'orderDownload'))).exitCode).toBe(0);
      // Order Delivery, Automatic: each order reaches the warehouse without an interval run.
      await eventually('both orders at the warehouse', () => warehouse.orders.applied.length === 2);

      warehouse.shipments.put(
        { id: 'S-1', orderId: 'shop-b/B-1', carrier: 'UPS', trackingNumber: '1Z1' },
        { id: 'S-2', orderId: 'shop-a/A-1', carrier: 'DHL', trackingNumber: 'JD1' },
      );
      warehouse.inventory.put({ sku: 'MUG', quantity: 40 });
      expect((await runOnce('run', merchant('shippingConfirmations'))).exitCode).toBe(0);
      expect((await runOnce('run', merchant('inventory'))).exitCode).toBe(0);
      await eventually(
        'tracking and inventory at both carts',
        () =>
          shopA.tracking.applied.length === 1 &&
          shopB.tracking.applied.length === 1 &&
          shopA.inventory.applied.length > 0 &&
          shopB.inventory.applied.length > 0,
      );
      expect(shopA.tracking.applied[0]?.body).toMatchObject({ id: 'S-2', orderId: 'A-1' });
      expect(shopB.tracking.applied[0]?.body).toMatchObject({ id: 'S-1', orderId: 'B-1' });

      // The budget: one pool connection and one LISTEN connection, whatever the number of carts.
      expect(await sessionsOf(`switchyard-runner watcher ${merchantName}`)).toBeLessThanOrEqual(2);
      expect(await sessionsOf(`switchyard-runner watcher ${merchantName} listener`)).toBe(1);

      // Each service reports to its own owner.
      // A pass reports after it settled, so the last report may follow the last write at a cart by a moment.
      await eventually('reports for every owner and service', () => {
        const reported = new Set(
          watcher.reporter.reports.map((entry) => `${entry.owner.kind}/${entry.owner.name}/${entry.report.name}`),
        );
        return (
          reported.has(`Merchant/${merchantName}/orderDelivery`) &&
          reported.has('Cart/shop-a/shipmentUpload') &&
          reported.has('Cart/shop-b/shipmentUpload') &&
          reported.has('Cart/shop-b/inventoryUpload')
        );
      });
      const shopBReports = watcher.reporter.reports.filter((entry) => entry.owner.name === 'shop-b');
      expect(new Set(shopBReports.map((entry) => entry.report.name))).toEqual(
        new Set(['shipmentUpload', 'inventoryUpload']),
      );
    } finally {
      expect(await watcher.stop()).toBe(0);
    }
  });

  it('only counts a Disabled service: its records stay pending, and its backlog and oldest record show in status', async () => {
    const { merchantName, merchant, cart, shopA, shopB, warehouse } = await merchantWithTwoCarts();
    const environment = countingOnly(
      watcherEnvironment([
        merchant('orderDelivery'),
        cart('shop-a', 'inventoryUpload'),
        cart('shop-b', 'inventoryUpload'),
      ]),
      [
        { owner: merchantName, service: 'orderDelivery' },
        { owner: 'shop-b', service: 'inventoryUpload' },
      ],
    );
    const watcher = watchOn(withMerchantCarts(environment, ['shop-a', 'shop-b']));
    const lastOf = (owner: string, service: string) =>
      watcher.reporter.reports.findLast((entry) => entry.owner.name === owner && entry.report.name === service)?.report;
    // Counted once it listens: nothing waits yet.
    await eventually(
      'the Disabled services counted',
      () => lastOf('shop-b', 'inventoryUpload') && lastOf(merchantName, 'orderDelivery'),
    );
    expect(lastOf('shop-b', 'inventoryUpload')).toMatchObject({ pendingRecords: 0 });

    shopA.orders.put({ id: 'A-1', lines: [{ sku: 'MUG', quantity: 1 }] });
    expect((await runOnce('run', cart('shop-a', 'orderDownload'))).exitCode).toBe(0);
    warehouse.inventory.put({ sku: 'MUG', quantity: 40 });
    expect((await runOnce('run', merchant('inventory'))).exitCode).toBe(0);
    await eventually('inventory at shop-a, which is Automatic', () => shopA.inventory.applied.length > 0);
    await eventually(
      'the backlogs of the Disabled services',
      () =>
        lastOf(merchantName, 'orderDelivery')?.pendingRecords === 1 &&
        lastOf('shop-b', 'inventoryUpload')?.pendingRecords === 1,
    );
    expect(await watcher.stop()).toBe(0);

    const { rows: waiting } = await db.pool.query<{ service: string; state: string; attempts: number }>(
      `SELECT d.service, d.state, d.attempts FROM deliveries d
       WHERE d.namespace = $1 AND d.destination IN ($2, 'shop-b') ORDER BY d.service`,
      [cart('shop-b', 'inventoryUpload').namespace, merchantName],
    );
    expect(waiting).toEqual([
      { service: 'inventoryUpload', state: 'pending', attempts: 0 },
      { service: 'orderDelivery', state: 'pending', attempts: 0 },
    ]);
    expect(warehouse.orders.received).toEqual([]);
    expect(shopB.inventory.received).toEqual([]);
    for (const report of [lastOf(merchantName, 'orderDelivery'), lastOf('shop-b', 'inventoryUpload')]) {
      expect(report).toMatchObject({ pendingRecords: 1, lastResult: { processed: 0, failed: 0 } });
      expect(Date.parse(report!.oldestPendingTime!)).toBeLessThanOrEqual(Date.now());
      // Counting is no success of the service.
      expect(report).not.toHaveProperty('lastSuccessTime');
    }
  });
});
