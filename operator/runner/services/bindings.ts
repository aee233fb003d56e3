// Each of the six services, bound to its connector calls, its record shapes and its store queries. Everything
// service-specific lives here; the loops in pull.ts and deliver.ts are the same for all.
import type { RunnerConfig } from '../config.ts';
import type { CartConnector, SourcePage, WarehouseConnector } from '../connectors/connector.ts';
import {
  screenRecords,
  sourceInventoryLevelSchema,
  sourceOrderSchema,
  sourceShipmentSchema,
  hubOrderId,
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

export function bindService(config: RunnerConfig, pool: Pool, connectors: Connectors): BoundService {
  const namespace = config.owner.namespace;
  const cartScope: CartScope = { namespace, cart: config.owner.name, merchant: config.merchant };
  const merchantScope: MerchantScope = { namespace, merchant: config.merchant };

  switch (config.service) {
    case 'orderDownload': {
      const cart = required(connectors.cart, 'cart');
      const source: PullSource = { service: 'orderDownload', namespace, owner: config.owner.name };
      return {
        kind: 'pull',
        source,
        failures: (size) => intakeFailures(pool, source, size),
        work: {
          read: (cursor, limit) => cart.listOrders(cursor, limit),
          async take(page, readFrom, advanceTo, passId) {
            const { accepted, rejected } = screenRecords(page.items, sourceOrderSchema, 'id');
            await takeOrders(pool, cartScope, { accepted, rejected, readFrom, advanceTo, passId });
            return counted(page, rejected.length);
          },
        },
      };
    }
    case 'shippingConfirmations': {
      const warehouse = required(connectors.warehouse, 'warehouse');
      const source: PullSource = { service: 'shippingConfirmations', namespace, owner: config.merchant };
      return {
        kind: 'pull',
        source,
        failures: (size) => intakeFailures(pool, source, size),
        work: {
          read: (cursor, limit) => warehouse.listShipments(cursor, limit),
          async take(page, readFrom, advanceTo, passId) {
            const { accepted, rejected } = screenRecords(page.items, sourceShipmentSchema, 'id');
            const { unknownOrders } = await takeShipments(pool, merchantScope, {
              accepted,
              rejected,
              readFrom,
              advanceTo,
              passId,
            });
            return counted(page, rejected.length + unknownOrders);
          },
        },
      };
    }
    case 'inventory': {
      const warehouse = required(connectors.warehouse, 'warehouse');
      const source: PullSource = { service: 'inventory', namespace, owner: config.merchant };
      return {
        kind: 'pull',
        source,
        failures: (size) => intakeFailures(pool, source, size),
        work: {
          read: (cursor, limit) => warehouse.listInventory(cursor, limit),
          async take(page, readFrom, advanceTo, passId) {
            const { accepted, rejected } = screenRecords(page.items, sourceInventoryLevelSchema, 'sku');
            await takeInventoryLevels(pool, merchantScope, { accepted, rejected, readFrom, advanceTo, passId });
            return counted(page, rejected.length);
          },
        },
      };
    }
    case 'orderDelivery': {
      const warehouse = required(connectors.warehouse, 'warehouse');
      return deliveryBinding(
        pool,
        { service: 'orderDelivery', namespace, destination: config.merchant },
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
        { service: 'shipmentUpload', namespace, destination: config.owner.name },
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
        { service: 'inventoryUpload', namespace, destination: config.owner.name },
        cart.maxConcurrentWrites,
        (write) => cart.postInventoryLevel(write),
        (row) => ({
          recordKey: row.sku,
          body: cartInventoryBody(row.sku, Number(row.on_hand), Number(row.reserved), row.reported_at),
        }),
      );
    }
  }
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
  shape: (row: ClaimedRows[S]) => { recordKey: string; body: Record<string, unknown> },
): BoundService {
  return {
    kind: 'delivery',
    target,
    failures: (size) => deliveryFailures(pool, target, size),
    work: {
      async claim(...args) {
        const rows = await claimDeliveries(pool, target, ...args);
        return rows.map((row): Outgoing => {
          const { recordKey, body } = shape(row);
          return {
            recordId: row.record_id,
            revision: row.revision,
            write: { recordKey, idempotencyKey: idempotencyKey(target, recordKey, row.revision), body },
          };
        });
      },
      send,
      settle: (leaseOwner, passId, settlements) => settleDeliveries(pool, target, leaseOwner, passId, settlements),
      maxConcurrentWrites,
    },
  };
}
