// Shipment Upload to Shopify: the warehouse's tracking becomes fulfillments of the order's fulfillment orders.
// https://shopify.dev/docs/api/admin-graphql/latest/mutations/fulfillmentCreate: one fulfillment covers fulfillment
// orders that "are associated with the same Order and are assigned to the same Location"; naming fulfillment orders of
// several locations (or fulfillment services) is refused with "All line items of a fulfillment must use the same
// fulfillment service". So a shipment of an order split across locations becomes one fulfillment per location, each
// with the same tracking. fulfillmentCreate takes no idempotency key (the @idempotent directive covers refunds and
// inventory mutations only: https://shopify.dev/changelog/adding-idempotency-for-inventory-adjustments-and-refund-mutations),
// so the connector looks before it writes: what this tracking number already fulfilled is not fulfilled again.
// Fulfillment orders need read/write_merchant_managed_fulfillment_orders (or the assigned / third-party variants)
// (https://shopify.dev/docs/api/admin-graphql/latest/objects/FulfillmentOrder).
import type { DeliveryOutcome, RecordWrite } from '../connector.ts';
import { queryCost, type GraphqlClient } from './graphql-client.ts';
import { orderGid } from './orders.ts';
import { describeUserErrors } from './shopify-errors.ts';

// Enough for orders of a few locations and shipments; the query's requested cost stays near 275 points.
const maxFulfillmentOrders = 5;
const maxFulfillmentOrderLines = 25;
const maxFulfillments = 5;
const maxFulfillmentLines = 10;

const fulfillmentStateQuery = /* GraphQL */ `
  query SwitchyardFulfillmentState($id: ID!, $orders: Int!, $orderLines: Int!, $fulfillments: Int!, $lines: Int!) {
    order(id: $id) {
      name
      fulfillmentOrders(first: $orders) {
        nodes {
          id
          status
          assignedLocation {
            name
            location {
              id
            }
          }
          lineItems(first: $orderLines) {
            nodes {
              id
              sku
              remainingQuantity
            }
          }
        }
      }
      fulfillments(first: $fulfillments) {
        status
        trackingInfo(first: 5) {
          number
        }
        fulfillmentLineItems(first: $lines) {
          nodes {
            quantity
            lineItem {
              sku
            }
          }
        }
      }
    }
  }
`;

// Fulfillment orders and their lines are connections; fulfillments is a list, counted here as if it were one.
const stateQueryCost =
  1 +
  queryCost.connection(maxFulfillmentOrders, 1 + 1 + 1 + queryCost.connection(maxFulfillmentOrderLines, 1)) +
  queryCost.connection(maxFulfillments, 1 + 1 + queryCost.connection(maxFulfillmentLines, 2));

const fulfillmentCreateMutation = /* GraphQL */ `
  mutation SwitchyardFulfill($fulfillment: FulfillmentInput!) {
    fulfillmentCreate(fulfillment: $fulfillment) {
      fulfillment {
        id
        status
      }
      userErrors {
        field
        message
      }
    }
  }
`;

export interface FulfillmentOrderState {
  readonly id: string;
  readonly status: string;
  readonly assignedLocation: { readonly name: string; readonly location: { readonly id: string } | null };
  readonly lineItems: { readonly nodes: readonly { id: string; sku: string | null; remainingQuantity: number }[] };
}

export interface FulfillmentState {
  readonly status: string;
  readonly trackingInfo: readonly { number: string | null }[];
  readonly fulfillmentLineItems: {
    readonly nodes: readonly { quantity: number | null; lineItem: { sku: string | null } }[];
  };
}

/** One fulfillmentCreate: fulfillment orders of one location, with the line items and quantities to fulfil. */
export interface PlannedFulfillment {
  readonly location: string;
  readonly lineItemsByFulfillmentOrder: readonly {
    fulfillmentOrderId: string;
    fulfillmentOrderLineItems: readonly { id: string; quantity: number }[];
  }[];
}

export type FulfillmentPlan =
  | { readonly kind: 'done' }
  | { readonly kind: 'fulfil'; readonly fulfillments: readonly PlannedFulfillment[] }
  | { readonly kind: 'stuck'; readonly reason: string };

/** The lines a shipment names ({sku, quantity}), or undefined when it ships whatever the order has left. */
export function shippedLines(body: Readonly<Record<string, unknown>>): Map<string, number> | undefined {
  if (!Array.isArray(body.lines)) return undefined;
  const wanted = new Map<string, number>();
  for (const line of body.lines as unknown[]) {
    const { sku, quantity } = (line ?? {}) as { sku?: unknown; quantity?: unknown };
    if (typeof sku === 'string' && typeof quantity === 'number' && quantity > 0) {
      wanted.set(sku, (wanted.get(sku) ?? 0) + quantity);
    }
  }
  return wanted.size > 0 ? wanted : undefined;
}

const fulfillableStatuses = new Set(['OPEN', 'IN_PROGRESS']);

/**
 * What to fulfil for a tracking number, given the order's state. Fulfillments that already carry the number count
 * against the shipment (a repeat, or a retry after some locations were fulfilled, does not fulfil twice); the rest is
 * taken from open fulfillment orders' remaining quantities and grouped by assigned location.
 */
