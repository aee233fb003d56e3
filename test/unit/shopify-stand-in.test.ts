// The Shopify stand-in enforces what Shopify documents: each rule is broken here once and must answer as Shopify would.
import { afterEach, describe, expect, it } from 'vitest';
import { startShopifyStandIn, type ShopifyStandIn, type ShopifyStandInOptions } from '../support/shopify-stand-in.ts';

interface GraphqlAnswer<T = unknown> {
  status: number;
  body: {
    data?: T | null;
    errors?: { message: string; extensions?: Record<string, unknown>; path?: string[] }[] | string;
    extensions?: {
      cost: { requestedQueryCost: number; actualQueryCost: number | null; throttleStatus: Record<string, number> };
    };
  };
}

let standIn: ShopifyStandIn | undefined;
afterEach(async () => {
  await standIn?.close();
  standIn = undefined;
});

class FakeClock {
  ms = Date.parse('2026-11-01T00:00:00Z');
  readonly now = (): number => this.ms;
  advance(seconds: number): void {
    this.ms += seconds * 1000;
  }
}

async function start(options: ShopifyStandInOptions = {}): Promise<ShopifyStandIn> {
  standIn = await startShopifyStandIn({
    locations: [{ name: 'Main' }, { name: 'Acme 3PL', fulfillmentServiceHandle: 'acme-3pl' }],
    variants: [
      { sku: 'MUG', available: { Main: 5 } },
      { sku: 'CAP', available: { 'Acme 3PL': 7 } },
    ],
    ...options,
  });
  return standIn;
}

async function post<T = unknown>(
  query: string,
  variables: Record<string, unknown> = {},
  { token = standIn!.defaultAccessToken, url = standIn!.graphqlUrl() }: { token?: string | null; url?: string } = {},
): Promise<GraphqlAnswer<T>> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token === null ? {} : { 'x-shopify-access-token': token }) },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, body: (await response.json()) as GraphqlAnswer<T>['body'] };
}

const errorsOf = (answer: GraphqlAnswer<unknown>) => (Array.isArray(answer.body.errors) ? answer.body.errors : []);

interface OrdersPage {
  orders: {
    edges: { cursor: string; node: { id: string; name: string; updatedAt: string } }[];
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
  };
}

interface FulfillmentOrderNode {
  id: string;
  status: string;
  assignedLocation: { location: { id: string; fulfillmentService: { handle: string } | null } };
  lineItems: { nodes: { id: string; remainingQuantity: number; lineItem: { sku: string } }[] };
}

interface FulfillmentOrdersData {
  order: { fulfillmentOrders: { nodes: FulfillmentOrderNode[] } };
}

interface UserErrorData {
  field: string[] | null;
  message: string;
  code?: string | null;
}

interface FulfillmentCreateData {
  fulfillmentCreate: {
    fulfillment: {
      id: string;
      status: string;
      trackingInfo: { number: string; company: string; url: string }[];
    } | null;
    userErrors: UserErrorData[];
  };
}

interface SetQuantitiesData {
  inventorySetQuantities: {
    inventoryAdjustmentGroup: { changes: { name: string; delta: number; quantityAfterChange: number }[] } | null;
    userErrors: UserErrorData[];
  } | null;
}

interface VariantsAndLocations {
  productVariants: { nodes: { sku: string; inventoryItem: { id: string } }[] };
  locations: { nodes: { id: string; name: string }[] };
}

const ORDERS_PAGE = /* GraphQL */ `
  query Orders($after: String, $query: String) {
    orders(first: 2, after: $after, sortKey: UPDATED_AT, query: $query) {
      edges {
        cursor
        node {
          id
          name
          updatedAt
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`;

const FULFILLMENT_ORDERS = /* GraphQL */ `
  query FulfillmentOrders($id: ID!) {
    order(id: $id) {
      fulfillmentOrders(first: 10) {
        nodes {
          id
          status
          assignedLocation {
            location {
              id
              fulfillmentService {
                handle
              }
            }
          }
          lineItems(first: 10) {
            nodes {
              id
              remainingQuantity
              lineItem {
                sku
              }
            }
          }
        }
      }
    }
  }
`;

