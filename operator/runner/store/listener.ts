// One LISTEN connection per watcher process, for every channel it serves, that stays up: when PostgreSQL restarts or
// drops the session, it reconnects with backoff and reports the reconnect, so the watcher can catch up on what it
// missed while deaf. A periodic probe finds sessions that died silently (a half-open TCP connection delivers no error
// and no notifications). It says whether it listens, and since when it does not, for the watcher's probes.
import pg from 'pg';
import type { Logger } from 'pino';
import { describeConnectionFailure } from './connection-failures.ts';
import { sessionConfig } from './database.ts';

export interface ListenerOptions {
  readonly databaseUrl: string;
  /** Channel → what to do when it is notified. */
  readonly channels: ReadonlyMap<string, () => void>;
  readonly applicationName: string;
  readonly log: Logger;
  /** Called after each successful (re)connect: notifications sent meanwhile were lost. */
  readonly onListening: () => void;
}

const firstReconnectDelayMs = 250;
const maxReconnectDelayMs = 5000;
const probeTimeoutMs = 5000;

export function reconnectDelay(failedAttempts: number): number {
  return Math.min(firstReconnectDelayMs * 2 ** failedAttempts, maxReconnectDelayMs);
}

export class NotificationListener {
  readonly #options: ListenerOptions;
  #client: pg.Client | undefined;
  readonly #abandoned = new WeakSet<pg.Client>();
  #failedAttempts = 0;
  #reconnectTimer: NodeJS.Timeout | undefined;
  #closed = false;
  /** When the listener last stopped listening (or was created); undefined while it listens. */
  #deafSince: number | undefined = Date.now();
  /** Work in progress (a connect, a probe, closing a dead client), awaited on close. */
  readonly #pending = new Set<Promise<void>>();

  constructor(options: ListenerOptions) {
    this.#options = options;
  }

  start(): void {
    this.#track(this.#connect());
  }

  /** True while every channel is listened to. */
  get listening(): boolean {
    return this.#deafSince === undefined;
  }

  /** Milliseconds since the listener last listened (or was started); 0 while it listens. */
  deafForMs(now = Date.now()): number {
    return this.#deafSince === undefined ? 0 : now - this.#deafSince;
  }

  /** Checks that the session still answers; a session that does not is replaced. */
  probe(): void {
    const client = this.#client;
    if (!client) return;
    this.#track(
      client.query('SELECT 1').then(
        () => undefined,
        (error: unknown) => this.#lost(client, error),
      ),
    );
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#reconnectTimer);
    const client = this.#client;
    this.#client = undefined;
    if (client) {
      this.#abandoned.add(client);
      this.#track(client.end().catch(() => undefined));
    }
    while (this.#pending.size > 0) await Promise.all(this.#pending);
  }

  #track(work: Promise<void>): void {
    const tracked: Promise<void> = work
      .catch((error: unknown) => this.#options.log.error({ err: error }, 'notification listener failed'))
      .finally(() => this.#pending.delete(tracked));
    this.#pending.add(tracked);
  }

  async #connect(): Promise<void> {
    const { databaseUrl, applicationName, channels, log } = this.#options;
    const client = new pg.Client({
      ...sessionConfig(databaseUrl, applicationName),
      // Bounds the probe: a session that does not answer in time is as good as dead.
      query_timeout: probeTimeoutMs,
    });
    client.on('error', (error) => this.#lost(client, error));
    client.on('end', () => this.#lost(client, new Error('the connection ended')));
    client.on('notification', (message) => channels.get(message.channel)?.());
    try {
      await client.connect();
      // One statement for all channels: one round trip however many carts the watcher serves.
      await client.query([...channels.keys()].map((channel) => `LISTEN ${pg.escapeIdentifier(channel)}`).join('; '));
    } catch (error) {
      this.#lost(client, error);
      return;
    }
    if (this.#closed || this.#abandoned.has(client)) {
      await client.end().catch(() => undefined);
      return;
    }
    this.#client = client;
    this.#deafSince = undefined;
    if (this.#failedAttempts > 0) log.info('listening again for new work');
    this.#failedAttempts = 0;
    this.#options.onListening();
  }

  #lost(client: pg.Client, error: unknown): void {
    if (this.#abandoned.has(client)) return;
    this.#abandoned.add(client);
    if (this.#client === client) {
      this.#client = undefined;
      this.#deafSince = Date.now();
    }
    this.#track(client.end().catch(() => undefined));
    if (this.#closed) return;
    const delay = reconnectDelay(this.#failedAttempts++);
    const { message, code } = describeConnectionFailure(error);
    this.#options.log.warn(
      { code, reconnectInMs: delay },
      `lost the notification connection: ${message}; reconnecting`,
    );
    this.#reconnectTimer = setTimeout(() => this.#track(this.#connect()), delay);
  }
}
