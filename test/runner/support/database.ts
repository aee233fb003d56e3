// A database of its own for each test file, in the PostgreSQL that the global setup started.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, inject } from 'vitest';
import { applyMigrations } from '../../../operator/runner/store/migrate.ts';

export interface TestDatabase {
  url: string;
  /** For the test's own queries and assertions. */
  pool: pg.Pool;
}

export function withDatabaseUrl(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

export async function createDatabase(serverUrl: string): Promise<TestDatabase & { drop: () => Promise<void> }> {
  const name = `runner_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client(serverUrl);
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = withDatabaseUrl(serverUrl, name);
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  pool.on('error', () => undefined);
  await applyMigrations(pool);
  return {
    url,
    pool,
    drop: async () => {
      await pool.end();
      const cleanup = new pg.Client(serverUrl);
      await cleanup.connect();
      await cleanup.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await cleanup.end();
    },
  };
}

/** Registers a fresh, migrated database for the calling test file. */
export function useTestDatabase(): TestDatabase {
  const database = {} as TestDatabase;
  let drop: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    const created = await createDatabase(inject('postgresUrl'));
    Object.assign(database, { url: created.url, pool: created.pool });
    drop = created.drop;
  });
  afterAll(async () => {
    await drop?.();
  });
  return database;
}
