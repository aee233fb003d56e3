// Automatic mode: a long-running watcher that sends as soon as records are pending, for every destination it serves
// (a merchant's warehouse and its carts) over one LISTEN connection. Each destination wakes on its own notification,
// on reconnecting (to catch up on notifications lost meanwhile) and on a periodic sweep (a missed notification). A
// record that fails is not retried at once: only a pass that found new records retries the failures of earlier passes.
// A Disabled service is watched the same way but only counted: each wake reports its failures and backlog, so that
// what waits for it shows in status; nothing of it is claimed or sent.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { deliveryChannel, type DeliveryTarget } from '../store/deliveries.ts';
import { NotificationListener } from '../store/listener.ts';
import { deliverSelection, type DeliveryOptions, type DeliveryWork } from './deliver.ts';
import { emptyTally, type Tally } from './tally.ts';

/** One destination and service a watcher serves. */
export interface WatchedDelivery {
  readonly target: DeliveryTarget;
  /** How it sends; absent for a Disabled service, which is only counted. */
  readonly sending?: { readonly work: DeliveryWork; readonly delivery: DeliveryOptions };
  /** After a pass that did something (or failed), and after every wake of a counted service: the runner reports it. */
  readonly afterPass: (tally: Tally, completed: boolean) => Promise<void>;
}

export interface WatchOptions {
  readonly deliveries: readonly WatchedDelivery[];
  readonly databaseUrl: string;
  readonly applicationName: string;
  readonly sweepMs: number;
  readonly log: Logger;
  readonly signal: AbortSignal;
  /** Called once the listener exists, for the health endpoints. */
  readonly onListener?: (listener: NotificationListener) => void;
}

/** The passes of one destination: at most one at a time, and one more if woken meanwhile. */
class DeliveryLoop {
  readonly #watched: WatchedDelivery;
  readonly #log: Logger;
  #stopping = false;
  #wakeAgain = false;
  #passes: Promise<void> | undefined;
  #backoffTimer: NodeJS.Timeout | undefined;

  constructor(watched: WatchedDelivery, log: Logger) {
    this.#watched = watched;
    this.#log = log;
  }

  wake = (): void => {
    if (this.#stopping) return;
    if (this.#passes) this.#wakeAgain = true;
    else this.#passes = this.#runPasses();
  };

  async stop(): Promise<void> {
    this.#stopping = true;
    clearTimeout(this.#backoffTimer);
    await this.#passes;
  }

  async #runPasses(): Promise<void> {
    do {
      this.#wakeAgain = false;
      await this.#onePass();
    } while (this.#wakeAgain && !this.#stopping);
    this.#passes = undefined;
  }

  async #onePass(): Promise<void> {
    const { sending, afterPass } = this.#watched;
    const tally = emptyTally();
    if (!sending) {
      await afterPass(tally, true).catch((error: unknown) => {
        this.#log.error(
          { err: error },
          'counting a Disabled service failed; the next notification or sweep tries again',
        );
      });
      return;
    }
    const { work, delivery } = sending;
    const passId = randomUUID();
    try {
      let { backedOffUntil } = await deliverSelection(work, { kind: 'pending' }, passId, delivery, tally);
      // Triggered by new records: now, and only now, earlier failures get another try.
      if (tally.processed > 0 && backedOffUntil === undefined) {
        ({ backedOffUntil } = await deliverSelection(work, { kind: 'retryable', passId }, passId, delivery, tally));
      }
      if (backedOffUntil !== undefined) {
        clearTimeout(this.#backoffTimer);
        this.#backoffTimer = setTimeout(this.wake, Math.max(0, backedOffUntil - Date.now()));
      }
      if (tally.processed > 0) await afterPass(tally, true);
    } catch (error) {
      this.#log.error({ err: error }, 'an Automatic pass failed; the next notification or sweep tries again');
      await afterPass(tally, false);
    }
  }
}

/** Runs until the signal aborts, then finishes the passes in progress. */
export async function watchDeliveries(options: WatchOptions): Promise<void> {
  const { log } = options;
  const loops = options.deliveries.map((watched) => {
    const { service, destination } = watched.target;
    return {
      channel: deliveryChannel(watched.target),
      loop: new DeliveryLoop(watched, log.child({ service, destination })),
    };
  });
  const wakeAll = () => loops.forEach(({ loop }) => loop.wake());
  const listener = new NotificationListener({
    databaseUrl: options.databaseUrl,
    channels: new Map(loops.map(({ channel, loop }) => [channel, loop.wake])),
    applicationName: `${options.applicationName} listener`,
    log,
    onListening: wakeAll,
  });
  options.onListener?.(listener);
  listener.start();
  const sweep = setInterval(() => {
    listener.probe();
    wakeAll();
  }, options.sweepMs);
  log.info({ sweepMs: options.sweepMs, destinations: loops.length }, 'watching for new records');

  if (!options.signal.aborted) {
    await new Promise<void>((resolve) => options.signal.addEventListener('abort', () => resolve(), { once: true }));
  }
  clearInterval(sweep);
  await listener.close();
  await Promise.all(loops.map(({ loop }) => loop.stop()));
  log.info('stopped watching');
}
