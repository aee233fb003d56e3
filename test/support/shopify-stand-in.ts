// A loopback stand-in for one store's Shopify GraphQL Admin API (POST /admin/api/<version>/graphql.json), for tests:
// requests are parsed, validated and executed by graphql-js against a subset of Shopify's schema
// (test/support/shopify/schema.ts), and the stand-in enforces what Shopify documents: the access token, the shop's
// state, access scopes, calculated query cost with a leaky bucket per app, cursor pagination, and the rules of
// fulfillmentCreate and inventorySetQuantities. Every request is recorded with its cost and the bucket before and
// after, so tests can assert how a client spends its budget.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  execute,
  getDirectiveValues,
  GraphQLError,
  parse,
  validate,
  validateExecutionArgs,
  type DocumentNode,
  type GraphQLResolveInfo,
} from 'graphql';
import { actualQueryCost, requestedQueryCost, type CostContext } from './shopify/query-cost.ts';
import { LeakyBucket, type ThrottleStatus } from './shopify/leaky-bucket.ts';
import { paginate, type PageArgs } from './shopify/pagination.ts';
import { adminSchema, SUPPORTED_API_VERSION } from './shopify/schema.ts';
import { matchesDate, parseSearchQuery, type SearchTerm } from './shopify/search-syntax.ts';
import {
  Shop,
  type Fulfillment,
  type FulfillmentOrder,
  type InventoryAdjustmentGroup,
  type LineItem,
  type Location,
  type LocationSeed,
  type Order,
  type OrderPatch,
  type OrderSeed,
  type UserError,
  type Variant,
  type VariantSeed,
} from './shopify/shop.ts';

export type { LocationSeed, OrderPatch, OrderSeed, VariantSeed } from './shopify/shop.ts';

/** The scopes Switchyard's connector needs, granted to the default app. */
export const CONNECTOR_SCOPES = [
  'read_orders',
  'read_products',
  'read_locations',
  'write_inventory',
  'write_fulfillments',
  'write_merchant_managed_fulfillment_orders',
  'write_third_party_fulfillment_orders',
] as const;

/** https://shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits ("A single query to the API cannot exceed a
 * cost of 1000", https://help.shopify.com/en/api/graphql-admin-api/call-limit) */
export const MAX_SINGLE_QUERY_COST = 1000;

export type ShopState = 'active' | 'frozen' | 'locked';

export interface AppSeed {
  readonly accessToken: string;
  readonly scopes: readonly string[];
}

export interface ShopifyStandInOptions {
  readonly apps?: readonly AppSeed[];
  /** The versions the stand-in serves; others answer 404. */
  readonly apiVersions?: readonly string[];
  /** Bucket size per app; Shopify's figure depends on the plan. */
  readonly maximumAvailable?: number;
  /** Points per second (Standard plans: 100). */
  readonly restoreRate?: number;
  readonly locations?: readonly LocationSeed[];
  readonly variants?: readonly VariantSeed[];
  /** Milliseconds; the bucket refills and records are stamped by this clock. */
  readonly now?: () => number;
}

export interface RecordedRequest {
  readonly accessToken: string;
  readonly operationName: string | undefined;
  readonly operation: 'query' | 'mutation' | undefined;
  /** HTTP status answered. */
  readonly status: number;
  /** When the request arrived and when it was answered, by the stand-in's clock (ms). */
  readonly receivedAt: number;
  readonly answeredAt: number;
  readonly requestedQueryCost: number | undefined;
  /** undefined when nothing was executed (throttled, refused or invalid). */
  readonly actualQueryCost: number | undefined;
  readonly throttled: boolean;
  /** The app's bucket just before the cost was taken, and once the request was answered (after any refund). */
  readonly availableBefore: number | undefined;
  readonly availableAfter: number | undefined;
  /** GraphQL error codes (extensions.code) in the answer. */
  readonly errorCodes: string[];
}

