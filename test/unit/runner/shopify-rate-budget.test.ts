import { describe, expect, it } from 'vitest';
import {
  refill,
  reserve,
  settle,
  throttledWaitMs,
  type BucketState,
} from '../../../operator/runner/connectors/shopify/rate-budget.ts';

const bucket = (available: number, atMs = 0): BucketState => ({
  maximumAvailable: 1000,
  restoreRate: 100,
  available,
  atMs,
});

describe('the shared Shopify rate budget', () => {
  it('refills at the restore rate, up to the bucket size, and never backwards in time', () => {
    expect(refill(bucket(0), 2500).available).toBe(250);
    expect(refill(bucket(900), 5000).available).toBe(1000);
    expect(refill(bucket(100, 1000), 500)).toEqual(bucket(100, 1000));
  });

  it.each([
    { available: 500, cost: 300, granted: true, left: 200 },
    { available: 300, cost: 300, granted: true, left: 0 },
    { available: 100, cost: 300, granted: false, waitMs: 2000 },
    { available: 0, cost: 1, granted: false, waitMs: 10 },
  ])('reserves $cost of $available: granted $granted', ({ available, cost, granted, left, waitMs }) => {
    const reservation = reserve(bucket(available), cost, 0);
    expect(reservation.granted).toBe(granted);
    if (reservation.granted) expect(reservation.state.available).toBe(left);
    else expect(reservation.waitMs).toBe(waitMs);
  });

  it('reserves a cost above the bucket size as the whole bucket rather than waiting for ever', () => {
    const reservation = reserve(bucket(1000), 1500, 0);
    expect(reservation).toEqual({ granted: true, state: bucket(0) });
  });

  it('counts time before granting: a wait of waitMs is enough', () => {
    const first = reserve(bucket(50), 250, 0);
    expect(first).toEqual({ granted: false, waitMs: 2000 });
    expect(reserve(bucket(50), 250, 2000).granted).toBe(true);
  });

  it('refunds what a request reserved beyond its actual cost', () => {
    expect(settle(bucket(200), 300, 120, undefined, 0).available).toBe(380);
  });

  it('gives a throttled or failed request its whole reservation back', () => {
    expect(settle(bucket(200), 300, undefined, undefined, 0).available).toBe(500);
  });

  it("takes Shopify's figures when they are lower, and the plan's size and rate from them", () => {
    const status = { maximumAvailable: 2000, currentlyAvailable: 150, restoreRate: 200 };
    expect(settle(bucket(400), 100, 100, status, 0)).toEqual({
      maximumAvailable: 2000,
      restoreRate: 200,
      available: 150,
      atMs: 0,
    });
  });

  it("keeps its own lower reckoning: Shopify's figure does not yet include requests other runners have in flight", () => {
    // Another runner reserved 600 that Shopify has not charged yet; Shopify's 900 must not undo that reservation.
    const status = { maximumAvailable: 1000, currentlyAvailable: 900, restoreRate: 100 };
    expect(settle(bucket(300), 100, 100, status, 0).available).toBe(300);
  });

  it('waits a throttled request out until the bucket holds its requested cost', () => {
    const status = { maximumAvailable: 1000, currentlyAvailable: 40, restoreRate: 100 };
    expect(throttledWaitMs(240, status)).toBe(2000);
    expect(throttledWaitMs(30, status)).toBe(0);
  });
});
