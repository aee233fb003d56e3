// The small decisions of the delivery and pull loops, without I/O.
import { describe, expect, it } from 'vitest';
import { SourceReadError } from '../../../operator/runner/connectors/connector.ts';
import { BackoffGate } from '../../../operator/runner/services/backoff-gate.ts';
import { mapWithConcurrency } from '../../../operator/runner/services/concurrency.ts';
import { decideSend, maxInlineWaitMs, settlementFor } from '../../../operator/runner/services/deliver.ts';
import { readRetryDelay } from '../../../operator/runner/services/pull.ts';
import { reconnectDelay } from '../../../operator/runner/store/listener.ts';

describe('decideSend', () => {
  const now = 1_000_000;
  it('sends at once when the destination has not asked for a pause', () => {
    expect(decideSend(0, now, now + 60_000, 10_000)).toEqual({ send: true, waitMs: 0 });
  });

  it('waits out a short pause inside the run', () => {
    expect(decideSend(5_000, now, now + 60_000, 10_000)).toEqual({ send: true, waitMs: 5_000 });
  });

  it('does not send during a long pause', () => {
    expect(decideSend(maxInlineWaitMs + 1, now, now + 600_000, 10_000)).toEqual({ send: false });
  });

  it('does not start a write that could outlive the lease', () => {
    expect(decideSend(0, now, now + 9_999, 10_000)).toEqual({ send: false });
    expect(decideSend(2_000, now, now + 11_000, 10_000)).toEqual({ send: false });
  });
});

describe('settlementFor', () => {
  const record = { recordId: '7', revision: '2', write: { recordKey: 'k', idempotencyKey: 'i', body: {} } };
  it('maps each outcome to the state it leaves the record in', () => {
    expect(settlementFor(record, { kind: 'delivered' })).toEqual({
      recordId: '7',
      revision: '2',
      outcome: 'delivered',
    });
    expect(settlementFor(record, { kind: 'permanent', reason: 'bad' })).toEqual({
      recordId: '7',
      revision: '2',
      outcome: 'failed',
      failure: 'permanent',
      reason: 'bad',
    });
    expect(settlementFor(record, { kind: 'transient', reason: 'busy', retryAfterMs: 5 })).toEqual({
      recordId: '7',
      revision: '2',
      outcome: 'failed',
      failure: 'transient',
      reason: 'busy',
      retryAfterMs: 5,
    });
  });
});

describe('BackoffGate', () => {
  it('stays closed for the longest pause asked for', () => {
    let clock = 0;
    const gate = new BackoffGate(() => clock);
    expect(gate.remainingMs()).toBe(0);
    gate.holdFor(5_000);
    gate.holdFor(1_000);
    clock = 2_000;
    expect(gate.remainingMs()).toBe(3_000);
    clock = 6_000;
    expect(gate.remainingMs()).toBe(0);
  });
});

describe('readRetryDelay', () => {
  it('retries transient read failures with backoff or Retry-After, a few times, and not long pauses', () => {
    expect(readRetryDelay(new SourceReadError('503', true), 1)).toBe(1000);
    expect(readRetryDelay(new SourceReadError('503', true), 2)).toBe(2000);
    expect(readRetryDelay(new SourceReadError('503', true), 3)).toBeUndefined();
    expect(readRetryDelay(new SourceReadError('429', true, 0), 1)).toBe(0);
    expect(readRetryDelay(new SourceReadError('429', true, 600_000), 1)).toBeUndefined();
    expect(readRetryDelay(new SourceReadError('401', false), 1)).toBeUndefined();
    expect(readRetryDelay(new Error('bug'), 1)).toBeUndefined();
  });
});

describe('reconnectDelay', () => {
  it('backs off exponentially up to five seconds', () => {
    expect([0, 1, 2, 3, 4, 5, 10].map(reconnectDelay)).toEqual([250, 500, 1000, 2000, 4000, 5000, 5000]);
  });
});

describe('mapWithConcurrency', () => {
  it('keeps the order of results and never runs more than the limit at once', async () => {
    let running = 0;
    let most = 0;
    const results = await mapWithConcurrency([5, 1, 4, 2, 3, 0], 2, async (value) => {
      most = Math.max(most, ++running);
      await new Promise((resolve) => setTimeout(resolve, value));
      running--;
      return value * 10;
    });
    expect(results).toEqual([50, 10, 40, 20, 30, 0]);
    expect(most).toBe(2);
  });
});
