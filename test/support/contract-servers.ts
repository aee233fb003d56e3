// Loopback HTTP servers that play a cart platform and a warehouse by the runner's HTTP contract
// (docs/runner-http-contract.md): feeds the runner reads from a cursor, and sinks that take writes, honour
// Idempotency-Key (a repeat is answered as before and not applied again) and can be told to fail or to be slow.
// Used by the runner's tests, its benchmark and demos; not part of the runner.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';

/** What a sink answers instead of accepting a write; `undefined` from a rule means accept. */
export interface ScriptedResponse {
  readonly status: number;
  /** Sent as {"error": reason}. */
  readonly reason?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface ReceivedWrite {
  readonly idempotencyKey: string;
  readonly body: Record<string, unknown>;
  /** The status the sink answered with. */
  readonly status: number;
  /** True when the key had been accepted before: the sink answered as before and applied nothing. */
  readonly replayed: boolean;
  /** performance.now() when the request arrived. */
  readonly at: number;
}

/** Takes writes of one kind (orders at a warehouse, tracking or inventory at a cart). */
export class Sink {
  /** Every write request, in arrival order, including repeats and refused ones. */
  readonly received: ReceivedWrite[] = [];
  /** The writes applied: each accepted idempotency key once. */
  readonly applied: ReceivedWrite[] = [];
  readonly #acceptedKeys = new Set<string>();
  readonly #idField: string;
  #rule: ((body: Record<string, unknown>) => ScriptedResponse | undefined) | undefined;
  #onApplied: ((write: ReceivedWrite) => void) | undefined;

  constructor(idField: string) {
    this.#idField = idField;
  }

  /** Decides per write whether to refuse it; `undefined` accepts. Replaces the previous rule. */
  respondWith(rule: ((body: Record<string, unknown>) => ScriptedResponse | undefined) | undefined): void {
    this.#rule = rule;
  }

  onApplied(listener: ((write: ReceivedWrite) => void) | undefined): void {
    this.#onApplied = listener;
  }

  /** The record's id as the sink sees it (an order's hub id, a shipment's id, a SKU). */
  idOf(body: Record<string, unknown>): string {
    return String(body[this.#idField]);
  }

  /** Applied writes of one record, in order. */
  appliedFor(id: string): Record<string, unknown>[] {
    return this.applied.filter((write) => this.idOf(write.body) === id).map((write) => write.body);
  }

  /** Write requests for one record, in order, however they were answered. */
  receivedFor(id: string): ReceivedWrite[] {
    return this.received.filter((write) => this.idOf(write.body) === id);
  }

  accept(idempotencyKey: string, body: Record<string, unknown>): { response: ScriptedResponse; replayed: boolean } {
    const at = performance.now();
    if (this.#acceptedKeys.has(idempotencyKey)) {
      this.received.push({ idempotencyKey, body, status: 200, replayed: true, at });
      return { response: { status: 200, headers: { 'idempotent-replayed': 'true' } }, replayed: true };
    }
    const refusal = this.#rule?.(body);
    if (refusal) {
      this.received.push({ idempotencyKey, body, status: refusal.status, replayed: false, at });
      return { response: refusal, replayed: false };
    }
    const write: ReceivedWrite = { idempotencyKey, body, status: 200, replayed: false, at };
    this.#acceptedKeys.add(idempotencyKey);
    this.received.push(write);
    this.applied.push(write);
    this.#onApplied?.(write);
    return { response: { status: 200 }, replayed: false };
  }
}

interface FeedEntry {
  readonly sequence: number;
  readonly key: string;
  readonly item: unknown;
}

/** Records a source offers, read by cursor: each change (new or edited record) moves the record to the end. */
export class Feed {
  /** By record id, in the order of their last change (a Map keeps insertion order; delete + set moves to the end). */
  readonly #entries = new Map<string, FeedEntry>();
  #sequence = 0;
  readonly #idField: string;
  #failures: ScriptedResponse[] = [];
  /** How many pages were asked for. */
  reads = 0;

  constructor(idField: string) {
    this.#idField = idField;
  }

  /** Adds a record or replaces the one with the same id. Anything goes, so malformed records can be offered. */
  put(...items: unknown[]): void {
    for (const item of items) {
      const id =
        typeof item === 'object' && item !== null ? (item as Record<string, unknown>)[this.#idField] : undefined;
      const sequence = ++this.#sequence;
      const key = typeof id === 'string' ? id : `unkeyed-${sequence}`;
      this.#entries.delete(key);
      this.#entries.set(key, { sequence, key, item });
    }
  }

  /** Takes records off the source, as if deleted there. */
  remove(predicate: (item: unknown) => boolean): void {
    for (const [key, entry] of this.#entries) if (predicate(entry.item)) this.#entries.delete(key);
  }

  /** The next `count` reads fail with this response, then reads work again. */
  failNextReads(count: number, response: ScriptedResponse): void {
    this.#failures.push(...Array.from({ length: count }, () => response));
  }

  read(since: string | undefined, limit: number): { response?: ScriptedResponse; page?: unknown } {
    this.reads++;
    const failure = this.#failures.shift();
    if (failure) return { response: failure };
    const after = since === undefined || since === '' ? 0 : Number(since);
    const page: FeedEntry[] = [];
    let hasMore = false;
    for (const entry of this.#entries.values()) {
      if (entry.sequence <= after) continue;
      if (page.length === limit) {
        hasMore = true;
        break;
      }
      page.push(entry);
    }
    return {
      page: {
        items: page.map((entry) => entry.item),
        nextCursor: String(page.at(-1)?.sequence ?? after),
        hasMore,
      },
    };
  }
}

export interface EndpointOptions {
  /** When set, every request must carry `Authorization: Bearer <token>`. */
  readonly token?: string;
}

abstract class ContractServer {
  readonly #server: Server;
  readonly #token: string | undefined;
  /** Added to every write before it is answered (a slow destination). */
  writeDelayMs = 0;
  /** Requests refused for missing or wrong credentials. */
  unauthorized = 0;
  url = '';

  protected constructor(options: EndpointOptions) {
    this.#token = options.token;
    this.#server = createServer((request, response) => {
      this.#handle(request, response).catch((error: unknown) => {
        if (!response.headersSent) send(response, { status: 500, reason: String(error) });
      });
    });
    this.#server.keepAliveTimeout = 30_000;
  }