export function planFulfillments(
  trackingNumber: string,
  wanted: Map<string, number> | undefined,
  fulfillmentOrders: readonly FulfillmentOrderState[],
  fulfillments: readonly FulfillmentState[],
): FulfillmentPlan {
  const ours = fulfillments.filter(
    (fulfillment) =>
      fulfillment.status === 'SUCCESS' && fulfillment.trackingInfo.some((info) => info.number === trackingNumber),
  );
  const needed = wanted === undefined ? undefined : new Map(wanted);
  if (needed) {
    for (const fulfillment of ours) {
      for (const line of fulfillment.fulfillmentLineItems.nodes) {
        const sku = line.lineItem.sku;
        if (sku !== null && needed.has(sku)) needed.set(sku, needed.get(sku)! - (line.quantity ?? 0));
      }
    }
    for (const [sku, quantity] of needed) if (quantity <= 0) needed.delete(sku);
    if (needed.size === 0) return { kind: 'done' };
  }
  const byLocation = new Map<string, PlannedFulfillment['lineItemsByFulfillmentOrder'][number][]>();
  const held: string[] = [];
  for (const order of fulfillmentOrders) {
    const lines: { id: string; quantity: number }[] = [];
    for (const line of order.lineItems.nodes) {
      if (line.remainingQuantity <= 0) continue;
      if (needed === undefined) {
        lines.push({ id: line.id, quantity: line.remainingQuantity });
        continue;
      }
      const want = line.sku === null ? 0 : (needed.get(line.sku) ?? 0);
      const take = Math.min(want, line.remainingQuantity);
      if (take <= 0) continue;
      lines.push({ id: line.id, quantity: take });
      needed.set(line.sku!, want - take);
    }
    if (lines.length === 0) continue;
    if (!fulfillableStatuses.has(order.status)) {
      held.push(`${order.assignedLocation.name} (${order.status.toLowerCase().replace('_', ' ')})`);
      continue;
    }
    const location = order.assignedLocation.location?.id ?? order.assignedLocation.name;
    byLocation.set(location, [
      ...(byLocation.get(location) ?? []),
      { fulfillmentOrderId: order.id, fulfillmentOrderLineItems: lines },
    ]);
  }
  const perLocation = [...byLocation].map(([location, lineItemsByFulfillmentOrder]) => ({
    location,
    lineItemsByFulfillmentOrder,
  }));
  if (held.length > 0) {
    return { kind: 'stuck', reason: `fulfillment orders that cannot be fulfilled now: ${held.join(', ')}` };
  }
  const short = needed ? [...needed].filter(([, quantity]) => quantity > 0) : [];
  if (short.length > 0 && perLocation.length === 0 && ours.length === 0) {
    return {
      kind: 'stuck',
      reason: `the order has nothing left to fulfil of ${short.map(([sku, quantity]) => `${quantity} × ${sku}`).join(', ')}`,
    };
  }
  if (perLocation.length > 0) return { kind: 'fulfil', fulfillments: perLocation };
  if (ours.length > 0) return { kind: 'done' };
  return {
    kind: 'stuck',
    reason: 'the order has nothing left to fulfil, and no fulfillment carries this tracking number',
  };
}

function outcomeOf(failure: { transient: boolean; reason: string; retryAfterMs?: number }): DeliveryOutcome {
  return failure.transient
    ? {
        kind: 'transient',
        reason: failure.reason,
        ...(failure.retryAfterMs !== undefined && { retryAfterMs: failure.retryAfterMs }),
      }
    : { kind: 'permanent', reason: failure.reason };
}

interface StateAnswer {
  order: {
    name: string;
    fulfillmentOrders: { nodes: FulfillmentOrderState[] };
    fulfillments: FulfillmentState[];
  } | null;
}

export async function uploadTracking(client: GraphqlClient, write: RecordWrite): Promise<DeliveryOutcome> {
  const { orderId, carrier, trackingNumber, trackingUrl } = write.body as {
    orderId: string;
    carrier: string;
    trackingNumber: string;
    trackingUrl?: unknown;
  };
  const state = await client.request<StateAnswer>({
    name: 'SwitchyardFulfillmentState',
    query: fulfillmentStateQuery,
    variables: {
      id: orderGid(orderId),
      orders: maxFulfillmentOrders,
      orderLines: maxFulfillmentOrderLines,
      fulfillments: maxFulfillments,
      lines: maxFulfillmentLines,
    },
    estimatedCost: stateQueryCost,
  });
  if (!state.ok) return outcomeOf(state.failure);
  const order = state.data.order;
  if (order === null) return { kind: 'permanent', reason: `Shopify has no order ${orderId}` };
  const plan = planFulfillments(
    trackingNumber,
    shippedLines(write.body),
    order.fulfillmentOrders.nodes,
    order.fulfillments,
  );
  if (plan.kind === 'done') return { kind: 'delivered' };
  if (plan.kind === 'stuck') return { kind: 'permanent', reason: `order ${order.name}: ${plan.reason}` };
  for (const planned of plan.fulfillments) {
    const created = await client.request<{
      fulfillmentCreate: { userErrors: { field: string[] | null; message: string }[] } | null;
    }>({
      name: 'SwitchyardFulfill',
      query: fulfillmentCreateMutation,
      variables: {
        fulfillment: {
          lineItemsByFulfillmentOrder: planned.lineItemsByFulfillmentOrder,
          // The shopper gets Shopify's shipping confirmation, as when the merchant fulfils in the admin.
          notifyCustomer: true,
          trackingInfo: {
            number: trackingNumber,
            company: carrier,
            ...(typeof trackingUrl === 'string' && { url: trackingUrl }),
          },
        },
      },
      estimatedCost: queryCost.mutation,
    });
    if (!created.ok) return outcomeOf(created.failure);
    const userErrors = created.data.fulfillmentCreate?.userErrors ?? [];
    if (userErrors.length > 0) {
      return { kind: 'permanent', reason: `order ${order.name}: ${describeUserErrors(userErrors)}` };
    }
  }
  return { kind: 'delivered' };
}
