// Order Download from Shopify: orders changed since the cursor, oldest change first, mapped to the hub's order.
// https://shopify.dev/docs/api/admin-graphql/latest/queries/orders (read_orders; only the last 60 days unless the app
// also has read_all_orders), sorted by `sortKey: UPDATED_AT` and filtered with the search syntax
// (https://shopify.dev/docs/api/usage/search-syntax: `updated_at:>='<ISO time>'`, dates quoted), paged with
// first/after and pageInfo.endCursor (https://shopify.dev/docs/api/usage/pagination-graphql).
import { SourceReadError, type SourcePage } from '../connector.ts';
import { queryCost, type GraphqlClient } from './graphql-client.ts';

/** Line items read with each order; an order with more has the rest read on its own (orderLinesQuery). */
const inlineLineItems = 10;
/**
 * The requested cost a page of orders may have. Shopify admits a query only when the bucket holds its whole requested
 * cost (and refunds the unused part after), so a page that asks for 1,000 points would wait for a full bucket while
 * the watcher's uploads spend it: a quarter of the smallest bucket keeps pages moving beside them.
 */
const pageCostBudget = 250;
/** Shopify's largest page of a connection. */
const maxPageSize = 250;

const addressFields =
  'name firstName lastName company address1 address2 city province provinceCode zip country countryCodeV2 phone';
const lineFields = 'id sku name quantity currentQuantity';

const ordersQuery = /* GraphQL */ `
  query SwitchyardOrders($first: Int!, $after: String, $query: String, $lines: Int!) {
    orders(first: $first, after: $after, sortKey: UPDATED_AT, query: $query) {
      pageInfo { hasNextPage endCursor }
      nodes {
        id name email createdAt updatedAt cancelledAt
        shippingAddress { ${addressFields} }
        lineItems(first: $lines) { pageInfo { hasNextPage endCursor } nodes { ${lineFields} } }
      }
    }
  }
`;

const orderLinesQuery = /* GraphQL */ `
  query SwitchyardOrderLines($id: ID!, $after: String, $lines: Int!) {
    order(id: $id) {
      lineItems(first: $lines, after: $after) { pageInfo { hasNextPage endCursor } nodes { ${lineFields} } }
    }
  }
`;

// Costs by the documented rules: an order is 1, its address 1, its line items a connection (pageInfo 1 more).
const orderNodeCost = 1 + 1 + queryCost.connection(inlineLineItems, 1) + 1;
const linesQueryCost = 1 + queryCost.connection(maxPageSize, 1) + 1;

interface PageInfo {
  readonly hasNextPage: boolean;
  readonly endCursor: string | null;
}

export interface ShopifyLineItem {
  readonly id: string;
  readonly sku: string | null;
  readonly name: string;
  readonly quantity: number;
  readonly currentQuantity: number;
}

export interface ShopifyOrder {
  readonly id: string;
  readonly name: string;
  readonly email: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly cancelledAt: string | null;
  readonly shippingAddress: Record<string, unknown> | null;
  readonly lineItems: { readonly pageInfo: PageInfo; readonly nodes: readonly ShopifyLineItem[] };
}

/** Where the next read starts: the lower bound of updatedAt, and Shopify's cursor within that query's results. */
export interface OrderCursor {
  readonly since?: string;
  readonly after?: string;
}

export function encodeOrderCursor(cursor: OrderCursor): string {
  return Buffer.from(JSON.stringify(cursor)).toString('base64url');
}

export function decodeOrderCursor(text: string | undefined): OrderCursor {
  if (text === undefined || text === '') return {};
  try {
    const parsed = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as unknown;
    if (typeof parsed === 'object' && parsed !== null) {
      const { since, after } = parsed as { since?: unknown; after?: unknown };
      return {
        ...(typeof since === 'string' && { since }),
        ...(typeof after === 'string' && { after }),
      };
    }
  } catch {
    // fall through
  }
  throw new SourceReadError('the order cursor is not one this connector wrote', false);
}

/** The numeric id at the end of a global id (gid://shopify/Order/450789469 → 450789469). */
export function legacyIdOf(gid: string): string {
  return gid.slice(gid.lastIndexOf('/') + 1);
}

export function orderGid(legacyId: string): string {
  return `gid://shopify/Order/${legacyId}`;
}