const FULFILLMENT_CREATE = /* GraphQL */ `
  mutation Ship($fulfillment: FulfillmentInput!) {
    fulfillmentCreate(fulfillment: $fulfillment) {
      fulfillment {
        id
        status
        trackingInfo {
          number
          company
          url
        }
      }
      userErrors {
        field
        message
      }
    }
  }
`;

const SET_QUANTITIES = /* GraphQL */ `
  mutation Set($input: InventorySetQuantitiesInput!) {
    inventorySetQuantities(input: $input) {
      inventoryAdjustmentGroup {
        changes(quantityNames: ["available"]) {
          name
          delta
          quantityAfterChange
        }
      }
      userErrors {
        field
        message
        code
      }
    }
  }
`;

describe('the Shopify stand-in: requests Shopify refuses before any GraphQL', () => {
  it('answers 401 with Shopify’s body to a missing or unknown token, and to a removed app’s token', async () => {
    await start();
    const body = { errors: '[API] Invalid API key or access token (unrecognized login or wrong password)' };
    expect(await post('{ locations(first: 1) { nodes { id } } }', {}, { token: null })).toEqual({ status: 401, body });
    expect(await post('{ locations(first: 1) { nodes { id } } }', {}, { token: 'shpat_wrong' })).toEqual({
      status: 401,
      body,
    });
    expect((await post('{ locations(first: 1) { nodes { id } } }')).status).toBe(200);
    standIn!.uninstallApp(standIn!.defaultAccessToken);
    expect(await post('{ locations(first: 1) { nodes { id } } }')).toEqual({ status: 401, body });
  });

  it('answers 402 for a frozen shop, 423 for a locked one, 404 for a version it does not serve', async () => {
    await start();
    standIn!.setShopState('frozen');
    expect((await post('{ locations(first: 1) { nodes { id } } }')).status).toBe(402);
    standIn!.setShopState('locked');
    expect((await post('{ locations(first: 1) { nodes { id } } }')).status).toBe(423);
    standIn!.setShopState('active');
    const unknown = await post('{ locations(first: 1) { nodes { id } } }', {}, { url: standIn!.graphqlUrl('2024-13') });
    expect(unknown).toEqual({ status: 404, body: { errors: 'Not Found' } });
  });
});

describe('the Shopify stand-in: GraphQL validation and access scopes', () => {
  it('refuses an invalid query with graphql-js’s validation error and runs nothing', async () => {
    await start();
    const answer = await post('{ orders(first: 1) { nodes { id colour } } }');
    expect(answer.status).toBe(200);
    expect(errorsOf(answer).map((error) => error.message)).toEqual(['Cannot query field "colour" on type "Order".']);
    expect(answer.body.data).toBeUndefined();
  });

  it('refuses a connection without first or last, as Shopify does', async () => {
    await start();
    const answer = await post('{ orders { nodes { id } } }');
    expect(errorsOf(answer)[0]?.message).toBe('you must provide one of first or last');
  });

  it('denies a field whose scope was not granted with ACCESS_DENIED naming the scope, and hides fulfillment orders of locations the app may not read', async () => {
    await start();
    const order = standIn!.addOrder({
      lineItems: [
        { sku: 'MUG', quantity: 1 },
        { sku: 'CAP', quantity: 1, location: 'Acme 3PL' },
      ],
    });
    standIn!.setScopes(standIn!.defaultAccessToken, ['read_products', 'read_merchant_managed_fulfillment_orders']);
    const denied = await post('{ orders(first: 1) { nodes { id } } }');
    expect(denied.body.data).toBeNull();
    expect(errorsOf(denied)).toEqual([
      expect.objectContaining({
        message: 'Access denied for orders field. Required access: `read_orders` access scope.',
        path: ['orders'],
        extensions: expect.objectContaining({
          code: 'ACCESS_DENIED',
          requiredAccess: '`read_orders` access scope.',
        }) as unknown,
      }),
    ]);
    standIn!.setScopes(standIn!.defaultAccessToken, ['read_orders', 'read_merchant_managed_fulfillment_orders']);
    const visible = await post<FulfillmentOrdersData>(FULFILLMENT_ORDERS, { id: `gid://shopify/Order/${order.id}` });
    expect(
      visible.body.data!.order.fulfillmentOrders.nodes.map((node) => node.lineItems.nodes[0]!.lineItem.sku),
    ).toEqual(['MUG']);
    const inventory = await post(SET_QUANTITIES, {
      input: { name: 'available', reason: 'correction', quantities: [] },
    });
    expect(errorsOf(inventory)[0]?.extensions).toMatchObject({
      code: 'ACCESS_DENIED',
      requiredAccess: '`write_inventory` access scope.',
    });
  });
});

