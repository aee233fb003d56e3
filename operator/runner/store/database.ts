// Connections to the hub store. A pool serves the runner's queries; an idle connection that PostgreSQL drops
// (restart, failover, pg_terminate_backend) must not crash the process: the pool replaces it on next use.
// Connection budget (docs/hub-store.md): a runner's pool holds one connection, so thousands of runner pods stay
// within the server's max_connections; a watcher adds one LISTEN session of its own.
import pg from 'pg';
import type { ClientConfig, Pool, PoolClient } from 'pg';
import type { Logger } from 'pino';

export type { Pool } from 'pg';

// Server-side bounds on every hub-store session, sent at connection start so PostgreSQL enforces them whatever the
// client does. The runner's statements touch one page (batchSize rows) and take milliseconds: one that runs 30 s is
// stuck (a bad plan, a lock queue behind DDL) and is cancelled, which frees its connection slot and its locks.
export const statementTimeoutMs = 30_000;
// A session left inside a transaction (a runner hung between BEGIN and COMMIT, or a half-open TCP connection) holds
// row locks other runners wait for and a slot of max_connections; PostgreSQL ends it after a minute.
export const idleInTransactionSessionTimeoutMs = 60_000;
// Establishing a connection (TCP, TLS, authentication) gives up after this long.
export const connectTimeoutMs = 10_000;

/** The connection settings of every hub-store session; the LISTEN connection may use them too. */
export function sessionConfig(databaseUrl: string, applicationName: string): ClientConfig {
  return {
    connectionString: databaseUrl,
    application_name: applicationName,
    keepAlive: true,
    connectionTimeoutMillis: connectTimeoutMs,
    statement_timeout: statementTimeoutMs,
    idle_in_transaction_session_timeout: idleInTransactionSessionTimeoutMs,
  };
}

// pg-pool applies connectionTimeoutMillis to waiting for a free pool slot as well as to connecting. With one
// connection, a query queued behind a statement that legitimately runs for more than 10 s (up to statement_timeout)
// would fail with "timeout exceeded when trying to connect"; so the pool waits for its slot without a limit, and each
// client bounds only its own connection attempt.
class BoundedConnectClient extends pg.Client {
  constructor(config?: string | ClientConfig) {
    super({
      ...(typeof config === 'string' ? { connectionString: config } : config),
      connectionTimeoutMillis: connectTimeoutMs,
    });
  }
}

/**
 * A pool of at most `max` hub-store sessions (runners use 1: see the connection budget in docs/hub-store.md).
 * Queries beyond `max` wait their turn.
 */
export function createPool(databaseUrl: string, applicationName: string, log: Logger, max = 1): Pool {
  const pool = new pg.Pool({
    ...sessionConfig(databaseUrl, applicationName),
    max,
    // The pool keeps its connection while idle (pg-pool closes it after 10 s by default): a watcher that gave its slot
    // back between passes could find the server full when work arrives, and thousands of reconnects a minute cost the
    // server a process start each. The budget counts the connection as held anyway.
    idleTimeoutMillis: 0,
    connectionTimeoutMillis: 0,
    Client: BoundedConnectClient,
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
