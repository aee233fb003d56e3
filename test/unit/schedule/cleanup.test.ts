import { describe, expect, it } from 'vitest';
import { cleanupTimesForDay, dueCleanup, nextCleanupTimes } from '../../../operator/schedule/cleanup.ts';
import { addDaysToLocalDate, readWallClock } from '../../../operator/schedule/time-zone.ts';

const chicago = 'America/Chicago';
const seeds = Array.from({ length: 2000 }, (_, index) => `5f0c2d9e-${index}/orderDelivery`);

const minuteOfDay = (instant: Date, timeZone: string) => {
  const wall = readWallClock(instant, timeZone);
  return wall.hour * 60 + wall.minute;
};
const minutesBetween = (earlier: Date, later: Date) => (later.getTime() - earlier.getTime()) / 60_000;

describe('cleanupTimesForDay', () => {
  it('is stable for a seed and day, and changes from day to day', () => {
    const first = cleanupTimesForDay('uid-1/orderDelivery', '2026-03-05', chicago);
    expect(cleanupTimesForDay('uid-1/orderDelivery', '2026-03-05', chicago)).toEqual(first);
    const mornings = new Set<number>();
    for (let day = 0; day < 30; day += 1) {
      const [morning] = cleanupTimesForDay('uid-1/orderDelivery', addDaysToLocalDate('2026-03-01', day), chicago);
      mornings.add(minuteOfDay(morning, chicago));
    }
    expect(mornings.size).toBeGreaterThan(25);
  });

  it.each(['UTC', chicago, 'Asia/Kolkata', 'Australia/Sydney'])(
    'places one cleanup in 01:00-10:59 and one in 13:00-22:59 local time, at whole minutes, in %s',
    (timeZone) => {
      for (const seed of seeds.slice(0, 500)) {
        const [morning, afternoon] = cleanupTimesForDay(seed, '2026-06-15', timeZone);
        expect(morning.getTime() % 60_000).toBe(0);
        expect(afternoon.getTime() % 60_000).toBe(0);
        expect(minuteOfDay(morning, timeZone)).toBeGreaterThanOrEqual(60);
        expect(minuteOfDay(morning, timeZone)).toBeLessThan(660);
        expect(minuteOfDay(afternoon, timeZone)).toBeGreaterThanOrEqual(780);
        expect(minuteOfDay(afternoon, timeZone)).toBeLessThan(1380);
      }
    },
  );

  it('spreads tenants evenly over the hours of each window', () => {
    const perHour = new Array<number>(24).fill(0);
    for (const seed of seeds) {
      for (const time of cleanupTimesForDay(seed, '2026-06-15', 'UTC')) {
        const hour = readWallClock(time, 'UTC').hour;
        perHour[hour] = (perHour[hour] ?? 0) + 1;
      }
    }
    const used = [...perHour.slice(1, 11), ...perHour.slice(13, 23)];
    // 200 expected per hour, standard deviation about 13.
    expect(Math.min(...used)).toBeGreaterThan(150);
    expect(Math.max(...used)).toBeLessThan(250);
    expect([perHour[0], perHour[11], perHour[12], perHour[23]]).toEqual([0, 0, 0, 0]);
  });

  it('on the spring-forward day moves times in the missing hour to real instants after it', () => {
    const perHour = new Array<number>(24).fill(0);
    for (const seed of seeds) {
      const [morning, afternoon] = cleanupTimesForDay(seed, '2026-03-08', chicago);
      expect(morning.getTime()).toBeLessThan(afternoon.getTime());
      const hour = readWallClock(morning, chicago).hour;
      perHour[hour] = (perHour[hour] ?? 0) + 1;
    }
    // 02:00-02:59 does not exist on 2026-03-08: its share lands in 03:00-03:59 CDT, which gets about twice the others.
    expect(perHour[2]).toBe(0);
    const others = [1, 4, 5, 6, 7, 8, 9, 10].map((hour) => perHour[hour] ?? 0);
    expect(perHour[3]).toBeGreaterThan(1.6 * Math.max(...others));
  });

  it('on the fall-back day runs a repeated local time once, at its first occurrence (CDT)', () => {
    let repeated = 0;
    for (const seed of seeds) {
      const [morning] = cleanupTimesForDay(seed, '2026-11-01', chicago);
      if (readWallClock(morning, chicago).hour === 1) {
        repeated += 1;
        expect(morning.getUTCHours()).toBe(6); // 01:xx CDT is 06:xx UTC; 01:xx CST would be 07:xx
      }
    }
    expect(repeated).toBeGreaterThan(100);
  });

  it('keeps consecutive cleanups at least two hours apart in real time across a year in Chicago', () => {
    for (const seed of seeds.slice(0, 5)) {
      const times = Array.from({ length: 365 }, (_, day) =>
        cleanupTimesForDay(seed, addDaysToLocalDate('2026-01-01', day), chicago),
      ).flat();
      const gaps = times.slice(1).map((time, index) => minutesBetween(times[index] ?? time, time));
      expect(Math.min(...gaps)).toBeGreaterThanOrEqual(120);
    }
  });
});

