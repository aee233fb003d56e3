// Picks the connector for the endpoint type the owner's spec names. New connector types are added here.
import type { OwnerKind } from '../../api/v1alpha1/services.ts';
import type { Endpoint } from '../config.ts';
import type { Connectors } from '../services/bindings.ts';
import type { Pool } from '../store/database.ts';
import { createHttpConnector } from './http-connector.ts';
import { createShopifyConnector } from './shopify/shopify-connector.ts';

/**
 * The connector of an owner's endpoint: a Merchant's warehouse, or a Cart's platform. `pool` is the runner's hub-store
 * pool, where the Shopify connector keeps the store's shared rate budget and its SKU cache.
 */
export function createConnectors(kind: OwnerKind, endpoint: Endpoint, timeoutMs: number, pool: Pool): Connectors {
  switch (endpoint.type) {
    case 'http': {
      const connector = createHttpConnector({ ...endpoint, timeoutMs });
      return kind === 'Cart' ? { cart: connector } : { warehouse: connector };
    }
    case 'shopify':
      // The API admits a shopify platform only on a Cart.
      if (kind !== 'Cart') throw new Error('a shopify endpoint serves a Cart only');
      return { cart: createShopifyConnector({ ...endpoint, timeoutMs }, pool) };
  }
}
