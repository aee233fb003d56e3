// The calculated-cost leaky bucket of one app on one store.
// https://shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits: "GraphQL Admin API rate limits are based on
// the combination of the app and store"; Standard plans restore 100 points/second. "Before execution begins, the
// app's bucket must have enough room for the requested cost of the query. When execution is complete, the bucket is
// refunded the difference between the requested cost and the actual cost of the query."
// (https://help.shopify.com/en/api/graphql-admin-api/graphql-admin-api-rate-limits)

export interface ThrottleStatus {
  readonly maximumAvailable: number;
  readonly currentlyAvailable: number;
  readonly restoreRate: number;
}

export class LeakyBucket {
  readonly #maximumAvailable: number;
  readonly #restoreRate: number;
  readonly #now: () => number;
  #available: number;
  #updatedAt: number;

  /** `now` in milliseconds; restoreRate in points per second. */
  constructor(maximumAvailable: number, restoreRate: number, now: () => number) {
    this.#maximumAvailable = maximumAvailable;
    this.#restoreRate = restoreRate;
    this.#now = now;
    this.#available = maximumAvailable;
    this.#updatedAt = now();
  }

  /** Points available now, restored continuously since the last change. */
  available(): number {
    const now = this.#now();
    const restored = ((now - this.#updatedAt) / 1000) * this.#restoreRate;
    this.#available = Math.min(this.#maximumAvailable, this.#available + restored);
    this.#updatedAt = now;
    return this.#available;
  }

  /** Takes `cost` points if the bucket holds them; false (and nothing taken) otherwise. */
  take(cost: number): boolean {
    if (cost > this.available()) return false;
    this.#available -= cost;
    return true;
  }

  refund(points: number): void {
    this.#available = Math.min(this.#maximumAvailable, this.available() + points);
  }

  status(): ThrottleStatus {
    return {
      maximumAvailable: this.#maximumAvailable,
      // Shopify reports whole points; the bucket itself refills continuously.
      currentlyAvailable: Math.floor(this.available()),
      restoreRate: this.#restoreRate,
    };
  }
}
