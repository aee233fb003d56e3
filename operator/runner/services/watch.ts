// Automatic mode: a long-running watcher that sends as soon as records are pending. It wakes on a notification
// from the store, on reconnecting (to catch up on notifications lost meanwhile) and on a periodic sweep (a missed
// notification). A record that fails is not retried at once: only a pass that found new records retries the
// failures of earlier passes.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { deliveryChannel, type DeliveryTarget } from '../store/deliveries.ts';
import { NotificationListener } from '../store/listener.ts';
import { deliverSelection, type DeliveryOptions, type DeliveryWork } from './deliver.ts';
import { emptyTally, type Tally } from './tally.ts';

export interface WatchOptions {
  readonly target: DeliveryTarget;
  readonly work: DeliveryWork;
  readonly delivery: DeliveryOptions;
  readonly databaseUrl: string;
  readonly applicationName: string;
  readonly sweepMs: number;
  readonly log: Logger;
  /** After a pass that did something (or failed): the runner reports it. */
  readonly afterPass: (tally: Tally, completed: boolean) => Promise<void>;
  readonly signal: AbortSignal;
}

/** Runs until the signal aborts, then finishes the pass in progress. */
export async function watchDeliveries(options: WatchOptions): Promise<void> {
  const { work, delivery, log } = options;
  let stopping = false;
  let wakeAgain = false;
  let passes: Promise<void> | undefined;
  let backoffTimer: NodeJS.Timeout | undefined;

  const onePass = async () => {
    const passId = randomUUID();
    const tally = emptyTally();
    try {
      let { backedOffUntil } = await deliverSelection(work, { kind: 'pending' }, passId, delivery, tally);
      // Triggered by new records: now, and only now, earlier failures get another try.
      if (tally.processed > 0 && backedOffUntil === undefined) {
        ({ backedOffUntil } = await deliverSelection(work, { kind: 'retryable', passId }, passId, delivery, tally));
      }
      if (backedOffUntil !== undefined) {
        clearTimeout(backoffTimer);
        backoffTimer = setTimeout(wake, Math.max(0, backedOffUntil - Date.now()));
      }
      if (tally.processed > 0) await options.afterPass(tally, true);
    } catch (error) {
      log.error({ err: error }, 'an Automatic pass failed; the next notification or sweep tries again');
      await options.afterPass(tally, false);
    }
  };

  const runPasses = async () => {
    do {
      wakeAgain = false;
      await onePass();
    } while (wakeAgain && !stopping);
    passes = undefined;
  };

  function wake(): void {
    if (stopping) return;
    if (passes) wakeAgain = true;
    else passes = runPasses();
  }

  const listener = new NotificationListener({
    databaseUrl: options.databaseUrl,
    channel: deliveryChannel(options.target),
    applicationName: `${options.applicationName} listener`,
    log,
    onNotification: wake,
    onListening: wake,
  });
  listener.start();
  const sweep = setInterval(() => {
    listener.probe();
    wake();
  }, options.sweepMs);
  log.info({ sweepMs: options.sweepMs }, 'watching for new records');

  if (!options.signal.aborted) {
    await new Promise<void>((resolve) => options.signal.addEventListener('abort', () => resolve(), { once: true }));
  }
  stopping = true;
  clearInterval(sweep);
  clearTimeout(backoffTimer);
  await listener.close();
  await passes;
  log.info('stopped watching');
}
