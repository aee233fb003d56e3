// The rate budget of one app on one Shopify store, as arithmetic: every runner that calls the store (the Order
// Download CronJob pod, the merchant's watcher serving Shipment and Inventory Upload) keeps the same bucket in the hub
// store (budget-store.ts) and asks it before each request.
//
// Shopify's model (https://shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits): a leaky bucket of calculated
// query cost per app and store, which "refills continuously" at the plan's restore rate (Standard 100 points/second)
// up to its size; "before execution begins, the app's bucket must have enough room for the requested cost of the
// query", and afterwards "the bucket is refunded the difference between the requested cost and the actual cost".
// Every answer reports the bucket in `extensions.cost.throttleStatus { maximumAvailable, currentlyAvailable,
// restoreRate }`.

export interface ThrottleStatus {
  readonly maximumAvailable: number;
  readonly currentlyAvailable: number;
  readonly restoreRate: number;
}

export interface BucketState {
  readonly maximumAvailable: number;
  /** Points per second. */
  readonly restoreRate: number;
  /** What is left after every reservation so far: reserve never takes more than this, so it stays at 0 or above. */
  readonly available: number;
  readonly atMs: number;
}

/**
 * Until a store has answered once, the bucket of the smallest plan, full: 1,000 points (the documented single-query
 * maximum, so any one query fits) restored at Standard's 100 points/second. The first answer replaces both figures.
 */
export const unknownStoreBucket = { maximumAvailable: 1000, restoreRate: 100 } as const;

export function refill(state: BucketState, nowMs: number): BucketState {
  const elapsedSeconds = Math.max(0, nowMs - state.atMs) / 1000;
  return {
    ...state,
    available: Math.min(state.maximumAvailable, state.available + elapsedSeconds * state.restoreRate),
    atMs: Math.max(nowMs, state.atMs),
  };
}

export type Reservation =
  { readonly granted: true; readonly state: BucketState } | { readonly granted: false; readonly waitMs: number };

/**
 * Takes `cost` from the bucket if it holds that much now; otherwise says how long until it will at the restore rate.
 * A cost above the bucket's size is reserved as the whole bucket: Shopify refuses such a query outright
 * (MAX_COST_EXCEEDED), and that answer is better than waiting for ever.
 */
export function reserve(state: BucketState, cost: number, nowMs: number): Reservation {
  const current = refill(state, nowMs);
  const needed = Math.min(cost, current.maximumAvailable);
  if (current.available >= needed) {
    return { granted: true, state: { ...current, available: current.available - needed } };
  }
  return { granted: false, waitMs: Math.ceil(((needed - current.available) / current.restoreRate) * 1000) };
}

/**
 * The bucket after an answer. Shopify's figure is the truth at the moment it answered, but it does not yet include
 * what other runners reserved for requests still on their way: so the budget keeps the lower of its own reckoning
 * (refunded what this request reserved beyond its actual cost) and Shopify's. A runner that died holding a
 * reservation costs only that reservation, which refills like any other spend.
 */
export function settle(
  state: BucketState,
  reserved: number,
  actualCost: number | undefined,
  status: ThrottleStatus | undefined,
  nowMs: number,
): BucketState {
  const current = refill(state, nowMs);
  // Without an actual cost (a throttled or failed request) nothing is known to be spent: the reservation comes back.
  const refund = reserved - Math.min(actualCost ?? 0, reserved);
  const reckoned = current.available + refund;
  if (status === undefined) return { ...current, available: Math.min(current.maximumAvailable, reckoned) };
  return {
    maximumAvailable: status.maximumAvailable,
    restoreRate: status.restoreRate,
    available: Math.min(status.maximumAvailable, reckoned, status.currentlyAvailable),
    atMs: current.atMs,
  };
}

/** How long a throttled request waits: until the bucket has refilled its requested cost at the restore rate. */
export function throttledWaitMs(requestedCost: number, status: ThrottleStatus): number {
  const missing = Math.max(0, Math.min(requestedCost, status.maximumAvailable) - status.currentlyAvailable);
  return Math.ceil((missing / status.restoreRate) * 1000);
}
