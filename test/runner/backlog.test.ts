// The backlog a delivery service reports to its owner's status (pendingRecords, pendingSince, lastDeliveryTime), read
// from a real PostgreSQL. Times are set in the store where a test needs them apart.
import { randomBytes } from 'node:crypto';
import { describe, expect, it, onTestFinished } from 'vitest';
import type { SourceOrder } from '../../operator/runner/records/inbound.ts';
import { BacklogTracker, deliveryBacklog } from '../../operator/runner/store/backlog.ts';
import {
  claimDeliveries,
  settleDeliveries,
  type DeliveryTarget,
  type Settlement,
} from '../../operator/runner/store/deliveries.ts';
import { registerCart } from '../../operator/runner/store/carts.ts';
import { takeInventoryLevels, takeOrders, type CartScope } from '../../operator/runner/store/intake.ts';
import { startFakeWarehouse } from '../support/contract-servers.ts';
import { eventually } from '../support/eventually.ts';
import { useTestDatabase } from './support/database.ts';
import { orderScope } from './support/scopes.ts';
import { runOnce, startWatcher, type RunnerSetup } from './support/runners.ts';

const db = useTestDatabase();

const page = <T>(accepted: T[]) => ({ accepted, rejected: [], readFrom: undefined, advanceTo: undefined, passId: 'p' });
const order = (id: string, quantity = 1): SourceOrder => ({ id, lines: [{ sku: 'SKU-1', quantity }] });
const lease = { owner: 'runner', durationMs: 60_000 };
const at = (time: string) => new Date(`2020-03-01T${time}Z`);

/** Sets when an order's current revision arrived in the hub. */
async function arrivedAt(cart: CartScope, id: string, time: Date): Promise<void> {
  await db.pool.query('UPDATE orders SET updated_at = $4 WHERE namespace = $1 AND cart = $2 AND source_id = $3', [
    cart.namespace,
    cart.cart,
    id,
    time,
  ]);
}

/** Claims what `selection` allows and settles each claimed order as `outcome` says (by its source id). */
async function pass(
  target: DeliveryTarget,
  outcome: (sourceId: string) => 'delivered' | 'transient' | 'permanent' | 'released',
  passId = randomBytes(4).toString('hex'),
  kind: 'pending' | 'pendingOrRetryable' = 'pendingOrRetryable',
) {
  const selection = kind === 'pending' ? { kind } : { kind, passId };
  const claimed = await claimDeliveries(db.pool, { ...target, service: 'orderDelivery' }, selection, 100, lease);
  const settlements = claimed.map((row): Settlement => {
    const base = { recordId: row.record_id, revision: row.revision };
    const result = outcome(row.source_id);
    if (result === 'delivered' || result === 'released') return { ...base, outcome: result };
    return { ...base, outcome: 'failed', failure: result, reason: 'HTTP 503' };
  });
  await settleDeliveries(db.pool, target, lease.owner, passId, settlements);
  return claimed.map((row) => row.source_id).sort();
}

async function deliveredAt(target: DeliveryTarget, time: Date): Promise<void> {
  await db.pool.query(
    `UPDATE deliveries SET delivered_at = $4
     WHERE service = $1 AND namespace = $2 AND destination = $3 AND delivered_at IS NOT NULL`,
    [target.service, target.namespace, target.destination, time],
  );
}

