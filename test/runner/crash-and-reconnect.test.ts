// Reliability: a runner killed mid-batch, runners racing for the same work, and a watcher whose PostgreSQL
// connection drops or whose server restarts.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { describe, expect, it, onTestFinished } from 'vitest';
import { startFakeCart, startFakeWarehouse, type FakeWarehouse } from '../support/contract-servers.ts';
import { startPostgres } from '../support/postgres.ts';
import { createDatabase, useTestDatabase, type TestDatabase } from './support/database.ts';
import { eventually } from '../support/eventually.ts';
import { runOnce, runnerEnvironment, spawnRunner, startWatcher, type RunnerSetup } from './support/runners.ts';

const db = useTestDatabase();

async function tenant(database: TestDatabase = db) {
  const [cart, warehouse] = await Promise.all([startFakeCart(), startFakeWarehouse()]);
  onTestFinished(() => Promise.all([cart.close(), warehouse.close()]).then(() => undefined));
  const namespace = `ns-${randomBytes(3).toString('hex')}`;
  const base = { namespace, merchant: 'acme', databaseUrl: database.url };
  const download: RunnerSetup = { ...base, service: 'orderDownload', owner: 'web-shop', endpointUrl: cart.url };
  const delivery: RunnerSetup = { ...base, service: 'orderDelivery', owner: 'acme', endpointUrl: warehouse.url };
  const load = async (count: number, prefix: string) => {
    cart.orders.put(
      ...Array.from({ length: count }, (_, index) => ({
        id: `${prefix}-${index}`,
        lines: [{ sku: 'SKU', quantity: 1 }],
      })),
    );
    expect((await runOnce('run', { ...download, batchSize: 1000 })).exitCode).toBe(0);
  };
  const deliveryStates = async () => {
    const { rows } = await database.pool.query<{ state: string; count: number }>(
      `SELECT state, count(*)::int AS count FROM deliveries WHERE namespace = $1 GROUP BY state`,
      [namespace],
    );
    return Object.fromEntries(rows.map((row) => [row.state, row.count]));
  };
  return { warehouse, delivery, load, deliveryStates, namespace };
}

/** Every order applied exactly once by the warehouse, as far as its idempotency keys tell. */
function expectEachAppliedOnce(warehouse: FakeWarehouse, prefix: string, count: number) {
  const perOrder = new Map<string, number>();
  for (const write of warehouse.orders.applied) {
    perOrder.set(String(write.body.id), (perOrder.get(String(write.body.id)) ?? 0) + 1);
  }
  expect(perOrder.size).toBe(count);
  for (let index = 0; index < count; index++) expect(perOrder.get(`web-shop/${prefix}-${index}`)).toBe(1);
}

describe('a runner killed mid-batch (SIGKILL)', () => {
  it('loses nothing: after its lease expires another run delivers the rest, each order applied once', async () => {
    const { warehouse, delivery, load, deliveryStates, namespace } = await tenant();
    await load(300, 'K');
    warehouse.writeDelayMs = 20;
    const setup = { ...delivery, batchSize: 50, leaseSeconds: 2, requestTimeoutSeconds: 1 };
    const victim = spawnRunner(['run', '--service', 'orderDelivery'], runnerEnvironment(setup));
    await eventually('the victim to be mid-way', () => warehouse.orders.received.length >= 80, { timeoutMs: 20_000 });
    victim.child.kill('SIGKILL');
    await victim.exited;
    expect(victim.child.signalCode).toBe('SIGKILL');
    expect((await deliveryStates()).in_flight).toBeGreaterThan(0);

    // Nothing is sent twice while the dead runner's lease runs: a runner starting now leaves those records alone.
    await eventually(
      'the dead runner’s leases to expire',
      async () => {
        const { rows } = await db.pool.query<{ live: number }>(
          `SELECT count(*)::int AS live FROM deliveries WHERE namespace = $1 AND state = 'in_flight' AND lease_expires_at > now()`,
          [namespace],
        );
        return rows[0]?.live === 0;
      },
      { timeoutMs: 10_000 },
    );
    warehouse.writeDelayMs = 0;
    const survivor = spawnRunner(['run', '--service', 'orderDelivery'], runnerEnvironment(setup));
    expect(await survivor.exited).toBe(0);

    expect(await deliveryStates()).toEqual({ delivered: 300 });
    expectEachAppliedOnce(warehouse, 'K', 300);
    // Repeats of writes the victim sent but never saw answered were dropped by their keys.
    const replayed = warehouse.orders.received.filter((write) => write.replayed);
    expect(warehouse.orders.received.length - replayed.length).toBe(300);
  });
});

