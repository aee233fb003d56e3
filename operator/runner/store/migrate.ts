// Applies the hub store's migrations. Many runners start at once (every CronJob of every tenant), so one session
// holds an advisory lock while it applies what is missing; the others wait, then find nothing left to do.
import type { Pool, PoolClient } from 'pg';
import { migrations as allMigrations, type Migration } from './migrations.ts';

// An arbitrary constant that names "the Switchyard hub schema" among advisory locks.
const migrationLockKey = 7_404_911_203;

export interface MigrationReport {
  readonly applied: number[];
  readonly current: number;
}

export async function applyMigrations(
  pool: Pool,
  migrations: readonly Migration[] = allMigrations,
): Promise<MigrationReport> {
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [migrationLockKey]);
    const report = await applyMissing(client, migrations);
    await client.query('SELECT pg_advisory_unlock($1)', [migrationLockKey]);
    client.release();
    return report;
  } catch (error) {
    // Discard the session: that ends it, and with it the advisory lock, whatever state it was left in.
    client.release(error instanceof Error ? error : true);
    throw error;
  }
}

async function applyMissing(client: PoolClient, migrations: readonly Migration[]): Promise<MigrationReport> {
  await client.query(`
    CREATE TABLE IF NOT EXISTS schema_migrations (
      version    integer PRIMARY KEY,
      name       text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
  const { rows } = await client.query<{ version: number }>('SELECT version FROM schema_migrations');
  const done = new Set(rows.map((row) => row.version));
  const newest = Math.max(0, ...done);
  const known = Math.max(0, ...migrations.map((migration) => migration.version));
  if (newest > known) {
    // A newer runner migrated this store; an older one must not write to a schema it does not know.
    throw new Error(`the hub store is at schema version ${newest}, newer than this runner's ${known}`);
  }
  const applied: number[] = [];
  for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
    if (done.has(migration.version)) continue;
    await client.query('BEGIN');
    try {
      await client.query(migration.sql);
      await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [
        migration.version,
        migration.name,
      ]);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK');
      throw new Error(`migration ${migration.version} (${migration.name}) failed`, { cause: error });
    }
    applied.push(migration.version);
  }
  return { applied, current: Math.max(newest, ...applied) };
}