export interface ShopifyStandIn {
  /** The shop's base URL, as `https://<shop>.myshopify.com` would be: append /admin/api/<version>/graphql.json. */
  readonly url: string;
  readonly apiVersion: string;
  readonly defaultAccessToken: string;
  readonly shop: Shop;
  /** Every request, in arrival order. */
  readonly requests: RecordedRequest[];
  graphqlUrl(version?: string): string;
  addOrder(seed: OrderSeed): Order;
  updateOrder(orderGid: string, patch: OrderPatch): Order;
  addVariant(seed: VariantSeed): Variant;
  addLocation(seed: LocationSeed): Location;
  /** Units available of a SKU at a location (by name); undefined where the item is not stocked. */
  available(sku: string, locationName: string): number | undefined;
  fulfillmentsOf(orderGid: string): Fulfillment[];
  fulfillmentOrdersOf(orderGid: string): FulfillmentOrder[];
  setFulfillmentOrderStatus(fulfillmentOrderGid: string, status: FulfillmentOrder['status']): void;
  setScopes(accessToken: string, scopes: readonly string[]): void;
  /** The merchant removed the app: its token stops working. */
  uninstallApp(accessToken: string): void;
  setShopState(state: ShopState): void;
  throttleStatus(accessToken?: string): ThrottleStatus;
  close(): Promise<void>;
}

const DEFAULT_TOKEN = 'shpat_stand_in_default';

export function gid(type: string, id: number): string {
  return `gid://shopify/${type}/${id}`;
}

/** The numeric id of a global id of the given type; undefined for anything else. */
export function idOf(type: string, globalId: unknown): number | undefined {
  if (typeof globalId !== 'string') return undefined;
  const match = /^gid:\/\/shopify\/([A-Za-z]+)\/(\d+)$/.exec(globalId);
  return match && match[1] === type ? Number(match[2]) : undefined;
}

interface App {
  scopes: Set<string>;
  installed: boolean;
  readonly bucket: LeakyBucket;
}

interface RequestContext {
  readonly app: App;
  readonly shop: Shop;
}

/** write_X grants read_X (https://shopify.dev/docs/api/usage/access-scopes). */
function hasScope(app: App, scope: string): boolean {
  return app.scopes.has(scope) || (scope.startsWith('read_') && app.scopes.has(`write_${scope.slice('read_'.length)}`));
}

/**
 * The error Shopify gives when the app lacks a scope: the field resolves to null and errors carries
 * "Access denied for <field> field. Required access: `<scope>` access scope." with extensions code ACCESS_DENIED.
 * https://shopify.dev/changelog/new-error-messages-for-graphql-operations-without-necessary-access-scopes and the
 * response quoted in https://github.com/Shopify/function-examples/issues/164
 */
function requireScope(context: RequestContext, info: GraphQLResolveInfo, scope: string): void {
  if (hasScope(context.app, scope)) return;
  throw new GraphQLError(`Access denied for ${info.fieldName} field. Required access: \`${scope}\` access scope.`, {
    extensions: {
      code: 'ACCESS_DENIED',
      documentation: 'https://shopify.dev/api/usage/access-scopes',
      requiredAccess: `\`${scope}\` access scope.`,
    },
  });
}

/** Which fulfillment orders an app sees: https://shopify.dev/docs/api/admin-graphql/latest/objects/FulfillmentOrder
 * ("An API client will only receive a subset of the fulfillment orders ... if they don't have the necessary access
 * scopes"): merchant-managed locations need read_merchant_managed_fulfillment_orders, third-party fulfillment
 * service locations read_third_party_fulfillment_orders. */
function fulfillmentOrderScope(shop: Shop, fulfillmentOrder: FulfillmentOrder, access: 'read' | 'write'): string {
  const thirdParty = shop.location(fulfillmentOrder.locationId)?.fulfillmentServiceHandle !== undefined;
  return `${access}_${thirdParty ? 'third_party' : 'merchant_managed'}_fulfillment_orders`;
}

const iso = (timestamp: number | undefined): string | null =>
  timestamp === undefined ? null : new Date(timestamp).toISOString();

/**
 * Unknown search fields are ignored by Shopify and reported as warnings under extensions.search
 * (https://shopify.dev/docs/api/usage/search-syntax); the stand-in refuses them instead, so a typo fails a test.
 */
function searchTerms(query: unknown, known: readonly string[]): SearchTerm[] {
  if (typeof query !== 'string' || query.trim() === '') return [];
  const terms = parseSearchQuery(query);
  for (const term of terms) {
    if (!known.includes(term.field))
      throw new GraphQLError(`The stand-in does not support the search field ${term.field}.`);
  }
  return terms;
}

