// The `shopify` connector: a Cart's platform spoken to through Shopify's GraphQL Admin API (docs/shopify.md), every
// request within the store's rate budget shared through the hub store.
import type { Pool } from '../../store/database.ts';
import type { CartConnector } from '../connector.ts';
import { uploadTracking } from './fulfillment.ts';
import { createGraphqlClient, type ShopifyEndpoint } from './graphql-client.ts';
import { createInventoryUploader } from './inventory.ts';
import { listShopifyOrders } from './orders.ts';

export interface ShopifyConnectorOptions extends ShopifyEndpoint {
  /** spec.platform.locationId: where Inventory Upload sets quantities (else the shop's only active location). */
  readonly locationId?: string;
}

/**
 * Writes in flight at once per runner. Each fulfillment looks before it writes and each costs points from the same
 * bucket, so more would only queue on the budget.
 */
const concurrentWrites = 4;

export function createShopifyConnector(options: ShopifyConnectorOptions, pool: Pool): CartConnector {
  const client = createGraphqlClient(options, pool);
  const inventory = createInventoryUploader(
    client,
    pool,
    new URL(options.url).host,
    options.apiVersion,
    options.locationId,
  );
  return {
    maxConcurrentWrites: concurrentWrites,
    listOrders: (cursor, limit) => listShopifyOrders(client, cursor, limit),
    postTracking: (write) => uploadTracking(client, write),
    postInventoryLevel: (write) => inventory.upload(write),
    // fetch keeps no connections of the connector's own.
    close: () => undefined,
  };
}
