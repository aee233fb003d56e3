// Reading a source into the hub, page by page from a cursor. A page that cannot be read is tried again a few
// times (honouring Retry-After); after that the run could not do its work and says so.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { SourceReadError, type SourcePage } from '../connectors/connector.ts';
import { addTo, type Tally } from './tally.ts';

/** One source's work, bound to the connector and the store. */
export interface PullWork {
  read(cursor: string | undefined, limit: number): Promise<SourcePage>;
  /** Screens and stores one page, with the cursor when `advanceTo` is set; returns what it counted. */
  take(page: SourcePage, readFrom: string | undefined, advanceTo: string | undefined, passId: string): Promise<Tally>;
}

export interface PullOptions {
  readonly batchSize: number;
  /** Keep the cursor for the next run (an interval run), or leave it (cleanup re-reads older pages). */
  readonly advanceCursor: boolean;
  readonly passId: string;
  readonly log: Logger;
}

const readAttempts = 3;
const maxReadBackoffMs = 30_000;

/** How long to wait before reading again, or undefined to give up. */
export function readRetryDelay(error: unknown, attempt: number): number | undefined {
  if (!(error instanceof SourceReadError) || !error.transient || attempt >= readAttempts) return undefined;
  const delay = error.retryAfterMs ?? 1000 * 2 ** (attempt - 1);
  return delay > maxReadBackoffMs ? undefined : delay;
}

async function readPage(work: PullWork, cursor: string | undefined, options: PullOptions): Promise<SourcePage> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work.read(cursor, options.batchSize);
    } catch (error) {
      const delay = readRetryDelay(error, attempt);
      if (delay === undefined) throw error;
      options.log.warn({ attempt, retryInMs: delay, err: error }, 'reading the source failed; trying again');
      await sleep(delay);
    }
  }
}

/** Reads everything after `from`, adding to `tally` page by page (so counts survive an error half way). */
export async function pullSince(
  work: PullWork,
  from: string | undefined,
  options: PullOptions,
  tally: Tally,
): Promise<void> {
  let cursor = from;
  for (;;) {
    const page = await readPage(work, cursor, options);
    addTo(tally, await work.take(page, cursor, options.advanceCursor ? page.nextCursor : undefined, options.passId));
    if (!page.hasMore) return;
    if (page.nextCursor === (cursor ?? '')) {
      throw new SourceReadError('the source said it has more but did not move its cursor', false);
    }
    cursor = page.nextCursor;
  }
}
