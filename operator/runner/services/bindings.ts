// Each of the six services, bound to its connector calls, its record shapes and its store queries. Everything
// service-specific lives here; the loops in pull.ts and deliver.ts are the same for all.
import type { ServiceName } from '../../api/v1alpha1/services.ts';
import type { OwnerRef } from '../config.ts';
import type { CartConnector, SourcePage, WarehouseConnector } from '../connectors/connector.ts';
import {
  screenRecords,
  sourceInventoryLevelSchema,
  sourceOrderSchema,
  sourceShipmentSchema,
  hubOrderId,
  type Screened,
} from '../records/inbound.ts';
import {
  cartInventoryBody,
  cartTrackingBody,
  idempotencyKey,
  warehouseOrderBody,
  type DeliveryServiceName,
  type DeliveryTarget,
} from '../records/outbound.ts';
import type { Pool } from '../store/database.ts';
import { claimDeliveries, settleDeliveries, type ClaimedRows } from '../store/deliveries.ts';
import { deliveryFailures, intakeFailures, type FailureSummary } from '../store/failures.ts';
import {
  takeInventoryLevels,
  takeOrders,
  takeShipments,
  type CartScope,
  type IntakePage,
  type MerchantScope,
  type PullSource,
} from '../store/intake.ts';
import type { DeliveryWork, Outgoing } from './deliver.ts';
import type { PullWork } from './pull.ts';
import type { Tally } from './tally.ts';

export type BoundService =
  | { readonly kind: 'pull'; readonly source: PullSource; readonly work: PullWork; failures: Failures }
  | { readonly kind: 'delivery'; readonly target: DeliveryTarget; readonly work: DeliveryWork; failures: Failures };

type Failures = (sampleSize: number) => Promise<FailureSummary>;

export interface Connectors {
  /** Present for the Cart's services. */
  readonly cart?: CartConnector;
  /** Present for the Merchant's services. */
  readonly warehouse?: WarehouseConnector;
}

function required<T>(connector: T | undefined, what: string): T {
  if (!connector) throw new Error(`no ${what} connector was configured for this service`);
  return connector;
}

function counted(page: SourcePage, rejected: number): Tally {
  return { processed: page.items.length, failed: rejected };
}

/** What bindService needs to know of the runner's configuration: which service, and whose. */
export interface ServiceScope {
  readonly service: ServiceName;
  readonly owner: OwnerRef;
  /** The merchant the records belong to: the owner itself, or the Cart's merchant. */
  readonly merchant: string;
}