describe('the Shopify stand-in: calculated query cost and the leaky bucket', () => {
  it('charges connections 2 + first × node cost, objects 1, scalars 0, mutations 10, and refunds what was not returned', async () => {
    await start();
    standIn!.addOrder({ lineItems: [{ sku: 'MUG', quantity: 1 }] });
    const query = await post(
      '{ orders(first: 10) { edges { node { id shippingAddress { city } } } pageInfo { hasNextPage } } }',
    );
    expect(query.body.extensions!.cost).toMatchObject({ requestedQueryCost: 2 + 10 * 2, actualQueryCost: 2 + 1 });
    const mutation = await post(SET_QUANTITIES, { input: { name: 'available', reason: 'correction', quantities: [] } });
    expect(mutation.body.extensions!.cost).toMatchObject({ requestedQueryCost: 10, actualQueryCost: 10 });
  });

  it('refuses a query over the single query maximum of 1000 without executing or charging it', async () => {
    await start();
    const answer = await post('{ orders(first: 250) { nodes { lineItems(first: 250) { nodes { sku } } } } }');
    expect(errorsOf(answer)[0]).toMatchObject({
      message: expect.stringMatching(
        /^Query cost is 63252, which exceeds the single query max cost limit \(1000\)\./,
      ) as unknown,
      extensions: { code: 'MAX_COST_EXCEEDED', cost: 63252, maxCost: 1000 },
    });
    expect(standIn!.throttleStatus().currentlyAvailable).toBe(1000);
  });

  it('throttles a request that costs more than is available, executes nothing, and lets it through once the bucket refilled at restoreRate', async () => {
    const clock = new FakeClock();
    await start({ maximumAvailable: 100, restoreRate: 10, now: clock.now });
    const mugItem = standIn!.shop.variants.find((variant) => variant.sku === 'MUG')!.inventoryItemId;
    const main = standIn!.shop.locationNamed('Main').id;
    const setMug = (quantity: number) =>
      post(
        `mutation Set($input: InventorySetQuantitiesInput!) { a: inventorySetQuantities(input: $input) { userErrors { message } } b: inventorySetQuantities(input: $input) { userErrors { message } } c: inventorySetQuantities(input: $input) { userErrors { message } } d: inventorySetQuantities(input: $input) { userErrors { message } } e: inventorySetQuantities(input: $input) { userErrors { message } } f: inventorySetQuantities(input: $input) { userErrors { message } } }`,
        {
          input: {
            name: 'available',
            reason: 'correction',
            quantities: [
              {
                inventoryItemId: `gid://shopify/InventoryItem/${mugItem}`,
                locationId: `gid://shopify/Location/${main}`,
                quantity,
                changeFromQuantity: null,
              },
            ],
          },
        },
      );
    expect((await setMug(9)).body.extensions!.cost.throttleStatus).toEqual({
      maximumAvailable: 100,
      currentlyAvailable: 40,
      restoreRate: 10,
    });
    const throttled = await setMug(3);
    expect(throttled.status).toBe(200);
    expect(throttled.body).toEqual({
      errors: [
        {
          message: 'Throttled',
          extensions: { code: 'THROTTLED', documentation: 'https://shopify.dev/api/usage/rate-limits' },
        },
      ],
      extensions: {
        cost: {
          requestedQueryCost: 60,
          actualQueryCost: null,
          throttleStatus: { maximumAvailable: 100, currentlyAvailable: 40, restoreRate: 10 },
        },
      },
    });
    expect(standIn!.available('MUG', 'Main')).toBe(9);
    clock.advance(1.5);
    expect((await setMug(3)).status).toBe(200);
    expect(standIn!.available('MUG', 'Main')).toBe(9);
    clock.advance(0.5);
    const admitted = await setMug(3);
    expect(admitted.body.errors).toBeUndefined();
    expect(standIn!.available('MUG', 'Main')).toBe(3);
    expect(
      standIn!.requests.map(({ throttled: wasThrottled, availableBefore, availableAfter }) => [
        wasThrottled,
        availableBefore,
        availableAfter,
      ]),
    ).toEqual([
      [false, 100, 40],
      [true, 40, 40],
      [true, 55, 55],
      [false, 60, 0],
    ]);
  });
});