describe('nextCleanupTimes', () => {
  const seed = 'uid-7/shipmentUpload';
  const [morning, afternoon] = cleanupTimesForDay(seed, '2026-03-05', chicago);
  const [tomorrowMorning, tomorrowAfternoon] = cleanupTimesForDay(seed, '2026-03-06', chicago);
  const [nextMorning] = cleanupTimesForDay(seed, '2026-03-07', chicago);

  it('returns the next cleanups strictly after now, earliest first', () => {
    const startOfDay = new Date('2026-03-05T06:00:00Z'); // 00:00 CST
    expect(nextCleanupTimes(seed, chicago, startOfDay)).toEqual([morning, afternoon]);
    expect(nextCleanupTimes(seed, chicago, morning)).toEqual([afternoon, tomorrowMorning]);
    expect(nextCleanupTimes(seed, chicago, afternoon, 4)).toEqual([
      tomorrowMorning,
      tomorrowAfternoon,
      nextMorning,
      cleanupTimesForDay(seed, '2026-03-07', chicago)[1],
    ]);
    expect(nextCleanupTimes(seed, chicago, startOfDay, 1)).toEqual([morning]);
    expect(nextCleanupTimes(seed, chicago, startOfDay, 0)).toEqual([]);
  });

  it('looks at the local day, not the UTC day', () => {
    // 23:30 CST on March 5 is already March 6 in UTC: the next cleanup is tomorrow morning local time.
    expect(nextCleanupTimes(seed, chicago, new Date('2026-03-06T05:30:00Z'), 1)).toEqual([tomorrowMorning]);
  });
});

describe('dueCleanup', () => {
  const seed = 'uid-9/inventoryUpload';
  const [morning, afternoon] = cleanupTimesForDay(seed, '2026-03-05', chicago);
  const [previousMorning, previousAfternoon] = cleanupTimesForDay(seed, '2026-03-04', chicago);
  const plus = (instant: Date, minutes: number) => new Date(instant.getTime() + minutes * 60_000);

  const cases: [string, Date, Date | undefined, number | undefined, Date | undefined][] = [
    ['on time, never run before', morning, undefined, undefined, morning],
    ['30 minutes late, never run before', plus(morning, 30), undefined, undefined, morning],
    ['exactly as late as the grace', plus(morning, 60), previousAfternoon, undefined, morning],
    ['later than the grace', plus(morning, 61), previousAfternoon, undefined, undefined],
    ['later than the default grace but within a wider one', plus(morning, 90), previousAfternoon, 120, morning],
    ['already run', plus(morning, 30), morning, undefined, undefined],
    ['already run, recorded when it finished', plus(morning, 30), plus(morning, 2), undefined, undefined],
    ['last run is the previous one', plus(morning, 30), previousAfternoon, undefined, morning],
    ['a minute before it is due', plus(morning, -1), previousAfternoon, undefined, undefined],
    ['between cleanups, the last one done', plus(afternoon, -30), morning, 24 * 60, undefined],
    ['the afternoon one, missed', plus(afternoon, 10), morning, undefined, afternoon],
    [
      'only the latest is due, even with a grace covering both',
      plus(afternoon, 10),
      previousMorning,
      24 * 60,
      afternoon,
    ],
  ];
  it.each(cases)('%s', (_name, now, lastCleanupTime, graceMinutes, expected) => {
    expect(dueCleanup(seed, chicago, now, lastCleanupTime, graceMinutes)).toEqual(expected);
  });

  // Afternoon cleanups end by 22:59, so only a grace over an hour reaches past midnight.
  it('finds a cleanup missed before local midnight with a two-hour grace', () => {
    const late = seeds.find((candidate) => {
      const [, evening] = cleanupTimesForDay(candidate, '2026-03-05', chicago);
      return minuteOfDay(evening, chicago) >= 22 * 60 + 30;
    });
    expect(late).toBeDefined();
    const [, evening] = cleanupTimesForDay(late ?? '', '2026-03-05', chicago);
    const now = plus(evening, 100); // after midnight: March 6 local
    expect(readWallClock(now, chicago).day).toBe(6);
    expect(dueCleanup(late ?? '', chicago, now, undefined, 120)).toEqual(evening);
    expect(dueCleanup(late ?? '', chicago, now, undefined)).toBeUndefined();
  });
});
