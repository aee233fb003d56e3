// The hub-store connection budget on a real PostgreSQL: a runner's pool holds one session and bounds it with
// server-side timeouts; a full or absent server is waited out with a clear message; migrations lift the timeout.
import { randomBytes } from 'node:crypto';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createLogger } from '../../operator/runner/log.ts';
import { createPool } from '../../operator/runner/store/database.ts';
import { applyMigrations, migrate } from '../../operator/runner/store/migrate.ts';
import { migrations } from '../../operator/runner/store/migrations.ts';
import { hubSchemaVersion } from '../../operator/api/runner-contract.ts';
import { HubStoreError, waitForConnection } from '../../operator/runner/store/readiness.ts';
import { freeLoopbackPort } from '../support/free-port.ts';
import { startPostgres, type PostgresServer } from '../support/postgres.ts';
import { createDatabase, useTestDatabase } from './support/database.ts';
import { capturingLogger, warnLevel } from './support/log-capture.ts';

const db = useTestDatabase();
const silent = createLogger('silent');
const fast = { initialMs: 50, maxMs: 200 };
const uniqueName = (prefix: string) => `${prefix}-${randomBytes(4).toString('hex')}`;

async function sessionsOf(applicationName: string): Promise<number> {
  const { rows } = await db.pool.query<{ count: number }>(
    'SELECT count(*)::int AS count FROM pg_stat_activity WHERE application_name = $1',
    [applicationName],
  );
  return rows[0]?.count ?? 0;
}

