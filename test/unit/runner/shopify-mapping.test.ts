import { describe, expect, it } from 'vitest';
import {
  planFulfillments,
  type FulfillmentOrderState,
} from '../../../operator/runner/connectors/shopify/fulfillment.ts';
import { toHubOrder, type ShopifyOrder } from '../../../operator/runner/connectors/shopify/orders.ts';

const fulfillmentOrder = (
  id: string,
  location: string,
  lines: [string, number][],
  status = 'OPEN',
): FulfillmentOrderState => ({
  id,
  status,
  assignedLocation: { name: location, location: { id: location } },
  lineItems: {
    nodes: lines.map(([sku, remainingQuantity], index) => ({ id: `${id}-${index}`, sku, remainingQuantity })),
  },
});

describe('planning fulfillments', () => {
  it('groups fulfillment orders by location: one fulfillment each', () => {
    const plan = planFulfillments(
      '1Z',
      undefined,
      [
        fulfillmentOrder('A', 'chicago', [['MUG', 2]]),
        fulfillmentOrder('B', 'reno', [['TEE', 1]]),
        fulfillmentOrder('C', 'chicago', [['CAP', 1]]),
      ],
      [],
    );
    expect(
      plan.kind === 'fulfil' &&
        plan.fulfillments.map((f) => [f.location, f.lineItemsByFulfillmentOrder.map((o) => o.fulfillmentOrderId)]),
    ).toEqual([
      ['chicago', ['A', 'C']],
      ['reno', ['B']],
    ]);
  });

  it('takes off what fulfillments with the same tracking number already cover', () => {
    const done = [
      {
        status: 'SUCCESS',
        trackingInfo: [{ number: '1Z' }],
        fulfillmentLineItems: { nodes: [{ quantity: 1, lineItem: { sku: 'MUG' } }] },
      },
    ];
    const open = [fulfillmentOrder('A', 'chicago', [['MUG', 1]])];
    expect(planFulfillments('1Z', new Map([['MUG', 1]]), open, done)).toEqual({ kind: 'done' });
    expect(planFulfillments('2Z', new Map([['MUG', 1]]), open, done).kind).toBe('fulfil');
  });

  it('says why when what is to ship is on hold', () => {
    const plan = planFulfillments('1Z', undefined, [fulfillmentOrder('A', 'chicago', [['MUG', 1]], 'ON_HOLD')], []);
    expect(plan).toEqual({
      kind: 'stuck',
      reason: 'fulfillment orders that cannot be fulfilled now: chicago (on hold)',
    });
  });
});

describe("the hub's order from a Shopify order", () => {
  const order: ShopifyOrder = {
    id: 'gid://shopify/Order/450789469',
    name: '#1001',
    email: 'ada@example.com',
    createdAt: '2025-01-01T00:00:00Z',
    updatedAt: '2025-01-02T00:00:00Z',
    cancelledAt: null,
    shippingAddress: { city: 'Chicago' },
    lineItems: { pageInfo: { hasNextPage: false, endCursor: null }, nodes: [] },
  };
  const lines = [
    { id: 'gid://shopify/LineItem/1', sku: 'MUG', name: 'Mug', quantity: 3, currentQuantity: 2 },
    { id: 'gid://shopify/LineItem/2', sku: 'TEE', name: 'Tee', quantity: 1, currentQuantity: 0 },
  ];

  it('carries current quantities under the numeric id, without updatedAt', () => {
    expect(toHubOrder(order, lines)).toEqual({
      id: '450789469',
      name: '#1001',
      email: 'ada@example.com',
      createdAt: '2025-01-01T00:00:00Z',
      shippingAddress: { city: 'Chicago' },
      lines: [{ sku: 'MUG', quantity: 2, title: 'Mug', lineItemId: '1' }],
    });
  });

  it('keeps the ordered quantities of a cancelled order', () => {
    expect(toHubOrder({ ...order, cancelledAt: '2025-01-03T00:00:00Z' }, lines)).toMatchObject({
      cancelled: true,
      lines: [
        { sku: 'MUG', quantity: 3 },
        { sku: 'TEE', quantity: 1 },
      ],
    });
  });
});
