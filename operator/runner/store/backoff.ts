// Waiting between attempts to reach the hub store: exponential, capped, with jitter, so that thousands of runners
// refused at the same moment (a full server, a restart) do not all come back at the same moment.

export interface Backoff {
  /** The first delay, before jitter. */
  readonly initialMs: number;
  /** The largest delay, before jitter. */
  readonly maxMs: number;
}

export const defaultBackoff: Backoff = { initialMs: 500, maxMs: 30_000 };

/**
 * The delay after `failedAttempts` failures (0 for the first): initialMs·2^n up to maxMs, of which a random half is
 * taken off ("equal jitter": between half and all of it).
 */
export function backoffDelay(failedAttempts: number, backoff: Backoff = defaultBackoff, random = Math.random): number {
  const ceiling = Math.min(backoff.initialMs * 2 ** Math.min(failedAttempts, 30), backoff.maxMs);
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** "750 ms", "4.2 s", "2 min": for log lines. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 120_000) return `${Number((ms / 1000).toFixed(1))} s`;
  return `${Number((ms / 60_000).toFixed(1))} min`;
}

/** The error a wait rejects with when its signal aborts: the signal's reason, if it is an Error. */
export function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : new DOMException('This operation was aborted', 'AbortError');
}

/** Throws abortError(signal) once the signal has aborted. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortError(signal);
}

/** Resolves after `ms`, or rejects with abortError(signal) when the signal aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortError(signal));
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortError(signal!));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Settles as `work` does, or rejects with abortError(signal) when the signal aborts first (`work` runs on, ignored). */
export async function unlessAborted<T>(work: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return work;
  let onAbort = () => undefined as void;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(abortError(signal));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([work, aborted]);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}