function orderView(order: Order, context: RequestContext): Record<string, unknown> {
  const { shop } = context;
  return {
    id: gid('Order', order.id),
    name: order.name,
    email: order.email ?? null,
    createdAt: iso(order.createdAt),
    processedAt: iso(order.createdAt),
    updatedAt: iso(order.updatedAt),
    cancelledAt: iso(order.cancelledAt),
    displayFulfillmentStatus: displayFulfillmentStatus(order),
    shippingAddress: order.shippingAddress ? { id: gid('MailingAddress', order.id), ...order.shippingAddress } : null,
    lineItems: (args: PageArgs) =>
      pageOf(
        paginate(order.lineItems, (line) => [line.id, line.id], args),
        (line) => lineItemView(line, context),
      ),
    fulfillmentOrders: (args: PageArgs) => {
      const visible = shop
        .fulfillmentOrdersOf(order.id)
        .filter((fulfillmentOrder) => hasScope(context.app, fulfillmentOrderScope(shop, fulfillmentOrder, 'read')));
      return pageOf(
        paginate(visible, (fulfillmentOrder) => [fulfillmentOrder.id, fulfillmentOrder.id], args),
        (fulfillmentOrder) => fulfillmentOrderView(fulfillmentOrder, context),
      );
    },
    fulfillments: (args: { first?: number | null }) =>
      shop
        .fulfillmentsOf(order.id)
        .slice(0, args.first ?? undefined)
        .map((fulfillment) => fulfillmentView(fulfillment, context)),
  };
}

function displayFulfillmentStatus(order: Order): string {
  const fulfilled = order.lineItems.reduce((sum, line) => sum + line.fulfilledQuantity, 0);
  const current = order.lineItems.reduce((sum, line) => sum + line.currentQuantity, 0);
  if (fulfilled === 0) return 'UNFULFILLED';
  return fulfilled >= current ? 'FULFILLED' : 'PARTIALLY_FULFILLED';
}

function pageOf<T>(
  page: ReturnType<typeof paginate<T>>,
  view: (record: T) => Record<string, unknown>,
): Record<string, unknown> {
  const nodes = page.nodes.map(view);
  return {
    nodes,
    edges: page.edges.map((edge, index) => ({ cursor: edge.cursor, node: nodes[index] })),
    pageInfo: page.pageInfo,
  };
}

function lineItemView(line: LineItem, context: RequestContext): Record<string, unknown> {
  const variant = context.shop.variants.find((candidate) => candidate.id === line.variantId);
  return {
    id: gid('LineItem', line.id),
    name: line.name,
    title: line.name,
    sku: line.sku,
    quantity: line.quantity,
    currentQuantity: line.currentQuantity,
    unfulfilledQuantity: Math.max(0, line.currentQuantity - line.fulfilledQuantity),
    variant: variant ? variantView(variant, context) : null,
  };
}

function locationView(location: Location): Record<string, unknown> {
  return {
    id: gid('Location', location.id),
    name: location.name,
    isActive: true,
    fulfillmentService: location.fulfillmentServiceHandle
      ? {
          id: gid('FulfillmentService', location.id),
          handle: location.fulfillmentServiceHandle,
          serviceName: location.name,
          type: 'THIRD_PARTY',
        }
      : null,
  };
}

function fulfillmentOrderView(fulfillmentOrder: FulfillmentOrder, context: RequestContext): Record<string, unknown> {
  const { shop } = context;
  const order = shop.order(fulfillmentOrder.orderId)!;
  const location = shop.location(fulfillmentOrder.locationId)!;
  return {
    id: gid('FulfillmentOrder', fulfillmentOrder.id),
    status: fulfillmentOrder.status,
    createdAt: iso(fulfillmentOrder.createdAt),
    updatedAt: iso(fulfillmentOrder.updatedAt),
    orderId: gid('Order', order.id),
    order: () => orderView(order, context),
    assignedLocation: { name: location.name, location: locationView(location) },
    lineItems: (args: PageArgs) =>
      pageOf(
        paginate(fulfillmentOrder.lineItems, (line) => [line.id, line.id], args),
        (line) => {
          const lineItem = order.lineItems.find((candidate) => candidate.id === line.lineItemId)!;
          return {
            id: gid('FulfillmentOrderLineItem', line.id),
            sku: lineItem.sku,
            totalQuantity: line.totalQuantity,
            remainingQuantity: line.remainingQuantity,
            lineItem: lineItemView(lineItem, context),
          };
        },
      ),
  };
}

