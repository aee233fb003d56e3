import { describe, expect, it } from 'vitest';
import { intervalMinutes, intervalSchedules } from '../../../operator/api/v1alpha1/schedule-syntax.ts';
import { nextRunTimes } from '../../../operator/schedule/next-runs.ts';
import { tryParseSchedule } from '../../../operator/schedule/parse-schedule.ts';
import { staggeredCron } from '../../../operator/schedule/stagger.ts';
import { readWallClock } from '../../../operator/schedule/time-zone.ts';

const allMinutes = intervalSchedules.map(intervalMinutes);
const seeds = Array.from(
  { length: 12 },
  (_, index) => `0b8f6c1e-59a3-4d2e-9c41-${String(index).padStart(12, '0')}/orderDownload`,
);

function gapsMinutes(runs: Date[]): number[] {
  return runs.slice(1).map((run, index) => (run.getTime() - (runs[index]?.getTime() ?? 0)) / 60_000);
}

/** The runs in [from, to), for an expression that runs about every `minutes`. */
function runsBetween(expression: string, minutes: number, timeZone: string, from: string, to: string): Date[] {
  const end = new Date(to).getTime();
  const enough = Math.ceil((end - new Date(from).getTime()) / 60_000 / minutes) + 2;
  return nextRunTimes(expression, timeZone, new Date(from), enough).filter((run) => run.getTime() < end);
}

const localClock = (date: Date, timeZone: string) => {
  const wall = readWallClock(date, timeZone);
  return `${String(wall.hour).padStart(2, '0')}:${String(wall.minute).padStart(2, '0')}`;
};

