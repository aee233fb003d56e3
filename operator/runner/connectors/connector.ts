// The connector interface: what the service logic needs from a cart platform or a warehouse system. A connector
// translates between that system and the hub's canonical records; it does not decide about retries or state.
// A Shopify or FTP/CSV connector implements the same interface, and nothing in services/ changes.

/** One page of a source's records since a cursor. Items are raw: the services screen each one. */
export interface SourcePage {
  readonly items: readonly unknown[];
  /** Where the next read starts; opaque to the hub. */
  readonly nextCursor: string;
  readonly hasMore: boolean;
}

/** One record to send. */
export interface RecordWrite {
  /** The record's id, for logs. */
  readonly recordKey: string;
  /** Stable for this version of this record at this destination, so the destination can drop a repeat. */
  readonly idempotencyKey: string;
  readonly body: Readonly<Record<string, unknown>>;
}

/** What became of one write, as far as the hub must act on it. */
export type DeliveryOutcome =
  | { readonly kind: 'delivered' }
  /** The destination refused the record as it is: retrying will not help until a person acts. */
  | { readonly kind: 'permanent'; readonly reason: string }
  /** Worth retrying later (timeouts, 5xx, 429); the destination may have said when. */
  | { readonly kind: 'transient'; readonly reason: string; readonly retryAfterMs?: number };

/** A source could not be read; `transient` failures are worth another try within the same run. */
export class SourceReadError extends Error {
  readonly transient: boolean;
  readonly retryAfterMs: number | undefined;

  constructor(message: string, transient: boolean, retryAfterMs?: number) {
    super(message);
    this.name = 'SourceReadError';
    this.transient = transient;
    this.retryAfterMs = retryAfterMs;
  }
}

interface Connector {
  /** How many writes the destination takes at once. */
  readonly maxConcurrentWrites: number;
  /** Releases connections kept open for reuse. */
  close(): void;
}

/** A shopping cart platform: the source of orders and the destination of tracking and inventory. */
export interface CartConnector extends Connector {
  listOrders(cursor: string | undefined, limit: number): Promise<SourcePage>;
  postTracking(write: RecordWrite): Promise<DeliveryOutcome>;
  postInventoryLevel(write: RecordWrite): Promise<DeliveryOutcome>;
}

/** A merchant's warehouse (WMS/OMS): the destination of orders and the source of shipments and inventory. */
export interface WarehouseConnector extends Connector {
  postOrder(write: RecordWrite): Promise<DeliveryOutcome>;
  listShipments(cursor: string | undefined, limit: number): Promise<SourcePage>;
  listInventory(cursor: string | undefined, limit: number): Promise<SourcePage>;
}
