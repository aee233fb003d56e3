// Sending records from the hub to a destination, batch by batch: claim under a lease, send with bounded
// concurrency, settle the outcomes. The same loop serves interval runs, Automatic passes and cleanup; they differ
// only in which records they select.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { DeliveryOutcome, RecordWrite } from '../connectors/connector.ts';
import type { Lease, Selection, Settlement } from '../store/deliveries.ts';
import type { BackoffGate } from './backoff-gate.ts';
import { mapWithConcurrency } from './concurrency.ts';
import { addTo, type Tally } from './tally.ts';

/** A claimed record, ready to send. */
export interface Outgoing {
  readonly recordId: string;
  readonly revision: string;
  readonly write: RecordWrite;
}

/** One destination's work, bound to the store and the connector. */
export interface DeliveryWork {
  claim(selection: Selection, limit: number, lease: Lease): Promise<Outgoing[]>;
  send(write: RecordWrite): Promise<DeliveryOutcome>;
  settle(leaseOwner: string, passId: string, settlements: readonly Settlement[]): Promise<void>;
  readonly maxConcurrentWrites: number;
}

export interface DeliveryOptions {
  readonly batchSize: number;
  readonly lease: Lease;
  readonly requestTimeoutMs: number;
  /** Shared by every pass of this runner: Retry-After from one write holds back the next ones. */
  readonly gate: BackoffGate;
  readonly log: Logger;
  /** Told of every write that reached a settlement, with its time in seconds (the watcher's metrics). */
  readonly onWrite?: (outcome: DeliveryOutcome['kind'], seconds: number) => void;
}

export interface DeliveryResult {
  /** Set when the destination asked for a longer pause than a run waits for: try again from then on. */
  readonly backedOffUntil?: number;
}

/** A Retry-After up to this long is waited out inside the run; a longer one ends the run early. */
export const maxInlineWaitMs = 30_000;

export type SendDecision = { readonly send: true; readonly waitMs: number } | { readonly send: false };

/**
 * Whether to start one more write now: not when the destination asked for a long pause, nor when the write could
 * outlast the lease (another runner could then take the record over while it is still being sent).
 */
export function decideSend(
  gateRemainingMs: number,
  now: number,
  leaseDeadline: number,
  requestTimeoutMs: number,
): SendDecision {
  if (gateRemainingMs > maxInlineWaitMs) return { send: false };
  if (now + gateRemainingMs + requestTimeoutMs > leaseDeadline) return { send: false };
  return { send: true, waitMs: gateRemainingMs };
}

export function settlementFor(record: Outgoing, outcome: DeliveryOutcome): Settlement {
  const { recordId, revision } = record;
  switch (outcome.kind) {
    case 'delivered':
      return { recordId, revision, outcome: 'delivered' };
    case 'permanent':
      return { recordId, revision, outcome: 'failed', failure: 'permanent', reason: outcome.reason };
    case 'transient':
      return {
        recordId,
        revision,
        outcome: 'failed',
        failure: 'transient',
        reason: outcome.reason,
        ...(outcome.retryAfterMs === undefined ? {} : { retryAfterMs: outcome.retryAfterMs }),
      };
  }
}

async function sendBatch(
  work: DeliveryWork,
  batch: readonly Outgoing[],
  leaseDeadline: number,
  options: DeliveryOptions,
): Promise<Settlement[]> {
  return mapWithConcurrency(batch, work.maxConcurrentWrites, async (record): Promise<Settlement> => {
    const decision = decideSend(options.gate.remainingMs(), Date.now(), leaseDeadline, options.requestTimeoutMs);
    if (!decision.send) return { recordId: record.recordId, revision: record.revision, outcome: 'released' };
    if (decision.waitMs > 0) await sleep(decision.waitMs);
    const sentAt = performance.now();
    const outcome = await work.send(record.write);
    options.onWrite?.(outcome.kind, (performance.now() - sentAt) / 1000);
    if (outcome.kind === 'transient' && outcome.retryAfterMs !== undefined) options.gate.holdFor(outcome.retryAfterMs);
    // Ids only: a destination's reason may quote the record, so it goes to status, never to logs.
    if (outcome.kind === 'delivered') options.log.debug({ record: record.write.recordKey }, 'delivered');
    else options.log.warn({ record: record.write.recordKey, failure: outcome.kind }, 'delivery failed');
    return settlementFor(record, outcome);
  });
}

/**
 * Sends every record the selection matches, batch after batch, until none is left or the destination asks for a
 * long pause. Counts are added to `tally` as batches settle, so they survive an error thrown half way.
 */
export async function deliverSelection(
  work: DeliveryWork,
  selection: Selection,
  passId: string,
  options: DeliveryOptions,
  tally: Tally,
): Promise<DeliveryResult> {
  for (;;) {
    if (options.gate.remainingMs() > maxInlineWaitMs) return { backedOffUntil: options.gate.opensAt };
    const claimedAt = Date.now();
    const batch = await work.claim(selection, options.batchSize, options.lease);
    if (batch.length === 0) return {};
    // Records released for want of lease time are pending again, and the next claim takes them.
    const settlements = await sendBatch(work, batch, claimedAt + options.lease.durationMs, options);
    await work.settle(options.lease.owner, passId, settlements);
    const settled = settlements.filter((settlement) => settlement.outcome !== 'released');
    addTo(tally, {
      processed: settled.length,
      failed: settled.filter((settlement) => settlement.outcome === 'failed').length,
    });
    // A pause longer than the lease leaves everything released: wait it out rather than claim again at once.
    if (settled.length === 0) await sleep(options.gate.remainingMs());
  }
}