describe('the backlog of a delivery service', () => {
  it('is empty for a destination that has nothing', async () => {
    const { target } = orderScope();
    expect(await deliveryBacklog(db.pool, target, { kind: 'read' })).toEqual({ pending: 0 });
  });

  it('counts new records as waiting since they arrived, and finds the last delivery', async () => {
    const { cart, target } = orderScope();
    await takeOrders(db.pool, cart, page([order('A'), order('B')]));
    await arrivedAt(cart, 'A', at('10:00:00'));
    await arrivedAt(cart, 'B', at('10:05:00'));
    expect(await deliveryBacklog(db.pool, target, { kind: 'read' })).toEqual({
      pending: 2,
      pendingSince: at('10:00:00'),
      oldestPending: at('10:00:00'),
    });

    await pass(target, () => 'delivered');
    await deliveredAt(target, at('10:06:00'));
    expect(await deliveryBacklog(db.pool, target, { kind: 'read' })).toEqual({
      pending: 0,
      lastDelivery: at('10:06:00'),
    });

    await takeOrders(db.pool, cart, page([order('C')]));
    await arrivedAt(cart, 'C', at('10:07:00'));
    expect(await deliveryBacklog(db.pool, target, { kind: 'read' })).toEqual({
      pending: 1,
      pendingSince: at('10:07:00'),
      oldestPending: at('10:07:00'),
      lastDelivery: at('10:06:00'),
    });
  });

  it('does not count records that were already waiting at the last delivery in pendingSince', async () => {
    const { cart, target } = orderScope();
    await takeOrders(db.pool, cart, page([order('old'), order('fresh')]));
    await arrivedAt(cart, 'old', at('09:00:00'));
    await arrivedAt(cart, 'fresh', at('09:00:00'));
    // The destination keeps failing one record (transiently) and takes the other.
    await pass(target, (id) => (id === 'old' ? 'transient' : 'delivered'));
    await pass(target, (id) => (id === 'old' ? 'transient' : 'delivered'));
    await deliveredAt(target, at('09:30:00'));
    // It still counts as the oldest waiting record: how far behind the destination is.
    expect(await deliveryBacklog(db.pool, target, { kind: 'read' })).toEqual({
      pending: 1,
      oldestPending: at('09:00:00'),
      lastDelivery: at('09:30:00'),
    });
  });

  it('counts a transient failure in pendingSince only once its retry failed too, and never a refused record', async () => {
    const { cart, target } = orderScope();
    await takeOrders(db.pool, cart, page([order('flaky'), order('refused')]));
    await arrivedAt(cart, 'flaky', at('11:00:00'));
    await arrivedAt(cart, 'refused', at('10:00:00'));
    await pass(target, (id) => (id === 'flaky' ? 'transient' : 'permanent'));
    // One failure on a quiet destination: it waits for its retry; that says nothing yet.
    expect(await deliveryBacklog(db.pool, target, { kind: 'read' })).toEqual({
      pending: 1,
      oldestPending: at('11:00:00'),
    });
    expect(await pass(target, () => 'transient')).toEqual(['flaky']);
    expect(await deliveryBacklog(db.pool, target, { kind: 'read' })).toEqual({
      pending: 1,
      pendingSince: at('11:00:00'),
      oldestPending: at('11:00:00'),
    });
  });

  it('keeps pendingSince where it was while records are claimed and released (a destination that keeps saying wait)', async () => {
    const { cart, target } = orderScope();
    await takeOrders(db.pool, cart, page([order('A')]));
    await arrivedAt(cart, 'A', at('12:00:00'));
    expect(await pass(target, () => 'released', undefined, 'pending')).toEqual(['A']);
    expect(await pass(target, () => 'released', undefined, 'pending')).toEqual(['A']);
    expect(await deliveryBacklog(db.pool, target, { kind: 'read' })).toEqual({
      pending: 1,
      pendingSince: at('12:00:00'),
      oldestPending: at('12:00:00'),
    });
  });

  it('moves the oldest waiting record on when the oldest is delivered', async () => {
    const { cart, target } = orderScope();
    await takeOrders(db.pool, cart, page([order('first'), order('second')]));
    await arrivedAt(cart, 'first', at('13:00:00'));
    await arrivedAt(cart, 'second', at('13:10:00'));
    expect(await deliveryBacklog(db.pool, target, { kind: 'read' })).toMatchObject({ oldestPending: at('13:00:00') });
    await pass(target, (id) => (id === 'first' ? 'delivered' : 'released'));
    expect(await deliveryBacklog(db.pool, target, { kind: 'read' })).toMatchObject({
      pending: 1,
      oldestPending: at('13:10:00'),
    });
  });

  it('starts the wait of an edited record anew, from its edit', async () => {
    const { cart, target } = orderScope();
    await takeOrders(db.pool, cart, page([order('A')]));
    await pass(target, () => 'delivered');
    await deliveredAt(target, at('08:00:00'));
    await takeOrders(db.pool, cart, page([order('A', 2)]));
    await arrivedAt(cart, 'A', at('08:10:00'));
    expect(await deliveryBacklog(db.pool, target, { kind: 'read' })).toEqual({
      pending: 1,
      pendingSince: at('08:10:00'),
      oldestPending: at('08:10:00'),
      lastDelivery: at('08:00:00'),
    });
  });

  it('counts inventory for a cart that registered later from its registration', async () => {
    const namespace = `ns-${randomBytes(3).toString('hex')}`;
    const merchant = { namespace, merchant: 'acme' };
    await takeInventoryLevels(db.pool, merchant, page([{ sku: 'SKU-1', quantity: 5 }]));
    await db.pool.query(`UPDATE inventory_levels SET updated_at = $2 WHERE namespace = $1`, [
      namespace,
      at('06:00:00'),
    ]);
    await registerCart(db.pool, { namespace, cart: 'late-shop', merchant: 'acme' });
    await db.pool.query(`UPDATE carts SET registered_at = $2 WHERE namespace = $1`, [namespace, at('07:00:00')]);
    const target = { service: 'inventoryUpload', namespace, destination: 'late-shop' } as const;
    expect(await deliveryBacklog(db.pool, target, { kind: 'read' })).toEqual({
      pending: 1,
      pendingSince: at('07:00:00'),
      oldestPending: at('07:00:00'),
    });
  });

  it('takes the last delivery from the caller when it knows it, or as now after a pass that delivered', async () => {
    const { cart, target } = orderScope();
    await takeOrders(db.pool, cart, page([order('A')]));
    await arrivedAt(cart, 'A', at('10:00:00'));
    expect(await deliveryBacklog(db.pool, target, { kind: 'known', at: at('10:30:00') })).toEqual({
      pending: 1,
      oldestPending: at('10:00:00'),
      lastDelivery: at('10:30:00'),
    });
    expect(await deliveryBacklog(db.pool, target, { kind: 'known', at: undefined })).toEqual({
      pending: 1,
      pendingSince: at('10:00:00'),
      oldestPending: at('10:00:00'),
    });
    const { rows } = await db.pool.query<{ now: Date }>('SELECT now()');
    const now = await deliveryBacklog(db.pool, target, { kind: 'now' });
    expect(now.lastDelivery!.getTime()).toBeGreaterThanOrEqual(rows[0]!.now.getTime());
    expect(now).toEqual({ pending: 1, oldestPending: at('10:00:00'), lastDelivery: now.lastDelivery });
  });
});