describe('the Shopify stand-in: orders by update time, page by page', () => {
  it('pages orders in updatedAt order with cursors, filters on updated_at, and moves an edited order to the end', async () => {
    await start();
    const orders = ['01', '02', '03', '04', '05'].map((day) =>
      standIn!.addOrder({ createdAt: `2026-11-${day}T10:00:00Z`, lineItems: [{ sku: 'MUG', quantity: 1 }] }),
    );
    standIn!.updateOrder(`gid://shopify/Order/${orders[1]!.id}`, {
      email: 'new@example.com',
      updatedAt: '2026-11-20T10:00:00Z',
    });
    const names: string[] = [];
    let after: string | null = null;
    let pages = 0;
    do {
      const answer: GraphqlAnswer<OrdersPage> = await post<OrdersPage>(ORDERS_PAGE, {
        after,
        query: "updated_at:>'2026-11-01T10:00:00Z'",
      });
      const connection = answer.body.data!.orders;
      names.push(...connection.edges.map((edge) => edge.node.name));
      expect(connection.pageInfo.endCursor).toBe(connection.edges.at(-1)?.cursor);
      after = connection.pageInfo.hasNextPage ? connection.pageInfo.endCursor : null;
      pages += 1;
    } while (after);
    expect(pages).toBe(2);
    expect(names).toEqual([orders[2], orders[3], orders[4], orders[1]].map((order) => order!.name));
  });
});

