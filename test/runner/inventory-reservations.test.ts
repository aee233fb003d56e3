// Inventory's arithmetic in the hub store, on a real PostgreSQL: `available` is the warehouse's last count less the
// units of orders that count cannot include (not acknowledged by the warehouse, or acknowledged after it), through
// loads, edits, cancellations, acknowledgements (of the current revision or an older one) and counts.
import { randomBytes } from 'node:crypto';
import { describe, expect, inject, it } from 'vitest';
import type { SourceOrder } from '../../operator/runner/records/inbound.ts';
import { registerCart } from '../../operator/runner/store/carts.ts';
import {
  claimDeliveries,
  settleDeliveries,
  type ClaimedOrder,
  type DeliveryTarget,
} from '../../operator/runner/store/deliveries.ts';
import {
  takeInventoryLevels,
  takeOrders,
  takeShipments,
  type CartScope,
  type MerchantScope,
} from '../../operator/runner/store/intake.ts';
import { applyMigrations } from '../../operator/runner/store/migrate.ts';
import { migrations } from '../../operator/runner/store/migrations.ts';
import { createDatabase, useTestDatabase } from './support/database.ts';

const db = useTestDatabase();

const page = <T>(accepted: T[]) => ({ accepted, rejected: [], readFrom: undefined, advanceTo: undefined, passId: 'p' });
const lease = { owner: 'runner', durationMs: 60_000 };
const sku = 'MUG';

/** A merchant with two registered carts, in a namespace of its own. */
async function shop() {
  const namespace = `ns-${randomBytes(3).toString('hex')}`;
  const merchant: MerchantScope = { namespace, merchant: 'acme' };
  const shopA: CartScope = { ...merchant, cart: 'shop-a' };
  const shopB: CartScope = { ...merchant, cart: 'shop-b' };
  await registerCart(db.pool, shopA);
  await registerCart(db.pool, shopB);
  const orderDelivery = { service: 'orderDelivery', namespace, destination: 'acme' } as const satisfies DeliveryTarget;

  const order = (id: string, quantity: number, extra: Partial<SourceOrder> = {}): SourceOrder => ({
    id,
    lines: [{ sku, quantity }],
    ...extra,
  });
  const level = async () => {
    const { rows } = await db.pool.query<{ on_hand: string; reserved: string; revision: string }>(
      'SELECT on_hand, reserved, revision FROM inventory_levels WHERE namespace = $1 AND merchant = $2 AND sku = $3',
      [namespace, 'acme', sku],
    );
    const row = rows[0]!;
    return {
      onHand: Number(row.on_hand),
      reserved: Number(row.reserved),
      available: Math.max(Number(row.on_hand) - Number(row.reserved), 0),
      revision: Number(row.revision),
    };
  };
  return {
    namespace,
    /** Loads (or edits, or cancels) orders from shop A. */
    load: (...orders: SourceOrder[]) => takeOrders(db.pool, shopA, page(orders)),
    order,
    /** The warehouse reports its count of the SKU. */
    count: (quantity: number) => takeInventoryLevels(db.pool, merchant, page([{ sku, quantity }])),
    /** Order Delivery claims what is pending (the writes leave for the warehouse). */
    claim: () => claimDeliveries(db.pool, orderDelivery, { kind: 'pending' }, 100, lease),
    /** The warehouse's answers to claimed writes arrive. */
    settle: (claimed: ClaimedOrder[], outcome: 'delivered' | 'failed') =>
      settleDeliveries(
        db.pool,
        orderDelivery,
        lease.owner,
        randomBytes(4).toString('hex'),
        claimed.map((row) =>
          outcome === 'delivered'
            ? { recordId: row.record_id, revision: row.revision, outcome }
            : { recordId: row.record_id, revision: row.revision, outcome, failure: 'transient', reason: 'HTTP 500' },
        ),
      ),
    /** One Order Delivery pass that the warehouse acknowledges. */
    deliver: async function (this: void) {
      const claimed = await claimDeliveries(db.pool, orderDelivery, { kind: 'pending' }, 100, lease);
      await settleDeliveries(
        db.pool,
        orderDelivery,
        lease.owner,
        'pass',
        claimed.map((row) => ({ recordId: row.record_id, revision: row.revision, outcome: 'delivered' as const })),
      );
      return claimed;
    },
    available: async () => (await level()).available,
    level,
    /** The inventory revisions waiting for each cart. */
    pendingUploads: async () => {
      const { rows } = await db.pool.query<{ destination: string; revision: string }>(
        `SELECT destination, revision FROM deliveries
         WHERE service = 'inventoryUpload' AND namespace = $1 AND state = 'pending' ORDER BY destination`,
        [namespace],
      );
      return Object.fromEntries(rows.map((row) => [row.destination, Number(row.revision)]));
    },
  };
}

