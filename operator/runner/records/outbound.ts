// What the hub sends destinations, built from what it stored, and the idempotency key of each write.
import { createHash } from 'node:crypto';
import { hubOrderId } from './inbound.ts';

export type DeliveryServiceName = 'orderDelivery' | 'shipmentUpload' | 'inventoryUpload';

/** Which destination, of which service, in which namespace. */
export interface DeliveryTarget {
  readonly service: DeliveryServiceName;
  readonly namespace: string;
  /** The merchant (orderDelivery sends to its warehouse) or the cart (uploads). */
  readonly destination: string;
}

/**
 * Stable for one version of one record at one destination: a runner that crashed after sending sends the same key
 * again, and the destination drops the repeat. A new revision (an edited order) gets a new key.
 */
export function idempotencyKey(target: DeliveryTarget, recordKey: string, revision: string): string {
  return createHash('sha256')
    .update(['switchyard/v1', target.service, target.namespace, target.destination, recordKey, revision].join('\n'))
    .digest('hex');
}

/** The order as the warehouse gets it: the cart's fields, under the hub's id, which shipments must quote back. */
export function warehouseOrderBody(cart: string, sourceId: string, payload: Record<string, unknown>) {
  return { ...payload, id: hubOrderId(cart, sourceId), cart, cartOrderId: sourceId };
}

/** Tracking as the cart gets it: the shipment, quoting the cart's own order id. */
export function cartTrackingBody(shipmentId: string, cartOrderId: string, payload: Record<string, unknown>) {
  return { ...payload, id: shipmentId, orderId: cartOrderId };
}

/** Inventory as a cart gets it: what is left to sell, the warehouse's count less units on orders since. */
export function cartInventoryBody(sku: string, onHand: number, reserved: number, asOf: Date) {
  return { sku, available: Math.max(onHand - reserved, 0), asOf: asOf.toISOString() };
}