/**
 * The hub's order. Its id is the order's numeric id (Shopify's legacyResourceId, the number in the admin's order URL):
 * short, stable, and the global id is rebuilt from it for Shipment Upload. Lines carry the current quantity (after
 * edits and removals); a line edited down to 0 is left out. A cancelled order keeps its ordered quantities, so that
 * the hub can release exactly those units. A line without a SKU goes to the hub as it is (sku null): the hub rejects
 * the order with the reason, since the warehouse could not ship it. Fields that change on every update (updatedAt)
 * are left out, so that only a change of the order itself makes a new revision, not a fulfillment or a tag.
 */
export function toHubOrder(order: ShopifyOrder, lines: readonly ShopifyLineItem[]): Record<string, unknown> {
  const cancelled = order.cancelledAt !== null;
  return {
    id: legacyIdOf(order.id),
    name: order.name,
    email: order.email,
    createdAt: order.createdAt,
    ...(cancelled && { cancelled: true, cancelledAt: order.cancelledAt }),
    shippingAddress: order.shippingAddress,
    lines: lines
      .map((line) => ({
        sku: line.sku === '' ? null : line.sku,
        quantity: cancelled ? line.quantity : line.currentQuantity,
        title: line.name,
        lineItemId: legacyIdOf(line.id),
      }))
      .filter((line) => line.quantity > 0),
  };
}

/** How many orders fit one page's cost budget, and the batch size. */
export function ordersPerPage(limit: number): number {
  return Math.max(1, Math.min(limit, maxPageSize, Math.floor((pageCostBudget - 3) / orderNodeCost)));
}

function failed(what: string, failure: { transient: boolean; reason: string; retryAfterMs?: number }): never {
  throw new SourceReadError(`${what}: ${failure.reason}`, failure.transient, failure.retryAfterMs);
}

async function remainingLines(client: GraphqlClient, order: ShopifyOrder): Promise<ShopifyLineItem[]> {
  const lines = [...order.lineItems.nodes];
  let pageInfo = order.lineItems.pageInfo;
  while (pageInfo.hasNextPage) {
    const result = await client.request<{ order: { lineItems: ShopifyOrder['lineItems'] } | null }>({
      name: 'SwitchyardOrderLines',
      query: orderLinesQuery,
      variables: { id: order.id, after: pageInfo.endCursor, lines: maxPageSize },
      estimatedCost: linesQueryCost,
    });
    if (!result.ok) failed(`reading the line items of order ${order.name}`, result.failure);
    if (result.data.order === null) break;
    lines.push(...result.data.order.lineItems.nodes);
    pageInfo = result.data.order.lineItems.pageInfo;
  }
  return lines;
}

/**
 * One page of orders. The filter is `updated_at:>=` the last change seen, not `>`: Shopify's times are to the second,
 * and an order changed later within that second would be skipped; re-reading the last order costs one node and the
 * hub sees it unchanged. Within a page chain the query stays the same and Shopify's endCursor moves on.
 */
export async function listShopifyOrders(
  client: GraphqlClient,
  cursorText: string | undefined,
  limit: number,
): Promise<SourcePage> {
  const cursor = decodeOrderCursor(cursorText);
  const first = ordersPerPage(limit);
  const result = await client.request<{ orders: { pageInfo: PageInfo; nodes: ShopifyOrder[] } }>({
    name: 'SwitchyardOrders',
    query: ordersQuery,
    variables: {
      first,
      after: cursor.after ?? null,
      query: cursor.since === undefined ? null : `updated_at:>='${cursor.since}'`,
      lines: inlineLineItems,
    },
    estimatedCost: 1 + queryCost.connection(first, orderNodeCost),
  });
  if (!result.ok) failed('reading orders', result.failure);
  const { pageInfo, nodes } = result.data.orders;
  const items: Record<string, unknown>[] = [];
  for (const order of nodes) items.push(toHubOrder(order, await remainingLines(client, order)));
  if (pageInfo.hasNextPage && pageInfo.endCursor !== null) {
    return { items, nextCursor: encodeOrderCursor({ ...cursor, after: pageInfo.endCursor }), hasMore: true };
  }
  const latest = nodes.reduce<string | undefined>(
    (max, order) => (max === undefined || Date.parse(order.updatedAt) > Date.parse(max) ? order.updatedAt : max),
    cursor.since,
  );
  return { items, nextCursor: encodeOrderCursor(latest === undefined ? {} : { since: latest }), hasMore: false };
}
