// A keyed work queue in the manner of client-go's: a key waits at most once (de-duplication), is processed by one
// worker at a time, is retried with per-key exponential backoff and jitter, and can be requeued after a delay.

export interface Backoff {
  baseMs: number;
  maxMs: number;
}

export interface WorkQueueOptions {
  concurrency: number;
  backoff?: Backoff;
  /** Called whenever the number of waiting keys changes (for the queue-depth metric). */
  onDepthChange?: (depth: number) => void;
  /** Handlers deal with their own failures (by requeueing); this hears of any that escape. */
  onUnexpectedError: (key: string, error: unknown) => void;
  random?: () => number;
}

export type Handler = (key: string) => Promise<void>;

/** Exponential backoff with "full jitter": a random delay up to the exponential bound, so retries spread out. */
export function backoffDelay(failures: number, backoff: Backoff, random: () => number): number {
  const bound = Math.min(backoff.maxMs, backoff.baseMs * 2 ** Math.max(0, failures - 1));
  return Math.round(bound / 2 + (random() * bound) / 2);
}

export class WorkQueue {
  readonly #options: Required<Omit<WorkQueueOptions, 'onDepthChange'>> & Pick<WorkQueueOptions, 'onDepthChange'>;
  readonly #waiting = new Set<string>();
  readonly #order: string[] = [];
  readonly #processing = new Set<string>();
  /** Keys added again while being processed: they go back in line when the worker is done. */
  readonly #dirty = new Set<string>();
  readonly #timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  readonly #failures = new Map<string, number>();
  #handler: Handler | undefined;
  #stopped = false;
  #idle: (() => void) | undefined;

  constructor(options: WorkQueueOptions) {
    this.#options = {
      backoff: { baseMs: 500, maxMs: 5 * 60_000 },
      random: Math.random,
      ...options,
    };
  }

  get depth(): number {
    return this.#waiting.size;
  }

  /** Queues a key now. A key already waiting is not queued twice. */
  add(key: string): void {
    if (this.#stopped) return;
    if (this.#processing.has(key)) {
      this.#dirty.add(key);
      return;
    }
    if (this.#waiting.has(key)) return;
    this.#waiting.add(key);
    this.#order.push(key);
    this.#options.onDepthChange?.(this.#waiting.size);
    this.#pump();
  }

  /** Queues a key after a delay; an earlier pending delay for the same key wins. */
  addAfter(key: string, delayMs: number): void {
    if (this.#stopped) return;
    if (delayMs <= 0) {
      this.add(key);
      return;
    }
    const at = Date.now() + delayMs;
    const pending = this.#timers.get(key);
    if (pending && pending.at <= at) return;
    if (pending) clearTimeout(pending.timer);
    const timer = setTimeout(() => {
      this.#timers.delete(key);
      this.add(key);
    }, delayMs);
    timer.unref();
    this.#timers.set(key, { at, timer });
  }

  /** Queues a key after its next backoff delay, and returns that delay. */
  addRateLimited(key: string): number {
    const failures = (this.#failures.get(key) ?? 0) + 1;
    this.#failures.set(key, failures);
    const delay = backoffDelay(failures, this.#options.backoff, this.#options.random);
    this.addAfter(key, delay);
    return delay;
  }

  /** Resets a key's backoff after a success. */
  forget(key: string): void {
    this.#failures.delete(key);
  }

  start(handler: Handler): void {
    this.#handler = handler;
    this.#pump();
  }

  /** Stops taking keys and waits for the workers in flight. */
  async shutdown(): Promise<void> {
    this.#stopped = true;
    for (const { timer } of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
    if (this.#processing.size === 0) return;
    await new Promise<void>((resolve) => (this.#idle = resolve));
  }

  #pump(): void {
    const handler = this.#handler;
    if (!handler) return;
    while (!this.#stopped && this.#processing.size < this.#options.concurrency && this.#order.length > 0) {
      const key = this.#order.shift()!;
      this.#waiting.delete(key);
      this.#options.onDepthChange?.(this.#waiting.size);
      this.#processing.add(key);
      handler(key)
        .catch((error: unknown) => this.#options.onUnexpectedError(key, error))
        .finally(() => this.#done(key));
    }
  }

  #done(key: string): void {
    this.#processing.delete(key);
    if (this.#dirty.delete(key)) this.add(key);
    if (this.#stopped && this.#processing.size === 0) this.#idle?.();
    this.#pump();
  }
}
