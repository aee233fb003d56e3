// Applies the hub store's migrations: the body of `switchyard-runner migrate`, which the operator runs as a Job per
// namespace and schema version (other runners only check the version: readiness.ts). Several such Jobs may start at
// once against one hub store, so one session holds an advisory lock while it applies what is missing; the others
// wait, then find nothing left to do.
import type { Pool, PoolClient } from 'pg';
import type { Logger } from 'pino';
import { formatDuration } from './backoff.ts';
import { migrations as allMigrations, type Migration } from './migrations.ts';

// An arbitrary constant that names "the Switchyard hub schema" among advisory locks.
export const migrationLockKey = 7_404_911_203;

export interface MigrationReport {
  readonly applied: number[];
  readonly current: number;
}

export async function applyMigrations(
  pool: Pool,
  migrations: readonly Migration[] = allMigrations,
  log?: Logger,
): Promise<MigrationReport> {
  const client = await pool.connect();
  try {
    // Hub-store sessions have a statement_timeout (database.ts), but waiting for another migration's lock and a
    // migration itself (an index on a large table) may rightly take longer. RESET restores the session's own value.
    await client.query('SET statement_timeout = 0');
    const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [
      migrationLockKey,
    ]);
    if (rows[0]?.locked !== true) {
      log?.info('another migration of this hub store is running; waiting for it to finish');
      await client.query('SELECT pg_advisory_lock($1)', [migrationLockKey]);
    }
    const report = await applyMissing(client, migrations, log);
    await client.query('SELECT pg_advisory_unlock($1)', [migrationLockKey]);
    await client.query('RESET statement_timeout');
    client.release();
    return report;
  } catch (error) {
    // Discard the session: that ends it, and with it the advisory lock, whatever state it was left in.
    client.release(error instanceof Error ? error : true);
    throw error;
  }
}

async function applyMissing(
  client: PoolClient,
  migrations: readonly Migration[],
  log: Logger | undefined,
): Promise<MigrationReport> {
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
    log?.info({ version: migration.version, name: migration.name }, `applying migration ${migration.version}`);
    const started = Date.now();
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
    log?.info(
      { version: migration.version, name: migration.name, durationMs: Date.now() - started },
      `applied migration ${migration.version} in ${formatDuration(Date.now() - started)}`,
    );
  }
  return { applied, current: Math.max(newest, ...applied) };
}

/**
 * `switchyard-runner migrate`: brings the hub store to this runner's schema version and says what it did. Rejects
 * when the store is at a newer version than this runner knows.
 */
export async function migrate(pool: Pool, log: Logger): Promise<MigrationReport> {
  const report = await applyMigrations(pool, allMigrations, log);
  if (report.applied.length === 0) {
    log.info({ version: report.current }, `the hub store's schema is already at version ${report.current}`);
  } else {
    log.info(
      { applied: report.applied, version: report.current },
      `applied migration${report.applied.length === 1 ? '' : 's'} ${report.applied.join(', ')}: ` +
        `the hub store's schema is at version ${report.current}`,
    );
  }
  return report;
}