describe('the Shopify stand-in: fulfillments from fulfillment orders', () => {
  async function splitOrder() {
    await start();
    const order = standIn!.addOrder({
      lineItems: [
        { sku: 'MUG', quantity: 2 },
        { sku: 'CAP', quantity: 1, location: 'Acme 3PL' },
      ],
    });
    const answer = await post<FulfillmentOrdersData>(FULFILLMENT_ORDERS, { id: `gid://shopify/Order/${order.id}` });
    const [main, thirdParty] = answer.body.data!.order.fulfillmentOrders.nodes;
    return { order, main: main!, thirdParty: thirdParty! };
  }

  it('splits an order across locations and refuses one fulfillment over both with Shopify’s fulfillment-service error', async () => {
    const { order, main, thirdParty } = await splitOrder();
    expect(main.assignedLocation.location.fulfillmentService).toBeNull();
    expect(thirdParty.assignedLocation.location.fulfillmentService).toEqual({ handle: 'acme-3pl' });
    const answer = await post<FulfillmentCreateData>(FULFILLMENT_CREATE, {
      fulfillment: {
        lineItemsByFulfillmentOrder: [{ fulfillmentOrderId: main.id }, { fulfillmentOrderId: thirdParty.id }],
        trackingInfo: { number: '1Z1', company: 'UPS' },
      },
    });
    expect(answer.body.data!.fulfillmentCreate).toEqual({
      fulfillment: null,
      userErrors: [
        { field: ['fulfillment'], message: 'All line items of a fulfillment must use the same fulfillment service.' },
      ],
    });
    expect(standIn!.fulfillmentsOf(`gid://shopify/Order/${order.id}`)).toEqual([]);
  });

  it('creates one fulfillment per fulfillment order with its tracking, reduces remaining quantities and closes what is done', async () => {
    const { order, main, thirdParty } = await splitOrder();
    const mugLine = main.lineItems.nodes[0]!;
    const partial = await post<FulfillmentCreateData>(FULFILLMENT_CREATE, {
      fulfillment: {
        lineItemsByFulfillmentOrder: [
          { fulfillmentOrderId: main.id, fulfillmentOrderLineItems: [{ id: mugLine.id, quantity: 1 }] },
        ],
        trackingInfo: { number: '1Z1', company: 'UPS', url: 'https://ups.example/1Z1' },
      },
    });
    expect(partial.body.data!.fulfillmentCreate).toMatchObject({
      fulfillment: {
        status: 'SUCCESS',
        trackingInfo: [{ number: '1Z1', company: 'UPS', url: 'https://ups.example/1Z1' }],
      },
      userErrors: [],
    });
    const tooMany = await post<FulfillmentCreateData>(FULFILLMENT_CREATE, {
      fulfillment: {
        lineItemsByFulfillmentOrder: [
          { fulfillmentOrderId: main.id, fulfillmentOrderLineItems: [{ id: mugLine.id, quantity: 2 }] },
        ],
      },
    });
    expect(tooMany.body.data!.fulfillmentCreate.userErrors).toEqual([
      {
        field: ['fulfillment', 'lineItemsByFulfillmentOrder', '0', 'fulfillmentOrderLineItems', '0', 'quantity'],
        message: 'Invalid fulfillment order line item quantity requested.',
      },
    ]);
    await post<FulfillmentCreateData>(FULFILLMENT_CREATE, {
      fulfillment: { lineItemsByFulfillmentOrder: [{ fulfillmentOrderId: main.id }] },
    });
    await post<FulfillmentCreateData>(FULFILLMENT_CREATE, {
      fulfillment: {
        lineItemsByFulfillmentOrder: [{ fulfillmentOrderId: thirdParty.id }],
        trackingInfo: { number: 'DHL9' },
      },
    });
    const after = await post<FulfillmentOrdersData>(FULFILLMENT_ORDERS, { id: `gid://shopify/Order/${order.id}` });
    expect(
      after.body.data!.order.fulfillmentOrders.nodes.map((node) => [
        node.status,
        node.lineItems.nodes[0]!.remainingQuantity,
      ]),
    ).toEqual([
      ['CLOSED', 0],
      ['CLOSED', 0],
    ]);
    expect(
      standIn!
        .fulfillmentsOf(`gid://shopify/Order/${order.id}`)
        .map((fulfillment) => fulfillment.lineItems.map((line) => line.quantity)),
    ).toEqual([[1], [1], [1]]);
  });

  it('refuses a closed fulfillment order with userErrors', async () => {
    const { main } = await splitOrder();
    standIn!.setFulfillmentOrderStatus(main.id, 'CLOSED');
    const answer = await post<FulfillmentCreateData>(FULFILLMENT_CREATE, {
      fulfillment: { lineItemsByFulfillmentOrder: [{ fulfillmentOrderId: main.id }] },
    });
    expect(answer.body.data!.fulfillmentCreate.userErrors[0]?.message).toBe(
      `Fulfillment order ${main.id} has an unfulfillable status= closed.`,
    );
  });
});

