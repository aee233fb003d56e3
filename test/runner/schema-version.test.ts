// Runners check the hub store's schema version without a lock, and wait for the migrate Job when it is behind.
import pg from 'pg';
import { describe, expect, inject, it, onTestFinished } from 'vitest';
import { createLogger } from '../../operator/runner/log.ts';
import { createPool, type Pool } from '../../operator/runner/store/database.ts';
import { applyMigrations, migrationLockKey } from '../../operator/runner/store/migrate.ts';
import { hubSchemaVersion } from '../../operator/api/runner-contract.ts';
import { migrations } from '../../operator/runner/store/migrations.ts';
import { checkSchema, HubStoreError, waitForSchema } from '../../operator/runner/store/readiness.ts';
import { createDatabase, useTestDatabase } from './support/database.ts';
import { capturingLogger, warnLevel } from './support/log-capture.ts';

const db = useTestDatabase();
const silent = createLogger('silent');
const fast = { initialMs: 50, maxMs: 200 };
const M = hubSchemaVersion;
const behind = (current: number) =>
  `the hub store's schema is at version ${current}; this runner needs ${M}: run \`switchyard-runner migrate\` ` +
  `(the operator starts a Job \`switchyard-migrate-v${M}\` in each namespace)`;

/** A runner's pool on a database of its own, emptied of the schema the test setup applied. */
async function emptyStore(): Promise<{ pool: Pool; admin: pg.Pool }> {
  const fresh = await createDatabase(inject('postgresUrl'));
  await fresh.pool.query('DROP SCHEMA public CASCADE; CREATE SCHEMA public');
  const pool = createPool(fresh.url, 'schema-test', silent);
  onTestFinished(async () => {
    await pool.end();
    await fresh.drop();
  });
  return { pool, admin: fresh.pool };
}

async function storeAtVersion(version: number): Promise<{ pool: Pool; admin: pg.Pool }> {
  const store = await emptyStore();
  await store.admin.query(`
    CREATE TABLE schema_migrations (
      version    integer PRIMARY KEY,
      name       text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
  await store.admin.query(`INSERT INTO schema_migrations (version, name) VALUES ($1, 'test')`, [version]);
  return store;
}

it('the version this runner needs is its newest migration', () => {
  expect(M).toBe(Math.max(...migrations.map((migration) => migration.version)));
  expect(M).toBeGreaterThanOrEqual(1);
});

describe('an empty hub store', () => {
  it('is at version 0', async () => {
    const { pool } = await emptyStore();
    expect(await checkSchema(pool)).toEqual({ current: 0, required: M });
  });

  it('is waited for with one clear line, and given up at the deadline with the same message', async () => {
    const { pool } = await emptyStore();
    const { log, lines } = capturingLogger();
    const error = await waitForSchema(pool, { log, backoff: fast, deadlineMs: 600 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HubStoreError);
    expect((error as Error).message).toBe(`${behind(0)}; gave up after 600 ms`);
    expect(lines).toEqual([expect.objectContaining({ level: warnLevel, msg: behind(0), current: 0, required: M })]);
  });
});

describe('a hub store at an older version', () => {
  it('is polled until the migration brings it up to date', async () => {
    // The real schema of the version before, so that the migrate Job has what the newest migration builds on.
    const { pool, admin } = await emptyStore();
    await applyMigrations(
      admin,
      migrations.filter((migration) => migration.version < M),
    );
    expect(await checkSchema(pool)).toEqual({ current: M - 1, required: M });
    const { log, lines } = capturingLogger();
    let settled = false;
    const waiting = waitForSchema(pool, { log, backoff: fast }).finally(() => (settled = true));
    await expect.poll(() => lines.length).toBe(1);
    expect(lines[0]).toMatchObject({ level: warnLevel, msg: behind(M - 1) });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(settled).toBe(false);
    // What the migrate Job does.
    expect((await applyMigrations(admin)).current).toBe(M);
    expect(await waiting).toEqual({ current: M, required: M });
    expect(lines).toHaveLength(2);
    expect(lines[1]?.msg).toBe("the hub store's schema is up to date now");
  });
});

describe('a hub store at the current version', () => {
  it('passes at once, without a word', async () => {
    const pool = createPool(db.url, 'schema-test', silent);
    try {
      const { log, lines } = capturingLogger();
      expect(await waitForSchema(pool, { log, deadlineMs: 0 })).toEqual({ current: M, required: M });
      expect(lines).toEqual([]);
    } finally {
      await pool.end();
    }
  });

  it('is read while a migration holds the migration lock', async () => {
    const pool = createPool(db.url, 'schema-test', silent);
    const holder = new pg.Client(db.url);
    await holder.connect();
    try {
      await holder.query('SELECT pg_advisory_lock($1)', [migrationLockKey]);
      const checked = checkSchema(pool);
      const late = new Promise((resolve) => setTimeout(() => resolve('blocked'), 2_000));
      expect(await Promise.race([checked, late])).toEqual({ current: M, required: M });
    } finally {
      await holder.end();
      await pool.end();
    }
  });
});

describe('a hub store at a newer version', () => {
  it('is refused at once, without waiting for a deadline', async () => {
    const { pool } = await storeAtVersion(M + 1);
    const { log, lines } = capturingLogger();
    const error = await waitForSchema(pool, { log, backoff: fast }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HubStoreError);
    expect((error as Error).message).toBe(
      `the hub store's schema is at version ${M + 1}, newer than this runner's ${M}; upgrade the runner image`,
    );
    expect(lines).toEqual([]);
  });
});