describe('staggeredCron', () => {
  it('lists the run minutes and hours explicitly', () => {
    const seed = 'tenant-a/orderDownload';
    const slot1440 = staggeredCron(1440, seed);
    const [minute, hour] = slot1440.split(' ').map(Number);
    // One hash, reduced modulo the interval: the slots of one seed nest (its 15m slot is its daily slot mod 15).
    expect(slot1440).toMatch(/^\d{1,2} \d{1,2} \* \* \*$/);
    const daily = (hour ?? 0) * 60 + (minute ?? 0);
    const at = (offset: number, step: number) =>
      Array.from({ length: 60 / step }, (_, index) => offset + index * step).join(',');
    expect(staggeredCron(15, seed)).toBe(`${at(daily % 15, 15)} * * * *`);
    expect(staggeredCron(5, seed)).toBe(`${at(daily % 5, 5)} * * * *`);
    expect(staggeredCron(60, seed)).toBe(`${daily % 60} * * * *`);
    const fourHours = daily % 240;
    const hours = Array.from({ length: 6 }, (_, index) => Math.floor(fourHours / 60) + 4 * index).join(',');
    expect(staggeredCron(240, seed)).toBe(`${fourHours % 60} ${hours} * * *`);
  });

  it('is stable: the same seed always gets the same schedule, a different seed usually another', () => {
    expect(staggeredCron(15, 'uid-1/inventory')).toBe(staggeredCron(15, 'uid-1/inventory'));
    const distinct = new Set(Array.from({ length: 50 }, (_, index) => staggeredCron(1440, `uid-${index}/inventory`)));
    expect(distinct.size).toBeGreaterThan(45);
  });

  it('rejects minutes that are not an interval', () => {
    expect(() => staggeredCron(7, 'x')).toThrow('7 minutes is not one of the intervals');
    expect(() => staggeredCron(90, 'x')).toThrow(RangeError);
  });

  it('spreads 10,000 tenants on 15m over every minute of the quarter hour', () => {
    const counts = new Array<number>(15).fill(0);
    for (let index = 0; index < 10_000; index += 1) {
      const first = Number(staggeredCron(15, `tenant-${index}/orderDownload`).split(',')[0]);
      counts[first] = (counts[first] ?? 0) + 1;
    }
    // 666.7 expected per slot, standard deviation about 25: ±100 is four of them.
    expect(Math.min(...counts)).toBeGreaterThan(566);
    expect(Math.max(...counts)).toBeLessThan(767);
  });

  it('spreads 24,000 tenants on 4h over all 240 minutes', () => {
    const counts = new Array<number>(240).fill(0);
    for (let index = 0; index < 24_000; index += 1) {
      const [minute, hours] = staggeredCron(240, `tenant-${index}/inventory`).split(' ');
      const slot = Number(hours?.split(',')[0]) * 60 + Number(minute);
      counts[slot] = (counts[slot] ?? 0) + 1;
    }
    // 100 expected per slot, standard deviation about 10.
    expect(Math.min(...counts)).toBeGreaterThan(55);
    expect(Math.max(...counts)).toBeLessThan(145);
  });

  describe.each(allMinutes)('every %i minutes', (minutes) => {
    it('produces expressions the schedule parser accepts', () => {
      for (const seed of seeds) {
        const expression = staggeredCron(minutes, seed);
        expect(tryParseSchedule(expression)).toEqual({ ok: true, schedule: { kind: 'cron', expression } });
      }
    });

    it('runs exactly that far apart in UTC and in America/Chicago away from DST changes', () => {
      for (const seed of seeds.slice(0, 4)) {
        const expression = staggeredCron(minutes, seed);
        for (const timeZone of ['UTC', 'America/Chicago']) {
          // Sub-hour patterns repeat every hour, so a day shows them whole; longer ones get four.
          const days = minutes < 60 ? 1 : 4;
          const to = `2026-04-0${1 + days}T00:00:00Z`;
          const runs = runsBetween(expression, minutes, timeZone, '2026-04-01T00:00:00Z', to);
          expect(runs.length).toBe((days * 1440) / minutes);
          expect(new Set(gapsMinutes(runs))).toEqual(new Set([minutes]));
        }
      }
    });

    it('across both DST changes in America/Chicago: exact up to 1h, otherwise one gap an hour off', () => {
      for (const seed of seeds.slice(0, 4)) {
        const expression = staggeredCron(minutes, seed);
        // The changes happen at 08:00Z (spring) and 07:00Z (fall); sub-hour patterns need only the hours around them.
        const windows =
          minutes < 60
            ? [
                ['2026-03-08T04:00:00Z', '2026-03-08T12:00:00Z'],
                ['2026-11-01T03:00:00Z', '2026-11-01T11:00:00Z'],
              ]
            : [
                ['2026-03-07T00:00:00Z', '2026-03-10T00:00:00Z'],
                ['2026-10-31T00:00:00Z', '2026-11-03T00:00:00Z'],
              ];
        for (const [from = '', to = ''] of windows) {
          const gaps = gapsMinutes(runsBetween(expression, minutes, 'America/Chicago', from, to));
          if (minutes <= 60) {
            expect(new Set(gaps)).toEqual(new Set([minutes]));
          } else {
            expect(gaps.every((gap) => [minutes - 60, minutes, minutes + 60].includes(gap))).toBe(true);
            expect(gaps.filter((gap) => gap !== minutes).length).toBeLessThanOrEqual(2);
          }
        }
      }
    });
  });

  // What the documentation of staggeredCron promises, with fixed slots.
  const dstCases: [string, string, string[]][] = [
    // Spring forward, 02:00 CST → 03:00 CDT: the sub-hour list simply has no 02:xx; real gaps stay 15 minutes.
    ['7,22,37,52 * * * *', '2026-03-08T07:30:00Z', ['01:37', '01:52', '03:07', '03:22']],
    // Fall back, 02:00 CDT → 01:00 CST: 01:xx runs twice, real gaps stay 15 minutes.
    ['7,22,37,52 * * * *', '2026-11-01T06:30:00Z', ['01:37', '01:52', '01:07', '01:22']],
    ['7 * * * *', '2026-11-01T05:30:00Z', ['01:07', '01:07', '02:07']],
    // 2h on even hours, spring forward: cron-parser runs the 02:07 slot at 03:07 (robfig, and so Kubernetes, skips it).
    ['7 0,2,4,6,8,10,12,14,16,18,20,22 * * *', '2026-03-08T05:30:00Z', ['00:07', '03:07', '04:07', '06:07']],
    // 2h on odd hours, fall back: 01:07 once, then 03:07 three real hours later.
    ['7 1,3,5,7,9,11,13,15,17,19,21,23 * * *', '2026-11-01T05:30:00Z', ['01:07', '03:07', '05:07']],
  ];
  it.each(dstCases)('%j in America/Chicago from %s', (expression, from, localTimes) => {
    const runs = nextRunTimes(expression, 'America/Chicago', new Date(from), localTimes.length);
    expect(runs.map((run) => localClock(run, 'America/Chicago'))).toEqual(localTimes);
  });
});
