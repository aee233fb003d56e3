// How the http connector reads a destination's answer: delivered, needs a person, or worth retrying later.
import type { DeliveryOutcome } from './connector.ts';

/** Longer Retry-After values are capped: a runner should look again within the hour. */
export const maxRetryAfterMs = 60 * 60 * 1000;

/** Retry-After as delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null | undefined, now: Date): number | undefined {
  if (value === null || value === undefined) return undefined;
  const trimmed = value.trim();
  let ms: number;
  if (/^\d+$/.test(trimmed)) {
    ms = Number(trimmed) * 1000;
  } else {
    const date = Date.parse(trimmed);
    if (Number.isNaN(date)) return undefined;
    ms = date - now.getTime();
  }
  return Math.min(Math.max(ms, 0), maxRetryAfterMs);
}

/** The destination's own words, from `{"error": "..."}` (the contract), `{"error": {"message"}}` or plain text. */
export function destinationMessage(body: string): string | undefined {
  const text = body.trim();
  if (text === '') return undefined;
  try {
    const parsed = JSON.parse(text) as unknown;
    if (typeof parsed === 'object' && parsed !== null) {
      const { error, message } = parsed as { error?: unknown; message?: unknown };
      if (typeof error === 'string') return error;
      if (typeof error === 'object' && error !== null && typeof (error as { message?: unknown }).message === 'string') {
        return (error as { message: string }).message;
      }
      if (typeof message === 'string') return message;
    }
  } catch {
    // Not JSON: the text itself is the message.
  }
  return text.slice(0, 500);
}

const retryableStatuses = new Set([408, 425, 429]);

export function classifyWriteResponse(
  status: number,
  body: string,
  retryAfter: string | null,
  now: Date,
): DeliveryOutcome {
  if (status >= 200 && status < 300) return { kind: 'delivered' };
  const message = destinationMessage(body);
  const reason = `HTTP ${status}${message ? `: ${message}` : ''}`;
  if (retryableStatuses.has(status) || status >= 500) {
    const retryAfterMs = parseRetryAfter(retryAfter, now);
    return retryAfterMs === undefined ? { kind: 'transient', reason } : { kind: 'transient', reason, retryAfterMs };
  }
  if (status === 401 || status === 403) {
    return { kind: 'permanent', reason: `${reason} (the destination refused the credentials)` };
  }
  if (status >= 300 && status < 400) {
    return { kind: 'permanent', reason: `${reason} (redirected: point the endpoint URL at the final address)` };
  }
  if (status >= 400) return { kind: 'permanent', reason };
  return { kind: 'transient', reason: `${reason} (unexpected status)` };
}

/** A write that got no answer: the destination may or may not have the record, so it is sent again later. */
export function classifyWriteError(error: unknown, timeoutMs: number): DeliveryOutcome {
  const {
    name,
    code: ownCode,
    cause,
  } = (error ?? {}) as { name?: unknown; code?: unknown; cause?: { code?: unknown } };
  // The request's AbortSignal.timeout fired (node:http reports AbortError; fetch, TimeoutError).
  if (name === 'AbortError' || name === 'TimeoutError') {
    return { kind: 'transient', reason: `no answer within ${timeoutMs / 1000}s` };
  }
  const code = ownCode ?? cause?.code;
  return {
    kind: 'transient',
    reason: `could not reach the destination${typeof code === 'string' ? ` (${code})` : ''}`,
  };
}
