// A fresh namespace for a test: one cart of merchant acme, and the destination of that merchant's Order Delivery.
import { randomBytes } from 'node:crypto';
import type { DeliveryTarget } from '../../../operator/runner/store/deliveries.ts';
import type { CartScope } from '../../../operator/runner/store/intake.ts';

export function orderScope(): { cart: CartScope; target: DeliveryTarget & { service: 'orderDelivery' } } {
  const namespace = `ns-${randomBytes(3).toString('hex')}`;
  const cart: CartScope = { namespace, cart: 'web-shop', merchant: 'acme' };
  const target = { service: 'orderDelivery', namespace, destination: 'acme' } as const satisfies DeliveryTarget;
  return { cart, target };
}
