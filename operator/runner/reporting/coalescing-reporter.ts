// Automatic mode reports after every pass, which could be many a second. This keeps status calm: a report that
// differs from the last written one only in its timestamps is dropped (but see needsWrite: while a backlog lasts, its
// freshness times are kept within 5 minutes), and writes are at most one per interval, the latest report winning.
import type { Logger } from 'pino';
import type { OwnerRef } from '../config.ts';
import type { StatusReporter } from './reporter.ts';
import { needsWrite, type ServiceStatusReport } from './status-report.ts';

export class CoalescingReporter {
  readonly #inner: Pick<StatusReporter, 'report'>;
  readonly #owner: OwnerRef;
  readonly #minIntervalMs: number;
  readonly #log: Logger;
  /** The last report handed to the inner reporter (its write may still be in progress). */
  #sent: ServiceStatusReport | undefined;
  #lastWriteAt = Number.NEGATIVE_INFINITY;
  #waiting: ServiceStatusReport | undefined;
  #timer: NodeJS.Timeout | undefined;
  #writing: Promise<void> = Promise.resolve();

  constructor(inner: Pick<StatusReporter, 'report'>, owner: OwnerRef, minIntervalMs: number, log: Logger) {
    this.#inner = inner;
    this.#owner = owner;
    this.#minIntervalMs = minIntervalMs;
    this.#log = log;
  }

  offer(report: ServiceStatusReport): void {
    this.#waiting = report;
    if (this.#timer) return;
    const dueIn = this.#lastWriteAt + this.#minIntervalMs - Date.now();
    if (dueIn <= 0) this.#writeWaiting();
    else this.#timer = setTimeout(() => this.#writeWaiting(), dueIn);
  }

  /** Writes what is still waiting (at shutdown), and waits for writes in progress. */
  async flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#writeWaiting();
    await this.#writing;
  }

  #writeWaiting(): void {
    this.#timer = undefined;
    const report = this.#waiting;
    this.#waiting = undefined;
    if (!report || !needsWrite(report, this.#sent)) return;
    this.#sent = report;
    this.#lastWriteAt = Date.now();
    // Writes are chained so that they land in order; after a failed one, the next report is written whatever it is.
    this.#writing = this.#writing.then(async () => {
      try {
        await this.#inner.report(this.#owner, report);
      } catch (error) {
        this.#log.warn({ err: error }, 'could not write the status report');
        if (this.#sent === report) this.#sent = undefined;
      }
    });
  }
}