/** Runs 20 queries at once through `pool`, each lasting a moment, and returns the most sessions seen meanwhile. */
async function peakSessions(pool: pg.Pool, applicationName: string): Promise<number> {
  let peak = 0;
  let running = true;
  const watching = (async () => {
    while (running) {
      peak = Math.max(peak, await sessionsOf(applicationName));
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  })();
  const results = await Promise.all(
    Array.from({ length: 20 }, () =>
      pool.query<{ sessions: number }>(
        `SELECT (SELECT count(*)::int FROM pg_stat_activity WHERE application_name = $1) AS sessions,
                pg_sleep(0.02)`,
        [applicationName],
      ),
    ),
  );
  running = false;
  await watching;
  return Math.max(peak, ...results.map((result) => result.rows[0]?.sessions ?? 0));
}

describe('a runner pool', () => {
  it('holds one session however many queries it is given at once', async () => {
    const name = uniqueName('budget');
    const pool = createPool(db.url, name, silent, 1);
    try {
      expect(await peakSessions(pool, name)).toBe(1);
      expect(pool.totalCount).toBe(1);
    } finally {
      await pool.end();
    }
  });

  it('holds one session by default, and the measurement sees more when a pool may open more', async () => {
    const single = uniqueName('budget-default');
    const wide = uniqueName('budget-wide');
    const byDefault = createPool(db.url, single, silent);
    const fourWide = createPool(db.url, wide, silent, 4);
    try {
      expect(await peakSessions(byDefault, single)).toBe(1);
      expect(await peakSessions(fourWide, wide)).toBeGreaterThan(1);
    } finally {
      await Promise.all([byDefault.end(), fourWide.end()]);
    }
  });

  it('runs its sessions with a statement timeout and an idle-in-transaction timeout set by the server', async () => {
    const pool = createPool(db.url, uniqueName('timeouts'), silent);
    try {
      const setting = async (name: string) =>
        (await pool.query<Record<string, string>>(`SHOW ${name}`)).rows[0]?.[name];
      expect(await setting('statement_timeout')).toBe('30s');
      expect(await setting('idle_in_transaction_session_timeout')).toBe('1min');
      await expect(pool.query('SELECT pg_sleep(0.5)')).resolves.toBeDefined();
    } finally {
      await pool.end();
    }
  });
});

// Each of these takes the 10 s of a pg-pool default or of the connect timeout; they run side by side.
describe.concurrent('a runner pool over time', () => {
  it('keeps its one session while idle', { timeout: 40_000 }, async ({ expect }) => {
    const pool = createPool(db.url, uniqueName('idle'), silent);
    try {
      const pid = async () => (await pool.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid;
      const first = await pid();
      await new Promise((resolve) => setTimeout(resolve, 11_000));
      expect(await pid()).toBe(first);
    } finally {
      await pool.end();
    }
  });

  it(
    'lets a query wait for its one connection longer than a connection attempt may take',
    { timeout: 40_000 },
    async ({ expect }) => {
      const pool = createPool(db.url, uniqueName('queue'), silent, 1);
      try {
        const long = pool.query('SELECT pg_sleep(10.5)');
        const queued = pool.query<{ one: number }>('SELECT 1 AS one').then(
          (result) => result.rows[0]?.one,
          (error: unknown) => error,
        );
        await long;
        expect(await queued).toBe(1);
      } finally {
        await pool.end();
      }
    },
  );

  it(
    'gives up a connection attempt that the server never answers after 10 s',
    { timeout: 40_000 },
    async ({ expect }) => {
      const sockets = new Set<Socket>();
      const silentServer = createServer((socket) => sockets.add(socket));
      await new Promise<void>((resolve) => silentServer.listen(0, '127.0.0.1', resolve));
      const { port } = silentServer.address() as AddressInfo;
      const pool = createPool(`postgresql://runner:pw@127.0.0.1:${port}/hub`, uniqueName('silent'), silent);
      try {
        const started = Date.now();
        const error = await waitForConnection(pool, { log: silent, deadlineMs: 1 }).catch((e: unknown) => e);
        expect((error as Error).message).toBe(
          'the hub store did not answer in time (network, or an overloaded server); gave up after 1 ms',
        );
        expect(Date.now() - started).toBeGreaterThanOrEqual(9_500);
        expect(Date.now() - started).toBeLessThan(15_000);
      } finally {
        await pool.end();
        for (const socket of sockets) socket.destroy();
        await new Promise((resolve) => silentServer.close(resolve));
      }
    },
  );
});

describe('migrations', () => {
  it('run without the statement timeout, and the session gets it back afterwards', async () => {
    const fresh = await createDatabase(inject('postgresUrl'));
    const pool = createPool(fresh.url, uniqueName('migrate'), silent);
    try {
      await fresh.pool.query('DROP SCHEMA public CASCADE; CREATE SCHEMA public');
      await applyMigrations(pool, [
        {
          version: 1,
          name: 'probe',
          sql: `CREATE TABLE probe AS SELECT current_setting('statement_timeout') AS setting`,
        },
      ]);
      const { rows } = await fresh.pool.query<{ setting: string }>('SELECT setting FROM probe');
      expect(rows[0]?.setting).toBe('0');
      expect((await pool.query<{ statement_timeout: string }>('SHOW statement_timeout')).rows[0]).toEqual({
        statement_timeout: '30s',
      });
    } finally {
      await pool.end();
      await fresh.drop();
    }
  });

  it('are applied by migrate, which says what it applied, and then that there is nothing left', async () => {
    const fresh = await createDatabase(inject('postgresUrl'));
    const pool = createPool(fresh.url, uniqueName('migrate'), silent);
    try {
      await fresh.pool.query('DROP SCHEMA public CASCADE; CREATE SCHEMA public');
      const { log, lines } = capturingLogger();
      const first = await migrate(pool, log);
      const all = migrations.map((migration) => migration.version);
      expect(first).toEqual({ applied: all, current: hubSchemaVersion });
      expect(lines.at(-1)?.msg).toBe(
        `applied migrations ${all.join(', ')}: the hub store's schema is at version ${hubSchemaVersion}`,
      );
      const again = await migrate(pool, log);
      expect(again).toEqual({ applied: [], current: hubSchemaVersion });
      expect(lines.at(-1)?.msg).toBe(`the hub store's schema is already at version ${hubSchemaVersion}`);
    } finally {
      await pool.end();
      await fresh.drop();
    }
  });
});

describe('a hub store that is full', () => {
  let server: PostgresServer;
  let runnerUrl: string;
  const runnerPassword = randomBytes(12).toString('hex');
  /** Sessions of the runner role that take every slot it may use. */
  const fillers: pg.Client[] = [];

  beforeAll(async () => {
    // Six slots, three of them reserved for superusers (PostgreSQL's default): the runner role, like a real runner's,
    // is no superuser and is refused once three are taken.
    server = await startPostgres({ maxConnections: 6, superuserReservedConnections: 3 });
    const admin = new pg.Client(server.url);
    await admin.connect();
    await admin.query(`CREATE ROLE runner LOGIN PASSWORD '${runnerPassword}'`);
    await admin.end();
    const url = new URL(server.url);
    url.username = 'runner';
    url.password = runnerPassword;
    runnerUrl = url.toString();
  });

  afterAll(async () => {
    await Promise.all(fillers.map((client) => client.end().catch(() => undefined)));
    await server?.stop();
  });

  /** Connects as the runner role until PostgreSQL refuses: the server is then full for that role. */
  async function fill(): Promise<void> {
    for (;;) {
      const client = new pg.Client({ connectionString: runnerUrl, application_name: 'filler' });
      client.on('error', () => undefined);
      try {
        await client.connect();
      } catch (error) {
        expect(error).toMatchObject({ code: '53300' });
        return;
      }
      fillers.push(client);
      expect(fillers.length).toBeLessThan(6);
    }
  }

  async function freeOne(): Promise<void> {
    await fillers.pop()?.end();
  }

  it('is waited out: each refusal is logged as too many clients, and the wait ends once a slot frees', async () => {
    await fill();
    const pool = createPool(runnerUrl, 'full-server-test', silent);
    const { log, lines, raw } = capturingLogger();
    try {
      const waiting = waitForConnection(pool, { log, backoff: fast });
      await expect.poll(() => lines.filter((line) => line.level === warnLevel).length).toBeGreaterThanOrEqual(3);
      await freeOne();
      await waiting;
      const warnings = lines.filter((line) => line.level === warnLevel);
      expect(warnings[0]).toMatchObject({
        code: '53300',
        attempt: 1,
        retryInMs: expect.any(Number) as unknown,
        msg: expect.stringMatching(
          /^the hub store refused the connection: too many clients \(PostgreSQL max_connections is reached; see the connection budget in docs\/hub-store\.md\); retrying in \d+ ms$/,
        ) as unknown,
      });
      expect(lines.at(-1)).toMatchObject({ msg: 'connected to the hub store', failedAttempts: warnings.length });
      expect(raw.join('\n')).not.toContain(runnerPassword);
      expect(pool.totalCount).toBe(1);
    } finally {
      await pool.end();
    }
  });

  it('rejects with the same clear message at the deadline', async () => {
    await fill();
    const pool = createPool(runnerUrl, 'full-server-test', silent);
    const { log, lines } = capturingLogger();
    try {
      const started = Date.now();
      const error = await waitForConnection(pool, { log, backoff: fast, deadlineMs: 800 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(HubStoreError);
      expect((error as Error).message).toBe(
        'the hub store refused the connection: too many clients (PostgreSQL max_connections is reached; ' +
          'see the connection budget in docs/hub-store.md); gave up after 800 ms',
      );
      expect((error as Error).message).not.toContain(runnerPassword);
      expect(Date.now() - started).toBeGreaterThanOrEqual(800);
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(lines.filter((line) => line.level === warnLevel).length).toBeGreaterThanOrEqual(2);
    } finally {
      await pool.end();
    }
  });

  it('stops waiting when aborted', async () => {
    await fill();
    const pool = createPool(runnerUrl, 'full-server-test', silent);
    const { log, lines } = capturingLogger();
    const controller = new AbortController();
    try {
      const waiting = waitForConnection(pool, { log, backoff: fast, signal: controller.signal });
      await expect.poll(() => lines.length).toBeGreaterThanOrEqual(1);
      controller.abort();
      await expect(waiting).rejects.toMatchObject({ name: 'AbortError' });
    } finally {
      await pool.end();
    }
  });

  it('does not wait for a password that is wrong: that rejects at once', async () => {
    const url = new URL(runnerUrl);
    url.password = 'not-the-password';
    const pool = createPool(url.toString(), 'wrong-password-test', silent);
    const { log, lines } = capturingLogger();
    try {
      await freeOne();
      await expect(waitForConnection(pool, { log, backoff: fast })).rejects.toThrow(
        /^the hub store refused the password \(password authentication failed for user "runner"\)/,
      );
      expect(lines).toEqual([]);
    } finally {
      await pool.end();
    }
  });
});

describe('a hub store that is not listening', () => {
  it('is retried as refused, then given up at the deadline', async () => {
    const port = await freeLoopbackPort();
    const pool = createPool(`postgresql://runner:secret-password@127.0.0.1:${port}/hub`, 'absent-test', silent);
    const { log, lines } = capturingLogger();
    try {
      const error = await waitForConnection(pool, { log, backoff: fast, deadlineMs: 500 }).catch((e: unknown) => e);
      expect((error as Error).message).toBe(
        `the hub store refused the TCP connection at 127.0.0.1:${port}: PostgreSQL is not listening there ` +
          "(restarting, or the database URL's host or port is wrong); gave up after 500 ms",
      );
      expect(lines[0]).toMatchObject({ level: warnLevel, code: 'ECONNREFUSED' });
      expect(JSON.stringify(lines)).not.toContain('secret-password');
    } finally {
      await pool.end();
    }
  });

  it('is waited for across a restart', async () => {
    const server = await startPostgres({ maxConnections: 10 });
    const pool = createPool(server.url, 'restart-test', silent);
    const { log } = capturingLogger();
    try {
      await pool.query('SELECT 1');
      const restarting = server.restart();
      // Started while the server goes down and up: refused, or told it is starting, until it answers again.
      const waited = (async () => {
        await new Promise((resolve) => setTimeout(resolve, 50));
        await waitForConnection(pool, { log, backoff: fast, deadlineMs: 60_000 });
      })();
      await restarting;
      await waited;
      expect((await pool.query<{ one: number }>('SELECT 1 AS one')).rows[0]?.one).toBe(1);
    } finally {
      await pool.end();
      await server.stop();
    }
  });
});
