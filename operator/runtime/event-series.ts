// Repeats of an Event become one Event with a series, as events.k8s.io intends (client-go's EventSeries): the first
// occurrence is created, a repeat within the window only counts up the series of that Event. Pure bookkeeping; the
// recorder makes the API calls.

/** A repeat later than this after the previous occurrence starts a new Event (client-go uses about 6 minutes). */
export const seriesWindowMs = 6 * 60_000;
/** Events remembered for aggregation; the oldest are forgotten first. */
const rememberedEvents = 4096;

export type EventAction =
  | { readonly kind: 'create'; readonly name: string }
  | { readonly kind: 'count'; readonly name: string; readonly count: number };

interface Remembered {
  readonly name: string;
  count: number;
  lastAt: number;
}

export class EventSeries {
  readonly #events = new Map<string, Remembered>();

  /** What to do about an occurrence of the Event `key` at `now`; `newName` names it if it is a new Event. */
  occur(key: string, now: number, newName: () => string): EventAction {
    const known = this.#events.get(key);
    if (known && now - known.lastAt <= seriesWindowMs) {
      known.count += 1;
      known.lastAt = now;
      // Keep the most recently seen last, so that the oldest is forgotten first.
      this.#events.delete(key);
      this.#events.set(key, known);
      return { kind: 'count', name: known.name, count: known.count };
    }
    const name = newName();
    this.#events.delete(key);
    this.#events.set(key, { name, count: 1, lastAt: now });
    if (this.#events.size > rememberedEvents) this.#events.delete(this.#events.keys().next().value!);
    return { kind: 'create', name };
  }

  /** The Event could not be created: its repeats must not try to count up a series that does not exist. */
  forget(key: string): void {
    this.#events.delete(key);
  }
}