export function bindService(scope: ServiceScope, pool: Pool, connectors: Connectors): BoundService {
  const namespace = scope.owner.namespace;
  const cartScope: CartScope = { namespace, cart: scope.owner.name, merchant: scope.merchant };
  const merchantScope: MerchantScope = { namespace, merchant: scope.merchant };

  switch (scope.service) {
    case 'orderDownload': {
      const cart = required(connectors.cart, 'cart');
      return pullBinding(
        pool,
        { service: 'orderDownload', namespace, owner: scope.owner.name },
        (cursor, limit) => cart.listOrders(cursor, limit),
        (items) => screenRecords(items, sourceOrderSchema, 'id'),
        (page) => takeOrders(pool, cartScope, page),
      );
    }
    case 'shippingConfirmations': {
      const warehouse = required(connectors.warehouse, 'warehouse');
      return pullBinding(
        pool,
        { service: 'shippingConfirmations', namespace, owner: scope.merchant },
        (cursor, limit) => warehouse.listShipments(cursor, limit),
        (items) => screenRecords(items, sourceShipmentSchema, 'id'),
        (page) => takeShipments(pool, merchantScope, page),
      );
    }
    case 'inventory': {
      const warehouse = required(connectors.warehouse, 'warehouse');
      return pullBinding(
        pool,
        { service: 'inventory', namespace, owner: scope.merchant },
        (cursor, limit) => warehouse.listInventory(cursor, limit),
        (items) => screenRecords(items, sourceInventoryLevelSchema, 'sku'),
        (page) => takeInventoryLevels(pool, merchantScope, page),
      );
    }
    case 'orderDelivery': {
      const warehouse = required(connectors.warehouse, 'warehouse');
      return deliveryBinding(
        pool,
        { service: 'orderDelivery', namespace, destination: scope.merchant },
        warehouse.maxConcurrentWrites,
        (write) => warehouse.postOrder(write),
        (row) => ({
          recordKey: hubOrderId(row.cart, row.source_id),
          body: warehouseOrderBody(row.cart, row.source_id, row.payload),
        }),
      );
    }
    case 'shipmentUpload': {
      const cart = required(connectors.cart, 'cart');
      return deliveryBinding(
        pool,
        { service: 'shipmentUpload', namespace, destination: scope.owner.name },
        cart.maxConcurrentWrites,
        (write) => cart.postTracking(write),
        (row) => ({
          recordKey: row.source_id,
          body: cartTrackingBody(row.source_id, row.order_source_id, row.payload),
        }),
      );
    }
    case 'inventoryUpload': {
      const cart = required(connectors.cart, 'cart');
      return deliveryBinding(
        pool,
        { service: 'inventoryUpload', namespace, destination: scope.owner.name },
        cart.maxConcurrentWrites,
        (write) => cart.postInventoryLevel(write),
        (row) => ({
          recordKey: row.sku,
          // A SKU's level is a different record under another merchant, and a cart that moved (or came back) must get
          // it even at a revision number it saw before: the key names the level and the cart's registration too.
          version: `${row.record_id}/${row.revision}/${row.registered_at?.toISOString() ?? ''}`,
          body: cartInventoryBody(row.sku, Number(row.on_hand), Number(row.reserved), row.reported_at),
        }),
      );
    }
  }
}

/**
 * A pull service: reads its source page by page, screens each record on its own, and stores a page together with its
 * cursor. A record counts as failed when screening rejects it or the store turns it away (a shipment for an order the
 * hub does not know).
 */
function pullBinding<T>(
  pool: Pool,
  source: PullSource,
  read: PullWork['read'],
  screen: (items: readonly unknown[]) => Screened<T>,
  store: (page: IntakePage<T>) => Promise<void | { readonly unknownOrders: number }>,
): BoundService {
  return {
    kind: 'pull',
    source,
    failures: (size) => intakeFailures(pool, source, size),
    work: {
      read,
      async take(page, readFrom, advanceTo, passId) {
        const { accepted, rejected } = screen(page.items);
        const stored = await store({ accepted, rejected, readFrom, advanceTo, passId });
        return counted(page, rejected.length + (stored?.unknownOrders ?? 0));
      },
    },
  };
}

/**
 * A delivery service: claims its records from the store, shapes each into the write its destination takes (with an
 * idempotency key per record version), sends, and settles the outcomes.
 */
function deliveryBinding<S extends DeliveryServiceName>(
  pool: Pool,
  target: DeliveryTarget & { service: S },
  maxConcurrentWrites: number,
  send: DeliveryWork['send'],
  /** `version` identifies what is sent for the idempotency key; the record's revision unless said otherwise. */
  shape: (row: ClaimedRows[S]) => { recordKey: string; version?: string; body: Record<string, unknown> },
): BoundService {
  return {
    kind: 'delivery',
    target,
    failures: (size) => deliveryFailures(pool, target, size),
    work: {
      async claim(...args) {
        const rows = await claimDeliveries(pool, target, ...args);
        return rows.map((row): Outgoing => {
          const { recordKey, version, body } = shape(row);
          return {
            recordId: row.record_id,
            revision: row.revision,
            write: { recordKey, idempotencyKey: idempotencyKey(target, recordKey, version ?? row.revision), body },
          };
        });
      },
      send,
      settle: (leaseOwner, passId, settlements) => settleDeliveries(pool, target, leaseOwner, passId, settlements),
      maxConcurrentWrites,
    },
  };
}
