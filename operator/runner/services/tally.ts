// What a run or an Automatic pass did: records it handled, and how many of those failed.
export interface Tally {
  /** Records read from a source, or sent to a destination (delivered or failed). */
  processed: number;
  failed: number;
}

export function emptyTally(): Tally {
  return { processed: 0, failed: 0 };
}

export function addTo(total: Tally, more: Readonly<Tally>): void {
  total.processed += more.processed;
  total.failed += more.failed;
}
