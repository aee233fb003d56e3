// What sources send the hub: orders (carts), shipments and inventory levels (warehouses), in the canonical JSON
// shape of docs/runner-http-contract.md. Every connector hands over records in this shape; each record is screened
// on its own, so a malformed one is rejected with a reason and the rest of its page still loads.
import { z } from 'zod';
import { contentHash } from './canonical-json.ts';

/** Larger records are rejected: they would bloat the hub store and every request that carries them. */
export const maxRecordBytes = 256 * 1024;
export const maxRecordIdLength = 200;

const recordId = z.string().min(1).max(maxRecordIdLength);
const sku = z.string().min(1).max(128);

/** The hub's own id of an order, as sent to the warehouse: the cart's name, a slash, the cart's order id. */
const hubOrderIdPattern = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?\/.+$/;

export const sourceOrderSchema = z.looseObject({
  id: recordId,
  lines: z
    .array(z.looseObject({ sku, quantity: z.int().min(1).max(1_000_000) }))
    .min(1)
    .max(1000),
  /** The shopper or merchant cancelled the order: it holds no units any more (the warehouse is told as for an edit). */
  cancelled: z.boolean().optional(),
});
export type SourceOrder = z.infer<typeof sourceOrderSchema>;

/** The units an order holds, by SKU (a SKU on several lines adds up); none once it is cancelled. */
export function unitsBySku(order: SourceOrder): Map<string, number> {
  const units = new Map<string, number>();
  for (const line of order.lines)
    units.set(line.sku, (units.get(line.sku) ?? 0) + (order.cancelled ? 0 : line.quantity));
  return units;
}

export const sourceShipmentSchema = z.looseObject({
  id: recordId,
  orderId: z
    .string()
    .max(maxRecordIdLength + 254)
    .regex(hubOrderIdPattern, { error: 'must be the id the hub gave the order: <cart>/<cart order id>' }),
  carrier: z.string().min(1).max(100),
  trackingNumber: z.string().min(1).max(200),
});
export type SourceShipment = z.infer<typeof sourceShipmentSchema>;

export const sourceInventoryLevelSchema = z.looseObject({
  sku,
  quantity: z.int().min(0).max(Number.MAX_SAFE_INTEGER),
});
export type SourceInventoryLevel = z.infer<typeof sourceInventoryLevelSchema>;

/** One page of a source's records since a cursor; `items` are screened one by one. */
export const sourcePageSchema = z.object({
  items: z.array(z.unknown()),
  nextCursor: z.string().max(1024),
  hasMore: z.boolean(),
});

export interface Rejection {
  /** The record's id when it has a usable one, else a digest of its content. */
  readonly key: string;
  readonly reason: string;
}

export interface Screened<T> {
  readonly accepted: T[];
  readonly rejected: Rejection[];
}

/** A key for a rejected record: its own id if usable, else a content digest, so the same bad record keeps one key. */
export function rejectedRecordKey(item: unknown, idField: string): string {
  const id = typeof item === 'object' && item !== null ? (item as Record<string, unknown>)[idField] : undefined;
  if (typeof id === 'string' && id.length > 0 && id.length <= maxRecordIdLength) return id;
  if (typeof id === 'number' && Number.isFinite(id)) return String(id);
  return `content-sha256:${contentHash(item).slice(0, 16)}`;
}

/** Why zod rejected a record, by field and rule; zod's messages name types, not the values themselves. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : 'record'}: ${issue.message}`)
    .join('; ');
}

export function screenRecords<T>(items: readonly unknown[], schema: z.ZodType<T>, idField: string): Screened<T> {
  const accepted: T[] = [];
  const rejected: Rejection[] = [];
  for (const item of items) {
    const bytes = Buffer.byteLength(JSON.stringify(item) ?? '');
    if (bytes > maxRecordBytes) {
      rejected.push({
        key: rejectedRecordKey(item, idField),
        reason: `record is ${bytes} bytes; at most ${maxRecordBytes} are accepted`,
      });
      continue;
    }
    const result = schema.safeParse(item);
    if (result.success) accepted.push(result.data);
    else rejected.push({ key: rejectedRecordKey(item, idField), reason: describeIssues(result.error) });
  }
  return { accepted, rejected };
}

/** Splits the hub's order id back into the cart and the cart's own order id. */
export function parseHubOrderId(hubOrderId: string): { cart: string; sourceId: string } {
  const slash = hubOrderId.indexOf('/');
  return { cart: hubOrderId.slice(0, slash), sourceId: hubOrderId.slice(slash + 1) };
}

export function hubOrderId(cart: string, sourceId: string): string {
  return `${cart}/${sourceId}`;
}
