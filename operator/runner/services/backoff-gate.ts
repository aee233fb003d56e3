// A destination's request to slow down (Retry-After), kept for the life of the runner process: no write to that
// destination starts before the gate opens again.
export class BackoffGate {
  #opensAt = 0;
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  holdFor(ms: number): void {
    this.#opensAt = Math.max(this.#opensAt, this.#now() + ms);
  }

  /** Milliseconds until writes may start again; 0 when open. */
  remainingMs(): number {
    return Math.max(0, this.#opensAt - this.#now());
  }

  get opensAt(): number {
    return this.#opensAt;
  }
}
