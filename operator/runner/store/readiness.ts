// Before a runner works it waits for the hub store: first for a connection (a full or restarting server is waited
// out with backoff, and each refusal is logged in a sentence a platform engineer can act on), then for the schema
// this runner needs. Runners only read the schema version, without a lock; the `switchyard-runner migrate` Job that
// the operator starts per namespace applies migrations (migrate.ts).
import type { Logger } from 'pino';
import {
  backoffDelay,
  defaultBackoff,
  formatDuration,
  sleep,
  throwIfAborted,
  unlessAborted,
  type Backoff,
} from './backoff.ts';
import { describeConnectionFailure } from './connection-failures.ts';
import type { Pool } from './database.ts';
import { hubSchemaVersion } from '../../api/runner-contract.ts';

/** The hub store cannot be used: the message says why, in one sentence; `cause` holds the last error, if any. */
export class HubStoreError extends Error {
  override readonly name = 'HubStoreError';
}

export interface WaitOptions {
  readonly log: Logger;
  /** Stops waiting: the promise rejects with the signal's reason. */
  readonly signal?: AbortSignal;
  /** Gives up this many milliseconds after the call (interval and cleanup runs); without it, waits as long as it takes. */
  readonly deadlineMs?: number;
  /** Delays between attempts; the default is 0.5 s doubling up to 30 s, with jitter. */
  readonly backoff?: Backoff;
}

/** Paces the attempts of one wait and knows when its deadline has passed. */
class Attempts {
  #failed = 0;
  readonly #giveUpAt: number;
  readonly #options: WaitOptions;

  constructor(options: WaitOptions) {
    this.#options = options;
    this.#giveUpAt = options.deadlineMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + options.deadlineMs;
  }

  get failed(): number {
    return this.#failed;
  }

  /** The delay before the next attempt (the last one is at the deadline), or undefined once the deadline has passed. */
  next(): number | undefined {
    const remaining = this.#giveUpAt - Date.now();
    if (remaining <= 0) return undefined;
    return Math.min(backoffDelay(this.#failed++, this.#options.backoff ?? defaultBackoff), remaining);
  }

  gaveUp(message: string, cause?: unknown): HubStoreError {
    const after = formatDuration(this.#options.deadlineMs ?? 0);
    return new HubStoreError(`${message}; gave up after ${after}`, cause === undefined ? undefined : { cause });
  }
}

/** After a failed query: throws what waiting cannot fix, or the deadline; otherwise logs why and waits. */
async function waitAfterFailure(error: unknown, attempts: Attempts, { log, signal }: WaitOptions): Promise<void> {
  throwIfAborted(signal);
  const failure = describeConnectionFailure(error);
  if (!failure.retryable) throw new HubStoreError(failure.message, { cause: error });
  const delay = attempts.next();
  if (delay === undefined) throw attempts.gaveUp(failure.message, error);
  log.warn(
    { code: failure.code, attempt: attempts.failed, retryInMs: delay },
    `${failure.message}; retrying in ${formatDuration(delay)}`,
  );
  await sleep(delay, signal);
}

/**
 * Resolves once the hub store answers `SELECT 1` through `pool`. A retryable refusal (too many clients, a restart) is
 * logged as one warn line with the delay before the next attempt; one that waiting cannot fix (a wrong password, a
 * missing database) rejects at once with a HubStoreError, as does the deadline.
 */
export async function waitForConnection(pool: Pool, options: WaitOptions): Promise<void> {
  const { log, signal } = options;
  const attempts = new Attempts(options);
  for (;;) {
    throwIfAborted(signal);
    try {
      await unlessAborted(pool.query('SELECT 1'), signal);
      if (attempts.failed > 0) log.info({ failedAttempts: attempts.failed }, 'connected to the hub store');
      return;
    } catch (error) {
      await waitAfterFailure(error, attempts, options);
    }
  }
}

export interface SchemaVersion {
  /** The newest migration applied to the hub store; 0 when none is. */
  readonly current: number;
  /** The newest migration this runner knows. */
  readonly required: number;
}

/** Reads the hub store's schema version. Takes no lock: a migration in progress does not block it. */
export async function checkSchema(pool: Pool): Promise<SchemaVersion> {
  // Looking first spares the server's log an error per runner start while the store is still empty.
  const { rows: found } = await pool.query<{ present: boolean }>(
    `SELECT to_regclass('schema_migrations') IS NOT NULL AS present`,
  );
  if (found[0]?.present !== true) return { current: 0, required: hubSchemaVersion };
  try {
    const { rows } = await pool.query<{ version: number | null }>(
      'SELECT max(version) AS version FROM schema_migrations',
    );
    return { current: rows[0]?.version ?? 0, required: hubSchemaVersion };
  } catch (error) {
    // Dropped between the two statements: as good as never created.
    if ((error as { code?: unknown }).code === '42P01') return { current: 0, required: hubSchemaVersion };
    throw error;
  }
}

export function olderSchemaMessage({ current, required }: SchemaVersion): string {
  return (
    `the hub store's schema is at version ${current}; this runner needs ${required}: run \`switchyard-runner migrate\` ` +
    `(the operator starts a Job \`switchyard-migrate-v${required}\` in each namespace)`
  );
}

export function newerSchemaMessage({ current, required }: SchemaVersion): string {
  return (
    `the hub store's schema is at version ${current}, newer than this runner's ${required}; ` +
    'upgrade the runner image'
  );
}

// While a runner keeps waiting for a migration, it repeats why this often, so the reason stays in recent logs.
const repeatWaitingLineMs = 10 * 60_000;

/**
 * Resolves once the hub store's schema is the version this runner needs. An older schema is logged (once, again when
 * it changes, and every 10 minutes) and polled with backoff until a migration brings it up to date, or until the
 * deadline; a newer one rejects at once: this runner must not write to a schema it does not know.
 */
export async function waitForSchema(pool: Pool, options: WaitOptions): Promise<SchemaVersion> {
  const { log, signal } = options;
  const attempts = new Attempts(options);
  let reported: { current: number; at: number } | undefined;
  for (;;) {
    throwIfAborted(signal);
    let version: SchemaVersion;
    try {
      version = await unlessAborted(checkSchema(pool), signal);
    } catch (error) {
      await waitAfterFailure(error, attempts, options);
      continue;
    }
    if (version.current === version.required) {
      if (reported !== undefined) log.info({ version: version.current }, "the hub store's schema is up to date now");
      return version;
    }
    if (version.current > version.required) throw new HubStoreError(newerSchemaMessage(version));
    const message = olderSchemaMessage(version);
    const delay = attempts.next();
    if (delay === undefined) throw attempts.gaveUp(message);
    if (reported?.current !== version.current || Date.now() - reported.at >= repeatWaitingLineMs) {
      log.warn({ current: version.current, required: version.required }, message);
      reported = { current: version.current, at: Date.now() };
    }
    await sleep(delay, signal);
  }
}
