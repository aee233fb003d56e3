// Builders of Merchants and Carts for tests: a valid object with every default filled in, changed where a test says.
import {
  apiVersion,
  type Cart,
  type CartSpec,
  type Merchant,
  type MerchantSpec,
} from '../../operator/api/v1alpha1/types.ts';
import type { RunnerSettings } from '../../operator/reconcile/desired.ts';

const service = (schedule: string) => ({ schedule, suspend: false, batchSize: 100 });

export function merchantFixture(
  overrides: {
    name?: string;
    uid?: string;
    spec?: Partial<MerchantSpec>;
    services?: Partial<MerchantSpec['services']>;
    annotations?: Record<string, string>;
  } = {},
): Merchant {
  return {
    apiVersion,
    kind: 'Merchant',
    metadata: {
      name: overrides.name ?? 'acme',
      namespace: 'shops',
      uid: overrides.uid ?? 'uid-acme',
      generation: 1,
      ...(overrides.annotations && { annotations: overrides.annotations }),
    },
    spec: {
      timeZone: 'America/Chicago',
      suspend: false,
      warehouse: {
        type: 'http',
        url: 'https://wms.example.com/api',
        credentialsSecretRef: { name: 'acme-wms', key: 'token' },
      },
      ...overrides.spec,
      services: {
        orderDelivery: service('Automatic'),
        shippingConfirmations: service('30m'),
        inventory: service('0 */2 * * *'),
        ...overrides.services,
      },
    },
  };
}

export function cartFixture(
  overrides: { name?: string; uid?: string; spec?: Partial<CartSpec>; services?: Partial<CartSpec['services']> } = {},
): Cart {
  return {
    apiVersion,
    kind: 'Cart',
    metadata: {
      name: overrides.name ?? 'acme-shopify',
      namespace: 'shops',
      uid: overrides.uid ?? 'uid-cart',
      generation: 1,
    },
    spec: {
      merchantRef: { name: 'acme' },
      suspend: false,
      platform: { type: 'http', url: 'https://cart.example.com/api' },
      ...overrides.spec,
      services: {
        orderDownload: service('15m'),
        shipmentUpload: service('Automatic'),
        inventoryUpload: service('Automatic'),
        ...overrides.services,
      },
    },
  };
}

export const runnerSettingsFixture: RunnerSettings = {
  image: 'switchyard:test',
  imagePullPolicy: 'IfNotPresent',
  imagePullSecrets: [],
  databaseSecret: { name: 'switchyard-hub-store', key: 'url' },
  migrationSecretKey: 'url',
  logLevel: 'info',
  resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { cpu: '500m', memory: '256Mi' } },
};