describe('an order', () => {
  it('loaded before its SKU has a level is taken off the first count', async () => {
    const s = await shop();
    await s.load(s.order('1', 3));
    await s.count(10);
    expect(await s.level()).toMatchObject({ onHand: 10, reserved: 3, available: 7 });
  });

  it('not yet at the warehouse stays reserved through counts; acknowledged, the next count includes it', async () => {
    const s = await shop();
    await s.count(10);
    await s.load(s.order('1', 3));
    expect(await s.available()).toBe(7);
    await s.count(10);
    expect(await s.available()).toBe(7);

    const before = await s.level();
    await s.deliver();
    // An acknowledgement alone changes nothing: the last count still lacks the order.
    expect(await s.level()).toEqual(before);
    await s.count(7);
    expect(await s.level()).toMatchObject({ onHand: 7, reserved: 0, available: 7 });
  });

  it('acknowledged before the count is in it', async () => {
    const s = await shop();
    await s.count(10);
    await s.load(s.order('1', 3));
    await s.deliver();
    await s.count(7);
    expect(await s.level()).toMatchObject({ reserved: 0, available: 7 });
  });

  it('failing at the warehouse holds its units as long as it fails', async () => {
    const s = await shop();
    await s.count(10);
    await s.load(s.order('1', 4));
    await s.settle(await s.claim(), 'failed');
    await s.count(10);
    expect(await s.available()).toBe(6);
  });

  it('in flight while the warehouse counts is not taken to be in that count', async () => {
    const s = await shop();
    await s.count(10);
    await s.load(s.order('1', 4));
    const inFlight = await s.claim();
    // The warehouse may have applied it before counting, or not: the hub cannot tell, and keeps it reserved.
    await s.count(6);
    expect(await s.available()).toBe(2);
    await s.settle(inFlight, 'delivered');
    await s.count(6);
    expect(await s.available()).toBe(6);
  });
});

describe('an edit', () => {
  it('up, after the warehouse counted the order, reserves the difference until the warehouse counts the new revision', async () => {
    const s = await shop();
    await s.count(10);
    await s.load(s.order('1', 3));
    await s.deliver();
    await s.count(7);
    await s.load(s.order('1', 5));
    expect(await s.level()).toMatchObject({ onHand: 7, reserved: 2, available: 5 });
    await s.deliver();
    await s.count(5);
    expect(await s.level()).toMatchObject({ reserved: 0, available: 5 });
  });

  it('down releases nothing before the warehouse has the new revision and counts it', async () => {
    const s = await shop();
    await s.count(10);
    await s.load(s.order('1', 5));
    await s.deliver();
    await s.count(5);
    await s.load(s.order('1', 2));
    expect(await s.available()).toBe(5);
    // Still at the old revision: its count is right as it is.
    await s.count(5);
    expect(await s.available()).toBe(5);
    await s.deliver();
    expect(await s.available()).toBe(5);
    await s.count(8);
    expect(await s.available()).toBe(8);
  });

  it('down, of an order the warehouse never got, releases at once', async () => {
    const s = await shop();
    await s.count(10);
    await s.load(s.order('1', 5));
    await s.load(s.order('1', 2));
    expect(await s.available()).toBe(8);
  });

  it('down while in flight when the warehouse counts: the count is taken to include the least of the two', async () => {
    const s = await shop();
    await s.count(10);
    await s.load(s.order('1', 5));
    await s.deliver();
    await s.count(5);
    await s.load(s.order('1', 3));
    const inFlight = await s.claim();
    // The warehouse applied the edit, then counted 7: the hub shows at most that.
    await s.count(7);
    expect(await s.available()).toBeLessThanOrEqual(7);
    // Had it counted before applying the edit (5), and never got the edit, the order would still take 5.
    await s.count(5);
    expect(await s.available()).toBeLessThanOrEqual(5);
    await s.settle(inFlight, 'delivered');
    await s.count(7);
    expect(await s.available()).toBe(7);
  });

  it('made while an older revision is in flight: the ack of that older revision does not let a count oversell', async () => {
    const s = await shop();
    await s.count(10);
    await s.load(s.order('1', 5));
    await s.deliver();
    await s.count(5);
    // Revision 2 (3 units) leaves for the warehouse; revision 3 (4 units) arrives before the answer.
    await s.load(s.order('1', 3));
    const revision2 = await s.claim();
    await s.load(s.order('1', 4));
    await s.settle(revision2, 'delivered');
    // The warehouse holds revision 2 (3 of 10) and counts 7. Revision 3 will take 4, so at most 6 can be sold.
    await s.count(7);
    const available = await s.available();
    expect(available).toBeLessThanOrEqual(6);
    expect(available).toBe(5);
    const [revision3] = await s.deliver();
    expect(revision3).toMatchObject({ revision: '3' });
    await s.count(6);
    expect(await s.level()).toMatchObject({ reserved: 0, available: 6 });
  });

  it('that drops a SKU holds nothing more for it once the warehouse counts without it', async () => {
    const s = await shop();
    await s.count(10);
    await s.load(s.order('1', 4));
    await s.deliver();
    await s.count(6);
    await s.load({ id: '1', lines: [{ sku: 'OTHER', quantity: 1 }] });
    expect(await s.available()).toBe(6);
    await s.deliver();
    await s.count(10);
    expect(await s.available()).toBe(10);
  });
});