describe('the Shopify stand-in: inventory by SKU', () => {
  async function mugIds() {
    const answer = await post<VariantsAndLocations>(
      '{ productVariants(first: 2, query: "sku:MUG") { nodes { sku inventoryItem { id } } } locations(first: 5) { nodes { id name } } }',
    );
    const data = answer.body.data!;
    expect(data.productVariants.nodes.map((node) => node.sku)).toEqual(['MUG']);
    const location = (name: string): string => data.locations.nodes.find((node) => node.name === name)!.id;
    return {
      item: data.productVariants.nodes[0]!.inventoryItem.id,
      main: location('Main'),
      thirdParty: location('Acme 3PL'),
    };
  }

  it('sets available at a location, refuses a stale changeFromQuantity and one left out, and replays an idempotent repeat', async () => {
    await start();
    const { item, main } = await mugIds();
    const set = (changeFrom: Record<string, unknown>, directive = '') =>
      post<SetQuantitiesData>(
        SET_QUANTITIES.replace(
          'inventorySetQuantities(input: $input)',
          `inventorySetQuantities(input: $input) ${directive}`,
        ),
        {
          input: {
            name: 'available',
            reason: 'correction',
            quantities: [{ inventoryItemId: item, locationId: main, quantity: 8, ...changeFrom }],
          },
        },
      );
    expect((await set({ changeFromQuantity: 4 })).body.data!.inventorySetQuantities!.userErrors).toEqual([
      {
        field: ['input', 'quantities', '0', 'changeFromQuantity'],
        message: 'The changeFromQuantity value does not match persisted value.',
        code: 'CHANGE_FROM_QUANTITY_STALE',
      },
    ]);
    expect((await set({})).body.data!.inventorySetQuantities!.userErrors[0]?.field).toEqual([
      'input',
      'quantities',
      '0',
      'changeFromQuantity',
    ]);
    expect(standIn!.available('MUG', 'Main')).toBe(5);
    const applied = await set({ changeFromQuantity: 5 }, '@idempotent(key: "count-1")');
    expect(applied.body.data!.inventorySetQuantities).toEqual({
      inventoryAdjustmentGroup: { changes: [{ name: 'available', delta: 3, quantityAfterChange: 8 }] },
      userErrors: [],
    });
    expect((await set({ changeFromQuantity: 5 }, '@idempotent(key: "count-1")')).body.data).toEqual(applied.body.data);
    expect(standIn!.shop.adjustmentGroups).toHaveLength(1);
  });

  it('answers an unknown inventory item or location with the documented userErrors and changes nothing', async () => {
    await start();
    const { item, main, thirdParty } = await mugIds();
    const answer = await post<SetQuantitiesData>(SET_QUANTITIES, {
      input: {
        name: 'available',
        reason: 'correction',
        quantities: [
          {
            inventoryItemId: 'gid://shopify/InventoryItem/999999',
            locationId: main,
            quantity: 1,
            changeFromQuantity: null,
          },
          { inventoryItemId: item, locationId: 'gid://shopify/Location/999999', quantity: 1, changeFromQuantity: null },
          { inventoryItemId: item, locationId: thirdParty, quantity: 1, changeFromQuantity: null },
          { inventoryItemId: item, locationId: main, quantity: 1, changeFromQuantity: null },
        ],
      },
    });
    expect(answer.body.data!.inventorySetQuantities).toEqual({
      inventoryAdjustmentGroup: null,
      userErrors: [
        {
          field: ['input', 'quantities', '0', 'inventoryItemId'],
          message: 'The specified inventory item could not be found.',
          code: 'INVALID_INVENTORY_ITEM',
        },
        {
          field: ['input', 'quantities', '1', 'locationId'],
          message: 'The specified location could not be found.',
          code: 'INVALID_LOCATION',
        },
        {
          field: ['input', 'quantities', '2', 'locationId'],
          message: 'The specified inventory item is not stocked at the location.',
          code: 'ITEM_NOT_STOCKED_AT_LOCATION',
        },
      ],
    });
    expect(standIn!.available('MUG', 'Main')).toBe(5);
  });
});
