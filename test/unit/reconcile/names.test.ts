import { describe, expect, it } from 'vitest';
import { serviceNames } from '../../../operator/api/v1alpha1/services.ts';
import { childName, cleanupJobName, kebabCase, maxChildNameLength } from '../../../operator/reconcile/names.ts';

describe('child names', () => {
  it('are <owner>-<service-in-kebab-case> when they fit', () => {
    expect(childName('acme', 'orderDelivery')).toBe('acme-order-delivery');
    expect(childName('acme-shopify', 'shipmentUpload')).toBe('acme-shopify-shipment-upload');
    expect(kebabCase('shippingConfirmations')).toBe('shipping-confirmations');
  });

  it('are cut to 52 characters with a hash that keeps different owners apart', () => {
    const long = 'a-very-long-merchant-name-that-goes-on-and-on-and-on-forever';
    const other = `${long}-too`;
    for (const service of serviceNames) {
      const name = childName(long, service);
      expect(name.length).toBeLessThanOrEqual(maxChildNameLength);
      expect(name.endsWith(`-${kebabCase(service)}`)).toBe(true);
      expect(name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
      expect(childName(other, service)).not.toBe(name);
      expect(childName(long, service)).toBe(name);
    }
  });

  it('name a cleanup Job by its scheduled minute, within the 63 characters of a Job name', () => {
    const at = new Date('2026-11-27T09:41:00Z');
    const name = cleanupJobName('a'.repeat(63), 'inventoryUpload', at);
    expect(name.length).toBeLessThanOrEqual(63);
    expect(cleanupJobName('acme', 'orderDelivery', at)).toMatch(/^acme-order-delivery-cleanup-[a-z0-9]+$/);
    expect(cleanupJobName('acme', 'orderDelivery', at)).toBe(cleanupJobName('acme', 'orderDelivery', new Date(at)));
    expect(cleanupJobName('acme', 'orderDelivery', new Date('2026-11-27T21:07:00Z'))).not.toBe(
      cleanupJobName('acme', 'orderDelivery', at),
    );
  });
});