describe('a cancellation', () => {
  it('of an order the warehouse never got releases its units at once', async () => {
    const s = await shop();
    await s.count(10);
    await s.load(s.order('1', 4));
    expect(await s.available()).toBe(6);
    await s.load(s.order('1', 4, { cancelled: true }));
    expect(await s.available()).toBe(10);
  });

  it('of an order sent to the warehouse holds its units until the warehouse has the cancellation and counts', async () => {
    const s = await shop();
    await s.count(10);
    await s.load(s.order('1', 4));
    await s.settle(await s.claim(), 'failed');
    await s.load(s.order('1', 4, { cancelled: true }));
    // The failed write may have landed: the warehouse may ship those 4 until it hears of the cancellation.
    expect(await s.available()).toBe(6);
    await s.count(10);
    expect(await s.available()).toBe(6);
    await s.deliver();
    await s.count(10);
    expect(await s.available()).toBe(10);
  });

  it('after the warehouse counted the order releases its units when the warehouse counts them back', async () => {
    const s = await shop();
    await s.count(10);
    await s.load(s.order('1', 4));
    await s.deliver();
    await s.count(6);
    await s.load(s.order('1', 4, { cancelled: true }));
    expect(await s.available()).toBe(6);
    await s.deliver();
    expect(await s.available()).toBe(6);
    await s.count(10);
    expect(await s.level()).toMatchObject({ onHand: 10, reserved: 0, available: 10 });
  });
});

describe("the merchant's other carts", () => {
  it('hear of each load, edit and cancellation that changes what is left, and the ordering cart does not', async () => {
    const s = await shop();
    await s.count(10);
    await db.pool.query(
      `UPDATE deliveries SET state = 'delivered' WHERE service = 'inventoryUpload' AND namespace = $1`,
      [s.namespace],
    );
    const uploadsAfter = async (step: () => Promise<void>) => {
      await step();
      return s.pendingUploads();
    };
    const revision = async () => (await s.level()).revision;
    expect(await uploadsAfter(() => s.load(s.order('1', 3)))).toEqual({ 'shop-b': await revision() });
    expect(await uploadsAfter(() => s.load(s.order('1', 5)))).toEqual({ 'shop-b': await revision() });
    expect(await uploadsAfter(() => s.load(s.order('1', 5, { cancelled: true })))).toEqual({
      'shop-b': await revision(),
    });
    expect(await s.available()).toBe(10);
  });
});

describe('a shipment', () => {
  it('re-mapped to an order of another cart no longer goes to the first one', async () => {
    const s = await shop();
    const merchant = { namespace: s.namespace, merchant: 'acme' };
    await takeOrders(db.pool, { ...merchant, cart: 'shop-a' }, page([s.order('A-1', 1)]));
    await takeOrders(db.pool, { ...merchant, cart: 'shop-b' }, page([s.order('B-1', 1)]));
    const shipment = (orderId: string) => ({ id: 'S-1', orderId, carrier: 'UPS', trackingNumber: '1Z' });
    await takeShipments(db.pool, merchant, page([shipment('shop-a/A-1')]));
    await takeShipments(db.pool, merchant, page([shipment('shop-b/B-1')]));
    const { rows } = await db.pool.query<{ destination: string; revision: string }>(
      `SELECT destination, revision FROM deliveries WHERE service = 'shipmentUpload' AND namespace = $1`,
      [s.namespace],
    );
    expect(rows).toEqual([{ destination: 'shop-b', revision: '2' }]);
  });

  it('for an order of a cart no longer registered with the merchant is kept, and sent nowhere', async () => {
    const s = await shop();
    const merchant = { namespace: s.namespace, merchant: 'acme' };
    await takeOrders(db.pool, { ...merchant, cart: 'shop-a' }, page([s.order('A-1', 1)]));
    await db.pool.query(`DELETE FROM carts WHERE namespace = $1 AND cart = 'shop-a'`, [s.namespace]);
    const taken = await takeShipments(
      db.pool,
      merchant,
      page([{ id: 'S-1', orderId: 'shop-a/A-1', carrier: 'UPS', trackingNumber: '1Z' }]),
    );
    expect(taken).toEqual({ unknownOrders: 0, forUnregisteredCarts: 1 });
    const { rows } = await db.pool.query(
      `SELECT s.source_id, d.destination FROM shipments s
       LEFT JOIN deliveries d ON d.service = 'shipmentUpload' AND d.record_id = s.id
       WHERE s.namespace = $1`,
      [s.namespace],
    );
    expect(rows).toEqual([{ source_id: 'S-1', destination: null }]);
  });
});

