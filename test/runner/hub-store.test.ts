// The hub store on a real PostgreSQL: migrations under concurrency, claims, leases, edits and notifications.
import pg from 'pg';
import { describe, expect, inject, it } from 'vitest';
import { createLogger } from '../../operator/runner/log.ts';
import type { SourceOrder } from '../../operator/runner/records/inbound.ts';
import { createPool } from '../../operator/runner/store/database.ts';
import {
  claimDeliveries,
  deliveryChannel,
  settleDeliveries,
  type DeliveryTarget,
} from '../../operator/runner/store/deliveries.ts';
import { takeOrders } from '../../operator/runner/store/intake.ts';
import { applyMigrations } from '../../operator/runner/store/migrate.ts';
import { migrations } from '../../operator/runner/store/migrations.ts';
import { createDatabase, useTestDatabase } from './support/database.ts';
import { orderScope } from './support/scopes.ts';

const db = useTestDatabase();

const orders = (count: number, prefix = 'O') =>
  Array.from({ length: count }, (_, index): SourceOrder => ({
    id: `${prefix}-${index}`,
    lines: [{ sku: 'SKU-1', quantity: 1 }],
  }));

const page = (accepted: SourceOrder[]) => ({
  accepted,
  rejected: [],
  readFrom: undefined,
  advanceTo: undefined,
  passId: 'test',
});

async function states(target: DeliveryTarget) {
  const { rows } = await db.pool.query<{ state: string; count: number }>(
    `SELECT state, count(*)::int AS count FROM deliveries WHERE service = $1 AND namespace = $2 GROUP BY state`,
    [target.service, target.namespace],
  );
  return Object.fromEntries(rows.map((row) => [row.state, row.count]));
}

const lease = (owner: string, durationMs = 60_000) => ({ owner, durationMs });

describe('migrations', () => {
  it('are applied exactly once when many runners start at the same moment', async () => {
    const fresh = await createDatabase(inject('postgresUrl'));
    try {
      await fresh.pool.query('DROP SCHEMA public CASCADE; CREATE SCHEMA public');
      const pools = Array.from({ length: 6 }, () => new pg.Pool({ connectionString: fresh.url, max: 1 }));
      const reports = await Promise.all(pools.map((pool) => applyMigrations(pool)));
      await Promise.all(pools.map((pool) => pool.end()));
      const newest = Math.max(...migrations.map((migration) => migration.version));
      expect(reports.map((report) => report.current)).toEqual(Array(6).fill(newest));
      expect(reports.flatMap((report) => report.applied).sort()).toEqual(migrations.map((m) => m.version).sort());
      const { rows } = await fresh.pool.query('SELECT version FROM schema_migrations');
      expect(rows).toHaveLength(migrations.length);
    } finally {
      await fresh.drop();
    }
  });

  it('refuse a store migrated by a newer runner', async () => {
    await db.pool.query(`INSERT INTO schema_migrations (version, name) VALUES (9999, 'from the future')`);
    try {
      await expect(applyMigrations(db.pool)).rejects.toThrow(/newer than this runner/);
    } finally {
      await db.pool.query('DELETE FROM schema_migrations WHERE version = 9999');
    }
  });
});

describe('orders in the hub', () => {
  it('are keyed by their source id: loading the same order twice changes nothing, an edit reopens it', async () => {
    const { cart, target } = orderScope();
    await takeOrders(db.pool, cart, page(orders(1)));
    await takeOrders(db.pool, cart, page(orders(1)));
    const [claimed] = await claimDeliveries(db.pool, target, { kind: 'pending' }, 10, lease('a'));
    expect(claimed).toMatchObject({ source_id: 'O-0', revision: '1' });
    await settleDeliveries(db.pool, target, 'a', 'pass', [
      { recordId: claimed!.record_id, revision: '1', outcome: 'delivered' },
    ]);
    await takeOrders(db.pool, cart, page(orders(1)));
    expect(await states(target)).toEqual({ delivered: 1 });

    await takeOrders(db.pool, cart, page([{ id: 'O-0', lines: [{ sku: 'SKU-1', quantity: 5 }] }]));
    expect(await states(target)).toEqual({ pending: 1 });
    const [edited] = await claimDeliveries(db.pool, target, { kind: 'pending' }, 10, lease('a'));
    expect(edited).toMatchObject({ source_id: 'O-0', revision: '2', payload: { lines: [{ quantity: 5 }] } });
  });

  it('edited while in flight go back to pending when the old revision settles, and are not claimable meanwhile', async () => {
    const { cart, target } = orderScope();
    await takeOrders(db.pool, cart, page(orders(1)));
    const [claimed] = await claimDeliveries(db.pool, target, { kind: 'pending' }, 10, lease('a'));
    await takeOrders(db.pool, cart, page([{ id: 'O-0', lines: [{ sku: 'SKU-2', quantity: 1 }] }]));
    expect(await claimDeliveries(db.pool, target, { kind: 'pending' }, 10, lease('b'))).toEqual([]);
    await settleDeliveries(db.pool, target, 'a', 'pass', [
      { recordId: claimed!.record_id, revision: claimed!.revision, outcome: 'delivered' },
    ]);
    expect(await states(target)).toEqual({ pending: 1 });
    const [again] = await claimDeliveries(db.pool, target, { kind: 'pending' }, 10, lease('b'));
    expect(again).toMatchObject({ revision: '2' });
  });
});

