import { describe, expect, it } from 'vitest';
import { EventSeries, seriesWindowMs } from '../../../operator/runtime/event-series.ts';

describe('EventSeries', () => {
  it('creates an Event once and counts its repeats within the window, then starts a new one', () => {
    const series = new EventSeries();
    let names = 0;
    const name = () => `acme.${++names}`;
    expect(series.occur('k', 0, name)).toEqual({ kind: 'create', name: 'acme.1' });
    expect(series.occur('k', 60_000, name)).toEqual({ kind: 'count', name: 'acme.1', count: 2 });
    // The window runs from the last occurrence: a steady repeat stays one Event.
    expect(series.occur('k', 60_000 + seriesWindowMs, name)).toEqual({ kind: 'count', name: 'acme.1', count: 3 });
    expect(series.occur('k', 60_001 + 2 * seriesWindowMs, name)).toEqual({ kind: 'create', name: 'acme.2' });
    expect(series.occur('other', 0, name)).toEqual({ kind: 'create', name: 'acme.3' });
  });

  it('starts over after a create that failed', () => {
    const series = new EventSeries();
    series.occur('k', 0, () => 'first');
    series.forget('k');
    expect(series.occur('k', 1, () => 'second')).toEqual({ kind: 'create', name: 'second' });
  });
});