describe('runners racing for the same destination', () => {
  it('never send the same order twice', async () => {
    const { warehouse, delivery, load, deliveryStates } = await tenant();
    await load(400, 'C');
    warehouse.writeDelayMs = 2;
    const setup = { ...delivery, batchSize: 25 };
    const runners = [1, 2, 3].map(() => spawnRunner(['run', '--service', 'orderDelivery'], runnerEnvironment(setup)));
    expect(await Promise.all(runners.map((runner) => runner.exited))).toEqual([0, 0, 0]);
    expect(await deliveryStates()).toEqual({ delivered: 400 });
    expect(warehouse.orders.received).toHaveLength(400);
    expectEachAppliedOnce(warehouse, 'C', 400);
  });
});

describe('an Automatic watcher', () => {
  it('reconnects when PostgreSQL terminates its listening session, and catches up on what it missed', async () => {
    const { warehouse, delivery, load } = await tenant();
    const watcher = startWatcher({ ...delivery, sweepSeconds: 600 });
    try {
      await load(1, 'BEFORE');
      await eventually('the first order', () => warehouse.orders.applied.length === 1);

      const { rows } = await db.pool.query<{ terminated: boolean }>(
        `SELECT pg_terminate_backend(pid) AS terminated FROM pg_stat_activity
         WHERE datname = current_database() AND application_name LIKE '%listener'`,
      );
      expect(rows.map((row) => row.terminated)).toEqual([true]);
      // Loaded while the watcher may well be deaf: its notification can be lost.
      await load(1, 'DURING');
      await eventually(
        'the order loaded during the drop',
        () => warehouse.orders.appliedFor('web-shop/DURING-0').length === 1,
        {
          timeoutMs: 10_000,
        },
      );
      await load(1, 'AFTER');
      await eventually(
        'an order after reconnecting',
        () => warehouse.orders.appliedFor('web-shop/AFTER-0').length === 1,
      );
    } finally {
      expect(await watcher.stop()).toBe(0);
    }
  });

  it('finds work whose notification never came, on its periodic sweep', async () => {
    const { warehouse, delivery, load } = await tenant();
    await db.pool.query('ALTER TABLE deliveries DISABLE TRIGGER deliveries_inserted_notify');
    onTestFinished(async () => {
      await db.pool.query('ALTER TABLE deliveries ENABLE TRIGGER deliveries_inserted_notify');
    });
    const watcher = startWatcher({ ...delivery, sweepSeconds: 1 });
    try {
      await load(3, 'SILENT');
      await eventually('the sweep to deliver', () => warehouse.orders.applied.length === 3, { timeoutMs: 5000 });
    } finally {
      await watcher.stop();
    }
  });

  it('survives a restart of the PostgreSQL server and delivers what arrives afterwards', async () => {
    const server = await startPostgres();
    onTestFinished(() => server.stop());
    const database = await createDatabase(server.url);
    onTestFinished(async () => {
      await database.pool.end();
    });
    const { warehouse, delivery, load } = await tenant(database);
    const watcher = startWatcher({ ...delivery, sweepSeconds: 600 });
    try {
      await load(1, 'BEFORE');
      await eventually('the first order', () => warehouse.orders.applied.length === 1);
      await server.restart();
      await load(1, 'AFTER');
      await eventually(
        'the order after the restart',
        () => warehouse.orders.appliedFor('web-shop/AFTER-0').length === 1,
        {
          timeoutMs: 15_000,
        },
      );
    } finally {
      expect(await watcher.stop()).toBe(0);
    }
    // The test database's own pool saw its connections die too; it must not have crashed the test process.
    const client = new pg.Client(database.url);
    await client.connect();
    await client.end();
  });
});