describe('claims', () => {
  it('never hand the same record to two runners claiming at once', async () => {
    const { cart, target } = orderScope();
    await takeOrders(db.pool, cart, page(orders(500)));
    const claimants = Array.from({ length: 5 }, (_, index) => `runner-${index}`);
    const pools = claimants.map(() => new pg.Pool({ connectionString: db.url, max: 1 }));
    const taken: string[][] = claimants.map(() => []);
    await Promise.all(
      claimants.map(async (owner, index) => {
        for (;;) {
          const batch = await claimDeliveries(pools[index]!, target, { kind: 'pending' }, 7, lease(owner));
          if (batch.length === 0) return;
          taken[index]!.push(...batch.map((row) => row.source_id));
        }
      }),
    );
    await Promise.all(pools.map((pool) => pool.end()));
    const all = taken.flat();
    expect(all).toHaveLength(500);
    expect(new Set(all).size).toBe(500);
    expect(taken.filter((batch) => batch.length > 0).length).toBeGreaterThan(1);
  });

  it('take over records whose lease expired, and ignore a late settlement from the runner that lost them', async () => {
    const { cart, target } = orderScope();
    await takeOrders(db.pool, cart, page(orders(3)));
    const first = await claimDeliveries(db.pool, target, { kind: 'pending' }, 10, lease('crashed', 200));
    expect(first).toHaveLength(3);
    expect(await claimDeliveries(db.pool, target, { kind: 'pending' }, 10, lease('other'))).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 400));
    const second = await claimDeliveries(db.pool, target, { kind: 'pending' }, 10, lease('other'));
    expect(second.map((row) => row.source_id).sort()).toEqual(['O-0', 'O-1', 'O-2']);
    await settleDeliveries(
      db.pool,
      target,
      'crashed',
      'pass',
      first.map((row) => ({
        recordId: row.record_id,
        revision: row.revision,
        outcome: 'failed',
        failure: 'permanent',
        reason: 'late',
      })),
    );
    expect(await states(target)).toEqual({ in_flight: 3 });
  });

  it('keep failures of the current pass out of it, and respect Retry-After', async () => {
    const { cart, target } = orderScope();
    await takeOrders(db.pool, cart, page(orders(2)));
    const claimed = await claimDeliveries(db.pool, target, { kind: 'pending' }, 10, lease('a'));
    const [one, two] = claimed;
    await settleDeliveries(db.pool, target, 'a', 'pass-1', [
      {
        recordId: one!.record_id,
        revision: one!.revision,
        outcome: 'failed',
        failure: 'transient',
        reason: 'HTTP 503',
      },
      {
        recordId: two!.record_id,
        revision: two!.revision,
        outcome: 'failed',
        failure: 'transient',
        reason: 'HTTP 429',
        retryAfterMs: 60_000,
      },
    ]);
    expect(await claimDeliveries(db.pool, target, { kind: 'retryable', passId: 'pass-1' }, 10, lease('a'))).toEqual([]);
    const retried = await claimDeliveries(db.pool, target, { kind: 'retryable', passId: 'pass-2' }, 10, lease('a'));
    expect(retried.map((row) => row.source_id)).toEqual([one!.source_id]);
    // Cleanup retries everything failed, Retry-After or not.
    const cleanup = await claimDeliveries(db.pool, target, { kind: 'anyFailed', passId: 'pass-3' }, 10, lease('c'));
    expect(cleanup.map((row) => row.source_id)).toEqual([two!.source_id]);
  });
});

describe('notifications', () => {
  it('arrive on the channel the runner computes for its destination when orders load', async () => {
    const { cart, target } = orderScope();
    const listener = new pg.Client(db.url);
    await listener.connect();
    try {
      const heard: string[] = [];
      listener.on('notification', (message) => heard.push(message.channel));
      await listener.query(`LISTEN ${pg.escapeIdentifier(deliveryChannel(target))}`);
      await takeOrders(db.pool, cart, page(orders(50)));
      await expect.poll(() => heard).toEqual([deliveryChannel(target)]);
      const { rows } = await db.pool.query<{ channel: string }>('SELECT delivery_channel($1, $2, $3) AS channel', [
        target.service,
        target.namespace,
        target.destination,
      ]);
      expect(rows[0]?.channel).toBe(deliveryChannel(target));
    } finally {
      await listener.end();
    }
  });
});

describe('the pool', () => {
  it('survives PostgreSQL dropping its idle connections', async () => {
    const pool = createPool(db.url, 'pool-survival-test', createLogger('silent'));
    try {
      await pool.query('SELECT 1');
      await db.pool.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'pool-survival-test'`,
      );
      await expect.poll(async () => (await pool.query<{ one: number }>('SELECT 1 AS one')).rows[0]?.one).toBe(1);
    } finally {
      await pool.end();
    }
  });
});