  protected abstract feeds(): Record<string, Feed>;
  protected abstract sinks(): Record<string, Sink>;

  async listen(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://fake');
    const body = await readBody(request);
    if (this.#token !== undefined && request.headers.authorization !== `Bearer ${this.#token}`) {
      this.unauthorized++;
      return send(response, { status: 401, reason: 'missing or wrong credentials' });
    }
    const name = url.pathname.replace(/^\//, '');
    const feed = this.feeds()[name];
    if (request.method === 'GET' && feed) {
      const limit = Number(url.searchParams.get('limit') ?? '100');
      if (!Number.isInteger(limit) || limit < 1) return send(response, { status: 400, reason: 'limit must be >= 1' });
      const { response: failure, page } = feed.read(url.searchParams.get('since') ?? undefined, limit);
      return failure ? send(response, failure) : send(response, { status: 200 }, page);
    }
    const sink = this.sinks()[name];
    if (request.method === 'POST' && sink) {
      const key = request.headers['idempotency-key'];
      if (typeof key !== 'string' || key === '') {
        return send(response, { status: 400, reason: 'Idempotency-Key header is required' });
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(body);
      } catch {
        return send(response, { status: 400, reason: 'body is not JSON' });
      }
      if (this.writeDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.writeDelayMs));
      const { response: answer } = sink.accept(key, parsed as Record<string, unknown>);
      return send(response, answer, answer.status < 300 ? { ok: true } : undefined);
    }
    return send(response, { status: 404, reason: `no ${request.method} /${name} here` });
  }
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function send(response: ServerResponse, answer: ScriptedResponse, json?: unknown): void {
  const payload =
    json !== undefined ? JSON.stringify(json) : answer.reason ? JSON.stringify({ error: answer.reason }) : '';
  response.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
  response.end(payload);
}

/** A cart platform: offers orders; takes tracking and inventory levels. */
export class FakeCart extends ContractServer {
  readonly orders = new Feed('id');
  readonly tracking = new Sink('id');
  readonly inventory = new Sink('sku');

  constructor(options: EndpointOptions = {}) {
    super(options);
  }

  protected feeds() {
    return { orders: this.orders };
  }

  protected sinks() {
    return { tracking: this.tracking, inventory: this.inventory };
  }
}

/** A warehouse (WMS/OMS): takes orders; offers shipments and inventory levels. */
export class FakeWarehouse extends ContractServer {
  readonly orders = new Sink('id');
  readonly shipments = new Feed('id');
  readonly inventory = new Feed('sku');

  constructor(options: EndpointOptions = {}) {
    super(options);
  }

  protected feeds() {
    return { shipments: this.shipments, inventory: this.inventory };
  }

  protected sinks() {
    return { orders: this.orders };
  }
}

export function startFakeCart(options: EndpointOptions = {}): Promise<FakeCart> {
  return new FakeCart(options).listen();
}

export function startFakeWarehouse(options: EndpointOptions = {}): Promise<FakeWarehouse> {
  return new FakeWarehouse(options).listen();
}
