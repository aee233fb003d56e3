// The service catalogue: the six services of the hub, which level each belongs to, which way its records move,
// whether it may run Automatic, and the interval limits and defaults the hub documents.

export const ownerKinds = ['Merchant', 'Cart'] as const;
export type OwnerKind = (typeof ownerKinds)[number];

/** The external system a service talks to: a merchant's warehouse (WMS/OMS) or a cart's platform. */
export type Endpoint = 'warehouse' | 'cart';

export interface ServiceDefinition {
  readonly name: ServiceName;
  readonly title: string;
  readonly owner: OwnerKind;
  readonly endpoint: Endpoint;
  /** Which way records move, for docs and logs. */
  readonly direction: string;
  readonly description: string;
  /** Automatic (event-driven) is offered only for the push services, and is then their default. */
  readonly automaticAllowed: boolean;
  /** The schedule used when the user sets none. */
  readonly defaultSchedule: string;
  /** The shortest allowed gap between two runs, in minutes. */
  readonly minIntervalMinutes: number;
  /** The longest allowed gap between two runs, in minutes (once a day). */
  readonly maxIntervalMinutes: number;
}

export const serviceNames = [
  'orderDelivery',
  'shippingConfirmations',
  'inventory',
  'orderDownload',
  'shipmentUpload',
  'inventoryUpload',
] as const;
export type ServiceName = (typeof serviceNames)[number];

const day = 24 * 60;

export const serviceCatalogue: Readonly<Record<ServiceName, ServiceDefinition>> = {
  orderDelivery: {
    name: 'orderDelivery',
    title: 'Order Delivery',
    owner: 'Merchant',
    endpoint: 'warehouse',
    direction: 'hub → WMS',
    description: 'Sends new and edited orders from the hub to the warehouse.',
    automaticAllowed: true,
    defaultSchedule: 'Automatic',
    minIntervalMinutes: 5,
    maxIntervalMinutes: day,
  },
  shippingConfirmations: {
    name: 'shippingConfirmations',
    title: 'Shipping Confirmations',
    owner: 'Merchant',
    endpoint: 'warehouse',
    direction: 'WMS → hub',
    description: 'Picks up tracking records from the warehouse.',
    automaticAllowed: false,
    defaultSchedule: '30m',
    minIntervalMinutes: 15,
    maxIntervalMinutes: day,
  },
  inventory: {
    name: 'inventory',
    title: 'Inventory',
    owner: 'Merchant',
    endpoint: 'warehouse',
    direction: 'WMS → hub',
    description: 'Picks up inventory levels from the warehouse.',
    automaticAllowed: false,
    defaultSchedule: '1h',
    minIntervalMinutes: 60,
    maxIntervalMinutes: day,
  },
  orderDownload: {
    name: 'orderDownload',
    title: 'Order Download',
    owner: 'Cart',
    endpoint: 'cart',
    direction: 'cart → hub',
    description: 'Downloads orders from the shopping cart into the hub.',
    automaticAllowed: false,
    defaultSchedule: '15m',
    minIntervalMinutes: 5,
    maxIntervalMinutes: day,
  },
  shipmentUpload: {
    name: 'shipmentUpload',
    title: 'Shipment Upload',
    owner: 'Cart',
    endpoint: 'cart',
    direction: 'hub → cart',
    description: 'Sends tracking numbers received from the warehouse back to the cart.',
    automaticAllowed: true,
    defaultSchedule: 'Automatic',
    minIntervalMinutes: 5,
    maxIntervalMinutes: day,
  },
  inventoryUpload: {
    name: 'inventoryUpload',
    title: 'Inventory Upload',
    owner: 'Cart',
    endpoint: 'cart',
    direction: 'hub → cart',
    description: 'Sends inventory levels received from the warehouse to the cart.',
    automaticAllowed: true,
    defaultSchedule: 'Automatic',
    minIntervalMinutes: 5,
    maxIntervalMinutes: day,
  },
};

export function servicesOf(kind: OwnerKind): readonly ServiceDefinition[] {
  return serviceNames.map((name) => serviceCatalogue[name]).filter((service) => service.owner === kind);
}

export function isServiceName(value: string): value is ServiceName {
  return (serviceNames as readonly string[]).includes(value);
}
