// Picks the connector for the endpoint type the owner's spec names. New connector types are added here.
import type { OwnerKind } from '../../api/v1alpha1/services.ts';
import type { Endpoint } from '../config.ts';
import type { Connectors } from '../services/bindings.ts';
import { createHttpConnector } from './http-connector.ts';

/** The connector of an owner's endpoint: a Merchant's warehouse, or a Cart's platform. */
export function createConnectors(kind: OwnerKind, endpoint: Endpoint, timeoutMs: number): Connectors {
  switch (endpoint.type) {
    case 'http': {
      const connector = createHttpConnector({ ...endpoint, timeoutMs });
      return kind === 'Cart' ? { cart: connector } : { warehouse: connector };
    }
    case 'shopify':
      // The Shopify connector is being built (issue 13); until then a shopify endpoint is refused here, by name.
      throw new Error('the shopify connector is not available in this build');
  }
}
