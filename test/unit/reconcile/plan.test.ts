import { describe, expect, it } from 'vitest';
import { planServices } from '../../../operator/reconcile/plan.ts';
import { cartFixture, merchantFixture } from '../../support/fixtures.ts';

const hubStoreSecret = 'switchyard-hub-store';
const now = new Date('2026-11-27T12:00:00Z');

describe('planServices', () => {
  it("refuses a Merchant that names the hub store's Secret as its warehouse credentials", () => {
    const merchant = merchantFixture({
      spec: {
        warehouse: {
          type: 'http',
          url: 'https://wms.example.com/api',
          credentialsSecretRef: { name: hubStoreSecret, key: 'url' },
        },
      },
    });
    const planned = planServices(merchant, 'UTC', now, hubStoreSecret);
    expect(planned).toEqual({
      ok: false,
      reason: 'ForbiddenSecret',
      message: expect.stringMatching(
        /^spec\.warehouse\.credentialsSecretRef\.name: "switchyard-hub-store" is the hub store's Secret, which a Merchant may not name as its credentials/,
      ) as string,
    });
  });

  it('refuses a Cart that names it under any key, and names the field', () => {
    const cart = cartFixture({
      spec: {
        platform: {
          type: 'http',
          url: 'https://cart.example.com/api',
          credentialsSecretRef: { name: hubStoreSecret, key: 'token' },
        },
      },
    });
    const planned = planServices(cart, 'UTC', now, hubStoreSecret);
    expect(planned.ok).toBe(false);
    expect(!planned.ok && planned.reason).toBe('ForbiddenSecret');
    expect(!planned.ok && planned.message).toMatch(/^spec\.platform\.credentialsSecretRef\.name: .*a Cart may not/);
  });

  it('accepts any other Secret, and no Secret at all', () => {
    expect(planServices(merchantFixture(), 'UTC', now, hubStoreSecret).ok).toBe(true);
    expect(planServices(cartFixture(), 'UTC', now, hubStoreSecret).ok).toBe(true);
    // The rule follows the configured name.
    expect(planServices(merchantFixture(), 'UTC', now, 'acme-wms')).toMatchObject({ reason: 'ForbiddenSecret' });
  });

  it('reports other spec errors as InvalidSpec', () => {
    const planned = planServices(merchantFixture(), 'Mars/Olympus', now, hubStoreSecret);
    expect(planned).toMatchObject({ ok: false, reason: 'InvalidSpec' });
  });
});