function fulfillmentView(fulfillment: Fulfillment, context: RequestContext): Record<string, unknown> {
  const order = context.shop.order(fulfillment.orderId)!;
  const location = context.shop.location(fulfillment.locationId);
  return {
    id: gid('Fulfillment', fulfillment.id),
    name: `${order.name}-F${context.shop.fulfillmentsOf(order.id).indexOf(fulfillment) + 1}`,
    status: 'SUCCESS',
    createdAt: iso(fulfillment.createdAt),
    updatedAt: iso(fulfillment.createdAt),
    order: () => orderView(order, context),
    location: location ? locationView(location) : null,
    trackingInfo: (args: { first?: number | null }) => fulfillment.trackingInfo.slice(0, args.first ?? undefined),
    fulfillmentLineItems: (args: PageArgs) =>
      pageOf(
        paginate(fulfillment.lineItems, (line) => [line.lineItemId, line.lineItemId], args),
        (line) => ({
          id: gid('FulfillmentLineItem', line.lineItemId),
          quantity: line.quantity,
          lineItem: lineItemView(
            order.lineItems.find((candidate) => candidate.id === line.lineItemId)!,
            context,
          ),
        }),
      ),
  };
}

function inventoryItemView(variant: Variant, context: RequestContext): Record<string, unknown> {
  return {
    id: gid('InventoryItem', variant.inventoryItemId),
    sku: variant.sku,
    tracked: true,
    inventoryLevel: (args: { locationId: string }, requestContext: RequestContext, info: GraphQLResolveInfo) => {
      requireScope(requestContext, info, 'read_inventory');
      const locationId = idOf('Location', args.locationId);
      const location = locationId === undefined ? undefined : context.shop.location(locationId);
      const level = location && context.shop.inventoryLevels.get(`${variant.inventoryItemId}:${location.id}`);
      if (!location || !level) return null;
      return {
        id: gid('InventoryLevel', variant.inventoryItemId * 100_000 + location.id),
        location: locationView(location),
        quantities: (quantityArgs: { names: string[] }) =>
          quantityArgs.names
            .filter((name) => name === 'available' || name === 'on_hand')
            .map((name) => ({ name, quantity: name === 'available' ? level.available : level.onHand })),
      };
    },
  };
}

function variantView(variant: Variant, context: RequestContext): Record<string, unknown> {
  return {
    id: gid('ProductVariant', variant.id),
    title: variant.title,
    sku: variant.sku,
    inventoryItem: inventoryItemView(variant, context),
  };
}

function adjustmentGroupView(group: InventoryAdjustmentGroup, context: RequestContext): Record<string, unknown> {
  return {
    id: gid('InventoryAdjustmentGroup', group.id),
    createdAt: iso(group.createdAt),
    reason: group.reason,
    referenceDocumentUri: group.referenceDocumentUri,
    changes: (args: { quantityNames?: string[] | null }) =>
      group.changes
        .filter((change) => !args.quantityNames || args.quantityNames.includes(change.name))
        .map((change) => {
          const variant = context.shop.variantOfInventoryItem(change.inventoryItemId);
          const location = context.shop.location(change.locationId);
          return {
            name: change.name,
            delta: change.delta,
            quantityAfterChange: change.quantityAfterChange,
            item: variant ? inventoryItemView(variant, context) : null,
            location: location ? locationView(location) : null,
          };
        }),
  };
}

const ORDER_SORT_VALUES: Record<string, (order: Order) => number> = {
  CREATED_AT: (order) => order.createdAt,
  PROCESSED_AT: (order) => order.createdAt,
  UPDATED_AT: (order) => order.updatedAt,
  ID: (order) => order.id,
};

function userErrorsView(errors: UserError[]): Record<string, unknown>[] {
  return errors.map((error) => ({ field: error.field, message: error.message, code: error.code ?? null }));
}