describe('schema version 2', () => {
  it("carries a version 1 store's orders over: what the last count cannot include stays reserved", async () => {
    const fresh = await createDatabase(inject('postgresUrl'));
    try {
      await fresh.pool.query('DROP SCHEMA public CASCADE; CREATE SCHEMA public');
      await applyMigrations(
        fresh.pool,
        migrations.filter((migration) => migration.version === 1),
      );
      // Version 1 set reserved to 0 at the count (10:00), then added the units of orders loaded since: 5 of 'late'.
      await fresh.pool.query(`
        INSERT INTO carts (namespace, cart, merchant) VALUES ('ns', 'shop-a', 'acme'), ('ns', 'shop-b', 'acme');
        INSERT INTO inventory_levels (namespace, merchant, sku, on_hand, reserved, reported_at)
        VALUES ('ns', 'acme', 'MUG', 10, 5, '2026-01-01T10:00:00Z');
        INSERT INTO orders (namespace, merchant, cart, source_id, payload, payload_hash, revision)
        SELECT 'ns', 'acme', 'shop-a', o.id, o.payload::jsonb, o.id, o.revision FROM (VALUES
          ('counted', '{"id":"counted","lines":[{"sku":"MUG","quantity":2}]}', 1),
          ('late', '{"id":"late","lines":[{"sku":"MUG","quantity":3},{"sku":"MUG","quantity":2}]}', 1),
          ('waiting', '{"id":"waiting","lines":[{"sku":"MUG","quantity":4}]}', 1),
          ('cancelled', '{"id":"cancelled","lines":[{"sku":"MUG","quantity":1}],"cancelled":true}', 1),
          ('edited', '{"id":"edited","lines":[{"sku":"MUG","quantity":1}]}', 2)
        ) AS o(id, payload, revision);
        INSERT INTO deliveries (service, namespace, destination, record_id, revision, state, attempts,
                                delivered_revision, delivered_at)
        SELECT 'orderDelivery', 'ns', 'acme', o.id, o.revision, d.state, d.attempts, d.delivered_revision,
               d.delivered_at::timestamptz
        FROM orders o JOIN (VALUES
          ('counted', 'delivered', 1, 1, '2026-01-01T09:00:00Z'),
          ('late', 'delivered', 1, 1, '2026-01-01T11:00:00Z'),
          ('waiting', 'pending', 0, NULL, NULL),
          ('cancelled', 'pending', 0, NULL, NULL),
          ('edited', 'pending', 0, 1, '2026-01-01T09:00:00Z')
        ) AS d(id, state, attempts, delivered_revision, delivered_at) ON d.id = o.source_id;
        INSERT INTO deliveries (service, namespace, destination, record_id, revision, state)
        SELECT 'inventoryUpload', 'ns', c.cart, l.id, 1, 'delivered' FROM carts c, inventory_levels l;
      `);

      await applyMigrations(fresh.pool);
      const { rows: units } = await fresh.pool.query<{ source_id: string; held_back: string }>(
        `SELECT o.source_id, greatest(u.units, u.held_peak) - u.counted_units AS held_back
         FROM order_units u JOIN orders o ON o.id = u.order_id ORDER BY o.source_id`,
      );
      expect(Object.fromEntries(units.map((row) => [row.source_id, Number(row.held_back)]))).toEqual({
        cancelled: 0,
        counted: 0,
        edited: 1,
        late: 5,
        waiting: 4,
      });
      const { rows: levels } = await fresh.pool.query('SELECT reserved, revision FROM inventory_levels');
      expect(levels).toEqual([{ reserved: '10', revision: '2' }]);
      const { rows: uploads } = await fresh.pool.query(
        `SELECT destination, revision, state FROM deliveries WHERE service = 'inventoryUpload' ORDER BY destination`,
      );
      expect(uploads).toEqual([
        { destination: 'shop-a', revision: '2', state: 'pending' },
        { destination: 'shop-b', revision: '2', state: 'pending' },
      ]);
    } finally {
      await fresh.drop();
    }
  });
});
