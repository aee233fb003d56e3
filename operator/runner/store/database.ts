// Connections to the hub store. A pool serves the runner's queries; an idle connection that PostgreSQL drops
// (restart, failover, pg_terminate_backend) must not crash the process: the pool replaces it on next use.
import pg from 'pg';
import type { Pool, PoolClient } from 'pg';
import type { Logger } from 'pino';

export type { Pool } from 'pg';

export function createPool(databaseUrl: string, applicationName: string, log: Logger, max = 4): Pool {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    application_name: applicationName,
    max,
    keepAlive: true,
    connectionTimeoutMillis: 10_000,
  });
  pool.on('error', (error) => log.warn({ err: error }, 'an idle hub store connection failed; it will be replaced'));
  return pool;
}

// Two runners taking pages that touch the same inventory rows can deadlock; PostgreSQL aborts one, which may retry.
const deadlockDetected = '40P01';
const attemptsOnDeadlock = 3;

export async function inTransaction<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await attemptTransaction(pool, work);
    } catch (error) {
      if ((error as { code?: string }).code !== deadlockDetected || attempt >= attemptsOnDeadlock) throw error;
    }
  }
}

async function attemptTransaction<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    client.release();
    return result;
  } catch (error) {
    // A broken connection cannot roll back; releasing it with the error makes the pool discard it.
    await client.query('ROLLBACK').catch(() => undefined);
    client.release(error instanceof Error ? error : true);
    throw error;
  }
}
