// An interval run and a cleanup run: do the work once, then stop.
//   run      pull: read the source from the stored cursor.  delivery: send pending records and earlier transient
//            failures (each record at most once per run).
//   cleanup  pull: re-read the source from the oldest open failure; failures not seen again are gone.
//            delivery: retry every failed record, including those that needed a person (they may have fixed it).
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Pool } from '../store/database.ts';
import { clearFailuresNotSeenIn, oldestFailureCursor, readCursor } from '../store/intake.ts';
import type { BoundService } from './bindings.ts';
import { deliverSelection, type DeliveryOptions } from './deliver.ts';
import { pullSince } from './pull.ts';
import { emptyTally, type Tally } from './tally.ts';

export type OnceMode = 'run' | 'cleanup';

export interface OnceResult {
  readonly tally: Tally;
  /** Set when the run could not do its work; the tally still counts what it did before. */
  readonly error?: unknown;
}

export async function runOnce(
  service: BoundService,
  mode: OnceMode,
  pool: Pool,
  options: DeliveryOptions,
): Promise<OnceResult> {
  const passId = randomUUID();
  const tally = emptyTally();
  try {
    if (service.kind === 'pull') await pullOnce(service, mode, pool, passId, options, tally);
    else await deliverOnce(service, mode, passId, options, tally);
    return { tally };
  } catch (error) {
    return { tally, error };
  }
}

async function pullOnce(
  service: Extract<BoundService, { kind: 'pull' }>,
  mode: OnceMode,
  pool: Pool,
  passId: string,
  options: DeliveryOptions,
  tally: Tally,
): Promise<void> {
  const pullOptions = { batchSize: options.batchSize, passId, log: options.log };
  if (mode === 'run') {
    const cursor = await readCursor(pool, service.source);
    await pullSince(service.work, cursor, { ...pullOptions, advanceCursor: true }, tally);
    return;
  }
  const oldest = await oldestFailureCursor(pool, service.source);
  if (!oldest) return;
  await pullSince(service.work, oldest.readFrom, { ...pullOptions, advanceCursor: false }, tally);
  const cleared = await clearFailuresNotSeenIn(pool, service.source, passId);
  options.log.info({ cleared }, 'cleanup re-read the source; failures it did not see again were cleared');
}

async function deliverOnce(
  service: Extract<BoundService, { kind: 'delivery' }>,
  mode: OnceMode,
  passId: string,
  options: DeliveryOptions,
  tally: Tally,
): Promise<void> {
  const selection =
    mode === 'run' ? ({ kind: 'pendingOrRetryable', passId } as const) : ({ kind: 'anyFailed', passId } as const);
  const { backedOffUntil } = await deliverSelection(service.work, selection, passId, options, tally);
  if (backedOffUntil !== undefined) {
    logBackoff(options.log, backedOffUntil);
  }
}

function logBackoff(log: Logger, until: number): void {
  log.info({ until: new Date(until).toISOString() }, 'the destination asked to pause; the rest waits for the next run');
}
