// Record shapes: screening what sources send, and what the hub sends on.
import { describe, expect, it } from 'vitest';
import { canonicalJson, contentHash } from '../../../operator/runner/records/canonical-json.ts';
import {
  hubOrderId,
  maxRecordBytes,
  parseHubOrderId,
  rejectedRecordKey,
  screenRecords,
  sourceInventoryLevelSchema,
  sourceOrderSchema,
  sourceShipmentSchema,
  unitsBySku,
} from '../../../operator/runner/records/inbound.ts';
import {
  cartInventoryBody,
  cartTrackingBody,
  idempotencyKey,
  warehouseOrderBody,
} from '../../../operator/runner/records/outbound.ts';

describe('screening source records', () => {
  it('accepts valid records, keeping fields the hub does not know', () => {
    const order = { id: '1', lines: [{ sku: 'A', quantity: 2, price: 9.5 }], giftNote: 'hi' };
    expect(screenRecords([order], sourceOrderSchema, 'id')).toEqual({ accepted: [order], rejected: [] });
  });

  it('rejects each malformed record with a reason that names fields, not values', () => {
    const { accepted, rejected } = screenRecords(
      [
        { lines: [{ sku: 'A', quantity: 1 }] },
        { id: '', lines: [{ sku: 'A', quantity: 1 }] },
        { id: 'X', lines: [{ sku: 'A', quantity: 'many' }] },
        { id: 'Y', lines: [] },
        'not an object',
        { id: 'Z', lines: [{ sku: 'A', quantity: 1 }] },
      ],
      sourceOrderSchema,
      'id',
    );
    expect(accepted.map((order) => order.id)).toEqual(['Z']);
    expect(rejected.map((rejection) => rejection.reason)).toEqual([
      'id: Invalid input: expected string, received undefined',
      'id: Too small: expected string to have >=1 characters',
      'lines.0.quantity: Invalid input: expected number, received string',
      'lines: Too small: expected array to have >=1 items',
      'record: Invalid input: expected object, received string',
    ]);
    expect(rejected.map((rejection) => rejection.reason).join()).not.toContain('many');
  });

  it('rejects a record larger than the limit without parsing it', () => {
    const huge = { id: 'H', lines: [{ sku: 'A', quantity: 1 }], blob: 'x'.repeat(maxRecordBytes) };
    expect(screenRecords([huge], sourceOrderSchema, 'id').rejected).toEqual([
      { key: 'H', reason: expect.stringMatching(/^record is \d+ bytes; at most 262144 are accepted$/) as string },
    ]);
  });

  it('keys a rejected record by its id when usable, else by a digest of its content', () => {
    expect(rejectedRecordKey({ id: 'A-1' }, 'id')).toBe('A-1');
    expect(rejectedRecordKey({ id: 42 }, 'id')).toBe('42');
    const noId = rejectedRecordKey({ lines: 3, note: 'x' }, 'id');
    expect(noId).toMatch(/^content-sha256:[0-9a-f]{16}$/);
    expect(rejectedRecordKey({ note: 'x', lines: 3 }, 'id')).toBe(noId);
    expect(rejectedRecordKey({ id: 'x'.repeat(201) }, 'id')).toMatch(/^content-sha256:/);
  });

  it('checks shipments quote an order id the hub gave, and inventory counts are whole and not negative', () => {
    const shipment = { id: 'S', orderId: 'web-shop/1001', carrier: 'UPS', trackingNumber: '1Z' };
    expect(sourceShipmentSchema.safeParse(shipment).success).toBe(true);
    expect(sourceShipmentSchema.safeParse({ ...shipment, orderId: '1001' }).success).toBe(false);
    expect(sourceInventoryLevelSchema.safeParse({ sku: 'A', quantity: 0 }).success).toBe(true);
    expect(sourceInventoryLevelSchema.safeParse({ sku: 'A', quantity: -1 }).success).toBe(false);
    expect(sourceInventoryLevelSchema.safeParse({ sku: 'A', quantity: 1.5 }).success).toBe(false);
  });

  it('takes an optional cancelled flag on orders, and a cancelled order holds no units', () => {
    const order = {
      id: '1',
      lines: [
        { sku: 'A', quantity: 2 },
        { sku: 'B', quantity: 1 },
        { sku: 'A', quantity: 3 },
      ],
    };
    expect(unitsBySku(sourceOrderSchema.parse(order))).toEqual(
      new Map([
        ['A', 5],
        ['B', 1],
      ]),
    );
    expect(unitsBySku(sourceOrderSchema.parse({ ...order, cancelled: false }))).toEqual(
      new Map([
        ['A', 5],
        ['B', 1],
      ]),
    );
    expect(unitsBySku(sourceOrderSchema.parse({ ...order, cancelled: true }))).toEqual(
      new Map([
        ['A', 0],
        ['B', 0],
      ]),
    );
    expect(screenRecords([{ ...order, cancelled: 'yes' }], sourceOrderSchema, 'id').rejected).toEqual([
      { key: '1', reason: 'cancelled: Invalid input: expected boolean, received string' },
    ]);
  });
});

describe("the hub's order id", () => {
  it('round-trips, whatever the cart order id holds', () => {
    expect(parseHubOrderId(hubOrderId('web-shop', 'A/1 #2'))).toEqual({ cart: 'web-shop', sourceId: 'A/1 #2' });
  });
});

describe('content hashes', () => {
  it('do not depend on the order of fields', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { z: 1, y: 2 }], c: 3 } })).toBe(
      '{"a":{"c":3,"d":[2,{"y":2,"z":1}]},"b":1}',
    );
    expect(contentHash({ a: 1, b: 2 })).toBe(contentHash({ b: 2, a: 1 }));
    expect(contentHash({ a: 1 })).not.toBe(contentHash({ a: 2 }));
  });
});

describe('idempotency keys', () => {
  const target = { service: 'orderDelivery', namespace: 'shop', destination: 'acme' } as const;

  it('are stable for one revision at one destination, and differ otherwise', () => {
    const key = idempotencyKey(target, 'web-shop/1', '3');
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect(idempotencyKey(target, 'web-shop/1', '3')).toBe(key);
    expect(idempotencyKey(target, 'web-shop/1', '4')).not.toBe(key);
    expect(idempotencyKey(target, 'web-shop/2', '3')).not.toBe(key);
    expect(idempotencyKey({ ...target, destination: 'other' }, 'web-shop/1', '3')).not.toBe(key);
    expect(idempotencyKey({ ...target, namespace: 'other' }, 'web-shop/1', '3')).not.toBe(key);
  });
});

describe('what destinations get', () => {
  it('gives the warehouse the order under the hub id, the cart its own order id back, and carts what is left to sell', () => {
    expect(warehouseOrderBody('web-shop', '1001', { id: '1001', lines: [] })).toEqual({
      id: 'web-shop/1001',
      cart: 'web-shop',
      cartOrderId: '1001',
      lines: [],
    });
    expect(cartTrackingBody('S-1', '1001', { id: 'S-1', orderId: 'web-shop/1001', carrier: 'UPS' })).toEqual({
      id: 'S-1',
      orderId: '1001',
      carrier: 'UPS',
    });
    const asOf = new Date('2026-01-01T00:00:00Z');
    expect(cartInventoryBody('A', 10, 4, asOf)).toEqual({ sku: 'A', available: 6, asOf: '2026-01-01T00:00:00.000Z' });
    expect(cartInventoryBody('A', 2, 5, asOf).available).toBe(0);
  });
});