describe("a watcher's backlog tracker", () => {
  it('reads the last delivery from the store once, then follows the passes', async () => {
    const { cart, target } = orderScope();
    await takeOrders(db.pool, cart, page([order('A')]));
    await pass(target, () => 'delivered');
    await deliveredAt(target, at('09:00:00'));
    const tracker = new BacklogTracker(db.pool, target);
    expect(await tracker.afterPass(0)).toEqual({ pending: 0, lastDelivery: at('09:00:00') });

    // Delivered by someone else: the tracker keeps what it knows.
    await deliveredAt(target, at('09:10:00'));
    expect(await tracker.afterPass(0)).toEqual({ pending: 0, lastDelivery: at('09:00:00') });

    await takeOrders(db.pool, cart, page([order('B')]));
    await arrivedAt(cart, 'B', at('09:20:00'));
    expect(await tracker.afterPass(0)).toEqual({
      pending: 1,
      pendingSince: at('09:20:00'),
      oldestPending: at('09:20:00'),
      lastDelivery: at('09:00:00'),
    });
    const afterDelivering = await tracker.afterPass(1);
    expect(afterDelivering.lastDelivery!.getTime()).toBeGreaterThan(at('09:20:00').getTime());
    expect(afterDelivering).toEqual({
      pending: 1,
      oldestPending: at('09:20:00'),
      lastDelivery: afterDelivering.lastDelivery,
    });
    expect(await tracker.afterPass(0)).toEqual(afterDelivering);
  });
});

describe('what the runner reports', () => {
  function deliveryTo(warehouseUrl: string) {
    const { cart } = orderScope();
    const setup: RunnerSetup = {
      service: 'orderDelivery',
      namespace: cart.namespace,
      owner: 'acme',
      merchant: 'acme',
      endpointUrl: warehouseUrl,
      databaseUrl: db.url,
    };
    return { cart, setup };
  }

  it('after each interval run: records waiting while the warehouse is down, since when once retried, then the delivery', async () => {
    const { cart, setup } = deliveryTo('http://127.0.0.1:9');
    await takeOrders(db.pool, cart, page([order('D-1'), order('D-2')]));
    await arrivedAt(cart, 'D-1', at('10:00:00'));
    await arrivedAt(cart, 'D-2', at('10:01:00'));
    const first = (await runOnce('run', setup)).reporter.last;
    // One failed try of each: not yet a sign that the warehouse is gone.
    expect(first).toMatchObject({
      pendingRecords: 2,
      oldestPendingTime: at('10:00:00').toISOString(),
      failedRecords: { count: 2 },
    });
    expect(first).not.toHaveProperty('pendingSince');
    expect(first).not.toHaveProperty('lastDeliveryTime');
    // Every record it tried failed: no success.
    expect(first).not.toHaveProperty('lastSuccessTime');
    const second = (await runOnce('run', setup)).reporter.last;
    expect(second).toMatchObject({ pendingRecords: 2, pendingSince: at('10:00:00').toISOString() });

    const warehouse = await startFakeWarehouse();
    onTestFinished(() => warehouse.close());
    const before = Date.now();
    const back = (await runOnce('run', { ...setup, endpointUrl: warehouse.url })).reporter.last;
    expect(back).toMatchObject({ pendingRecords: 0, failedRecords: { count: 0 } });
    expect(back).not.toHaveProperty('pendingSince');
    expect(back).not.toHaveProperty('oldestPendingTime');
    expect(Date.parse(back!.lastDeliveryTime!)).toBeGreaterThanOrEqual(before - 1000);
    expect(back!.lastSuccessTime).toBe(back!.lastResult.time);
  });

  it('after Automatic passes: nothing waiting and the last delivery', async () => {
    const warehouse = await startFakeWarehouse();
    onTestFinished(() => warehouse.close());
    const { cart, setup } = deliveryTo(warehouse.url);
    const watcher = startWatcher({ ...setup, sweepSeconds: 600 });
    try {
      await takeOrders(db.pool, cart, page([order('A-1')]));
      await eventually('the delivery to be reported', () => watcher.reporter.last?.lastDeliveryTime !== undefined);
    } finally {
      expect(await watcher.stop()).toBe(0);
    }
    expect(watcher.reporter.last).toMatchObject({ pendingRecords: 0, lastResult: { processed: 1, failed: 0 } });
    expect(watcher.reporter.last).not.toHaveProperty('pendingSince');
  });
});