/** The root value: one function per root field, called by graphql-js's default resolver. */
function rootValue(idempotency: Map<string, { input: string; payload: unknown }>): Record<string, unknown> {
  return {
    orders: (
      args: PageArgs & { sortKey: string; query?: string | null },
      context: RequestContext,
      info: GraphQLResolveInfo,
    ) => {
      requireScope(context, info, 'read_orders');
      const terms = searchTerms(args.query, ['updated_at', 'created_at']);
      const matching = context.shop.orders.filter((order) =>
        terms.every((term) => matchesDate(term, term.field === 'updated_at' ? order.updatedAt : order.createdAt)),
      );
      const sortValue = ORDER_SORT_VALUES[args.sortKey]!;
      return pageOf(
        paginate(matching, (order) => [sortValue(order), order.id], args),
        (order) => orderView(order, context),
      );
    },
    order: (args: { id: string }, context: RequestContext, info: GraphQLResolveInfo) => {
      requireScope(context, info, 'read_orders');
      const id = idOf('Order', args.id);
      const order = id === undefined ? undefined : context.shop.order(id);
      return order ? orderView(order, context) : null;
    },
    fulfillmentOrder: (args: { id: string }, context: RequestContext, info: GraphQLResolveInfo) => {
      const id = idOf('FulfillmentOrder', args.id);
      const fulfillmentOrder = context.shop.fulfillmentOrders.find((candidate) => candidate.id === id);
      if (!fulfillmentOrder) return null;
      requireScope(context, info, fulfillmentOrderScope(context.shop, fulfillmentOrder, 'read'));
      return fulfillmentOrderView(fulfillmentOrder, context);
    },
    productVariants: (
      args: PageArgs & { query?: string | null },
      context: RequestContext,
      info: GraphQLResolveInfo,
    ) => {
      requireScope(context, info, 'read_products');
      const terms = searchTerms(args.query, ['sku']);
      const matching = context.shop.variants.filter((variant) => terms.every((term) => variant.sku === term.value));
      return pageOf(
        paginate(matching, (variant) => [variant.id, variant.id], args),
        (variant) => variantView(variant, context),
      );
    },
    inventoryItem: (args: { id: string }, context: RequestContext, info: GraphQLResolveInfo) => {
      requireScope(context, info, 'read_inventory');
      const id = idOf('InventoryItem', args.id);
      const variant = id === undefined ? undefined : context.shop.variantOfInventoryItem(id);
      return variant ? inventoryItemView(variant, context) : null;
    },
    locations: (args: PageArgs, context: RequestContext, info: GraphQLResolveInfo) => {
      requireScope(context, info, 'read_locations');
      return pageOf(
        paginate(context.shop.locations, (location) => [location.id, location.id], args),
        locationView,
      );
    },
    fulfillmentCreate: (
      args: {
        fulfillment: Record<string, unknown> & {
          lineItemsByFulfillmentOrder: {
            fulfillmentOrderId: string;
            fulfillmentOrderLineItems?: { id: string; quantity: number }[] | null;
          }[];
        };
        message?: string | null;
      },
      context: RequestContext,
      info: GraphQLResolveInfo,
    ) => {
      requireScope(context, info, 'write_fulfillments');
      const groups = args.fulfillment.lineItemsByFulfillmentOrder.map((group) => ({
        fulfillmentOrderId: idOf('FulfillmentOrder', group.fulfillmentOrderId),
        fulfillmentOrderLineItems: group.fulfillmentOrderLineItems?.map((line) => ({
          id: idOf('FulfillmentOrderLineItem', line.id),
          quantity: line.quantity,
        })),
      }));
      for (const group of groups) {
        const fulfillmentOrder = context.shop.fulfillmentOrders.find(
          (candidate) => candidate.id === group.fulfillmentOrderId,
        );
        if (fulfillmentOrder)
          requireScope(context, info, fulfillmentOrderScope(context.shop, fulfillmentOrder, 'write'));
      }
      const result = context.shop.createFulfillment({
        lineItemsByFulfillmentOrder: groups,
        trackingInfo: args.fulfillment.trackingInfo as never,
        notifyCustomer: args.fulfillment.notifyCustomer as boolean | null,
        message: args.message ?? null,
      });
      return {
        fulfillment: result.fulfillment ? fulfillmentView(result.fulfillment, context) : null,
        userErrors: userErrorsView(result.userErrors),
      };
    },
    inventorySetQuantities: (
      args: {
        input: {
          name: string;
          reason: string;
          referenceDocumentUri?: string | null;
          quantities: Record<string, unknown>[];
        };
      },
      context: RequestContext,
      info: GraphQLResolveInfo,
    ) => {
      requireScope(context, info, 'write_inventory');
      // The optional @idempotent directive (https://shopify.dev/docs/api/usage/idempotent-requests): a repeat with
      // the same key and input answers as before without applying again; the same key with other input is refused.
      const directive = adminSchema.getDirective('idempotent')!;
      const key = getDirectiveValues(directive, info.fieldNodes[0]!, info.variableValues)?.key as string | undefined;
      const inputJson = JSON.stringify(args.input);
      if (key !== undefined) {
        const previous = idempotency.get(key);
        if (previous && previous.input !== inputJson) {
          return {
            inventoryAdjustmentGroup: null,
            userErrors: [
              {
                field: null,
                code: 'IDEMPOTENCY_KEY_PARAMETER_MISMATCH',
                message: 'The same idempotency key cannot be used with different operation parameters.',
              },
            ],
          };
        }
        if (previous) return previous.payload;
      }
      const result = context.shop.setInventoryQuantities({
        name: args.input.name,
        reason: args.input.reason,
        referenceDocumentUri: args.input.referenceDocumentUri ?? null,
        quantities: args.input.quantities.map((quantity) => ({
          inventoryItemId: idOf('InventoryItem', quantity.inventoryItemId),
          locationId: idOf('Location', quantity.locationId),
          quantity: quantity.quantity as number,
          ...('changeFromQuantity' in quantity
            ? { changeFromQuantity: quantity.changeFromQuantity as number | null }
            : {}),
        })),
      });
      const payload = {
        inventoryAdjustmentGroup: result.group ? adjustmentGroupView(result.group, context) : null,
        userErrors: userErrorsView(result.userErrors),
      };
      if (key !== undefined) idempotency.set(key, { input: inputJson, payload });
      return payload;
    },
  };
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

const errorCode = (extensions: Readonly<Record<string, unknown>> | undefined): string =>
  typeof extensions?.code === 'string' ? extensions.code : '';

function send(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  response.end(JSON.stringify(body));
}

export async function startShopifyStandIn(options: ShopifyStandInOptions = {}): Promise<ShopifyStandIn> {
  const now = options.now ?? (() => Date.now());
  const apiVersions = new Set(options.apiVersions ?? [SUPPORTED_API_VERSION]);
  const maximumAvailable = options.maximumAvailable ?? 1000;
  const restoreRate = options.restoreRate ?? 100;
  const shop = new Shop(now);
  for (const location of options.locations ?? [{ name: 'Shop location' }]) shop.addLocation(location);
  for (const variant of options.variants ?? []) shop.addVariant(variant);
  const apps = new Map<string, App>();
  for (const seed of options.apps ?? [{ accessToken: DEFAULT_TOKEN, scopes: CONNECTOR_SCOPES }]) {
    apps.set(seed.accessToken, {
      scopes: new Set(seed.scopes),
      installed: true,
      bucket: new LeakyBucket(maximumAvailable, restoreRate, now),
    });
  }
  let shopState: ShopState = 'active';
  const requests: RecordedRequest[] = [];
  const idempotency = new Map<string, { input: string; payload: unknown }>();
  const root = rootValue(idempotency);

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const receivedAt = now();
    const accessToken = String(request.headers['x-shopify-access-token'] ?? '');
    const record = (fields: Partial<RecordedRequest> & { status: number }): void => {
      requests.push({
        accessToken,
        operationName: undefined,
        operation: undefined,
        receivedAt,
        answeredAt: now(),
        requestedQueryCost: undefined,
        actualQueryCost: undefined,
        throttled: false,
        availableBefore: undefined,
        availableAfter: undefined,
        errorCodes: [],
        ...fields,
      });
    };
    const path = /^\/admin\/api\/([^/]+)\/graphql\.json$/.exec(new URL(request.url ?? '/', 'http://stand-in').pathname);
    // A version that is not (or no longer) served answers 404: https://shopify.dev/docs/api/usage/response-codes
    // ("404 Not Found: The requested resource was not found").
    if (request.method !== 'POST' || !path || !apiVersions.has(path[1]!)) {
      record({ status: 404 });
      return send(response, 404, { errors: 'Not Found' });
    }
    const version = path[1]!;
    // https://shopify.dev/docs/api/usage/response-codes: "401 Unauthorized: The necessary authentication credentials
    // are not present in the request or are incorrect." A removed app's token is revoked, so it is unknown too.
    // Body as Shopify sends it: https://community.shopify.com/t/errors-api-invalid-api-key-or-access-token-unrecognized-login-or-wrong-password/3332
    const app = apps.get(accessToken);
    if (!app || !app.installed) {
      record({ status: 401 });
      return send(response, 401, {
        errors: '[API] Invalid API key or access token (unrecognized login or wrong password)',
      });
    }
    // https://shopify.dev/docs/api/usage/response-codes: "402 Payment Required: The requested shop is currently
    // frozen. The shop owner needs to log in to the shop's admin and pay the outstanding balance to unfreeze the
    // shop." and "423 Locked: The requested shop is currently locked" (since 2018:
    // https://shopify.dev/changelog/admin-api-requests-to-locked-stores-will-return-a-423-status-code-instead-of-420).
    if (shopState === 'frozen') {
      record({ status: 402 });
      return send(response, 402, { errors: 'Unavailable Shop' });
    }
    if (shopState === 'locked') {
      record({ status: 423 });
      return send(response, 423, { errors: 'Locked' });
    }
    const headers = { 'x-shopify-api-version': version };
    let body: { query?: unknown; variables?: unknown; operationName?: unknown };
    try {
      body = JSON.parse(await readBody(request)) as typeof body;
    } catch {
      // https://shopify.dev/docs/api/usage/response-codes: "400 Bad Request: The request wasn't understood by the server"
      record({ status: 400 });
      return send(response, 400, { errors: 'Bad Request' }, headers);
    }
    const answerErrors = (errors: readonly GraphQLError[]): void => {
      record({
        status: 200,
        errorCodes: errors.map((error) => errorCode(error.extensions)).filter((code) => code !== ''),
      });
      send(response, 200, { errors: errors.map((error) => error.toJSON()) }, headers);
    };
    let document: DocumentNode;
    try {
      document = parse(typeof body.query === 'string' ? body.query : '');
    } catch (error) {
      return answerErrors([error as GraphQLError]);
    }
    const validationErrors = validate(adminSchema, document);
    if (validationErrors.length > 0) return answerErrors(validationErrors);
    const executionArgs = {
      schema: adminSchema,
      document,
      rootValue: root,
      contextValue: { app, shop } satisfies RequestContext,
      variableValues: (body.variables ?? {}) as Record<string, unknown>,
      operationName: typeof body.operationName === 'string' ? body.operationName : undefined,
    };
    const validated = validateExecutionArgs(executionArgs);
    if (Array.isArray(validated)) return answerErrors(validated);
    const { operation, fragmentDefinitions, variableValues } = validated as Exclude<
      typeof validated,
      readonly GraphQLError[]
    >;
    const costContext: CostContext = { schema: adminSchema, fragments: fragmentDefinitions, variableValues };
    const requested = requestedQueryCost(operation, costContext);
    const operationFields = {
      operationName: operation.name?.value,
      operation: operation.operation === 'mutation' ? ('mutation' as const) : ('query' as const),
      requestedQueryCost: requested,
    };
    // Refused before execution: https://github.com/Shopify/shopify-app-js/issues/577 quotes Shopify's message.
    if (requested > MAX_SINGLE_QUERY_COST) {
      const error = new GraphQLError(
        `Query cost is ${requested}, which exceeds the single query max cost limit (${MAX_SINGLE_QUERY_COST}).\n\n` +
          'See https://shopify.dev/concepts/about-apis/rate-limits for more information on how the\n' +
          'cost of a query is calculated.\n\n' +
          'To query larger amounts of data with fewer limits, bulk operations should be used instead.\n' +
          'See https://shopify.dev/api/usage/bulk-operations/queries for usage details.\n',
        { extensions: { code: 'MAX_COST_EXCEEDED', cost: requested, maxCost: MAX_SINGLE_QUERY_COST } },
      );
      record({ ...operationFields, status: 200, errorCodes: ['MAX_COST_EXCEEDED'] });
      return send(response, 200, { errors: [error.toJSON()] }, headers);
    }
    const availableBefore = app.bucket.available();
    // Throttled requests are answered 200 with errors [{ message: "Throttled", extensions: { code: "THROTTLED" } }],
    // actualQueryCost null, and nothing executed:
    // https://help.shopify.com/en/api/graphql-admin-api/graphql-admin-api-rate-limits and the response quoted in
    // https://community.shopify.com/t/throttled/254776
    if (!app.bucket.take(requested)) {
      record({
        ...operationFields,
        status: 200,
        throttled: true,
        availableBefore,
        availableAfter: app.bucket.available(),
        errorCodes: ['THROTTLED'],
      });
      return send(
        response,
        200,
        {
          errors: [
            {
              message: 'Throttled',
              extensions: { code: 'THROTTLED', documentation: 'https://shopify.dev/api/usage/rate-limits' },
            },
          ],
          extensions: {
            cost: { requestedQueryCost: requested, actualQueryCost: null, throttleStatus: app.bucket.status() },
          },
        },
        headers,
      );
    }
    const result = await execute(executionArgs);
    const actual = Math.min(requested, actualQueryCost(operation, result.data, costContext));
    app.bucket.refund(requested - actual);
    const errors = result.errors?.map((error) => error.toJSON()) ?? [];
    record({
      ...operationFields,
      status: 200,
      actualQueryCost: actual,
      availableBefore,
      availableAfter: app.bucket.available(),
      errorCodes: errors.map((error) => errorCode(error.extensions)).filter((code) => code !== ''),
    });
    send(
      response,
      200,
      {
        ...(errors.length > 0 ? { errors } : {}),
        data: result.data ?? null,
        extensions: {
          cost: { requestedQueryCost: requested, actualQueryCost: actual, throttleStatus: app.bucket.status() },
        },
      },
      headers,
    );
  }

  const server: Server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      send(response, 500, { errors: `stand-in failure: ${String(error)}` });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  const appOf = (accessToken: string): App => {
    const app = apps.get(accessToken);
    if (!app) throw new Error(`the stand-in has no app with token ${accessToken}`);
    return app;
  };
  const orderIdOf = (orderGid: string): number => {
    const id = idOf('Order', orderGid);
    if (id === undefined) throw new Error(`not an order id: ${orderGid}`);
    return id;
  };

  return {
    url,
    apiVersion: [...apiVersions][0]!,
    defaultAccessToken: [...apps.keys()][0]!,
    shop,
    requests,
    graphqlUrl: (version = [...apiVersions][0]!) => `${url}/admin/api/${version}/graphql.json`,
    addOrder: (seed) => shop.addOrder(seed),
    updateOrder: (orderGid, patch) => shop.updateOrder(orderIdOf(orderGid), patch),
    addVariant: (seed) => shop.addVariant(seed),
    addLocation: (seed) => shop.addLocation(seed),
    available: (sku, locationName) => {
      const variant = shop.variants.find((candidate) => candidate.sku === sku);
      const location = shop.locationNamed(locationName);
      return variant ? shop.inventoryLevels.get(`${variant.inventoryItemId}:${location.id}`)?.available : undefined;
    },
    fulfillmentsOf: (orderGid) => shop.fulfillmentsOf(orderIdOf(orderGid)),
    fulfillmentOrdersOf: (orderGid) => shop.fulfillmentOrdersOf(orderIdOf(orderGid)),
    setFulfillmentOrderStatus: (fulfillmentOrderGid, status) => {
      const fulfillmentOrder = shop.fulfillmentOrders.find(
        (candidate) => candidate.id === idOf('FulfillmentOrder', fulfillmentOrderGid),
      );
      if (!fulfillmentOrder) throw new Error(`the stand-in has no fulfillment order ${fulfillmentOrderGid}`);
      fulfillmentOrder.status = status;
    },
    setScopes: (accessToken, scopes) => {
      appOf(accessToken).scopes = new Set(scopes);
    },
    uninstallApp: (accessToken) => {
      appOf(accessToken).installed = false;
    },
    setShopState: (state) => {
      shopState = state;
    },
    throttleStatus: (accessToken = [...apps.keys()][0]!) => appOf(accessToken).bucket.status(),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
