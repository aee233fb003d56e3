import { describe, expect, it } from 'vitest';
import { longestGapMinutes, measureCronGaps, shortestGapMinutes } from '../../../operator/schedule/cron-gaps.ts';
import { nextRunTimes } from '../../../operator/schedule/next-runs.ts';

const now = new Date('2026-03-05T12:34:56Z');
const day = 1440;

describe('measureCronGaps', () => {
  const cases: [string, number, number][] = [
    ['* * * * *', 1, 1],
    ['*/2 * * * *', 2, 2],
    ['*/7 * * * *', 4, 7], // 0,7,…,56: 7 apart within the hour, then :56 → :00 is 4
    ['*/15 * * * *', 15, 15],
    ['0,5 * * * *', 5, 55],
    ['0 * * * *', 60, 60],
    ['@hourly', 60, 60],
    ['0 */5 * * *', 240, 300], // 20:00 → 00:00 is 4 hours
    ['30 1,23 * * *', 120, 1320],
    ['0 0 * * *', day, day],
    ['@daily', day, day],
    ['0 0 * * 1-5', day, 3 * day],
    ['0 0 * * 1', 7 * day, 7 * day],
    ['@weekly', 7 * day, 7 * day],
    ['0 0 1 * *', 28 * day, 31 * day],
    ['@monthly', 28 * day, 31 * day],
    ['@yearly', 365 * day, 366 * day],
    // Every 5 minutes on the 1st only (a window of a week or two would miss it): 23:55 on March 1st to 00:00 on
    // April 1st is the longest.
    ['*/5 * 1 * *', 5, 31 * day - (23 * 60 + 55)],
    // robfig: both day fields restricted, so the 1st OR any Monday.
    ['0 0 1 * MON', day, 7 * day],
    // Only on February 29th: 2028 and 2032 fall in the 8 years scanned.
    ['0 12 29 2 *', (4 * 365 + 1) * day, (4 * 365 + 1) * day],
  ];
  it.each(cases)('%j', (expression, shortest, longest) => {
    expect(measureCronGaps(expression, now)).toEqual({ shortestMinutes: shortest, longestMinutes: longest });
  });

  it('shortestGapMinutes and longestGapMinutes read the same measure', () => {
    expect(shortestGapMinutes('0,5 * * * *', now)).toBe(5);
    expect(longestGapMinutes('0,5 * * * *', now)).toBe(55);
  });

  it('throws on an expression that does not parse', () => {
    expect(() => measureCronGaps('0 0 * * 7', now)).toThrow('day-of-week 7 is outside 0-6');
  });

  // The structural measure must agree with walking the actual runs where a window holds the whole pattern.
  const walked = [
    '*/7 * * * *',
    '0,5 * * * *',
    '0 */5 * * *',
    '30 1,23 * * *',
    '0 0 * * 1-5',
    '15 8-17/3 * * 1,3,5',
    '0 0 1,15 * MON',
  ];
  it.each(walked)('%j agrees with consecutive runs over 5 weeks', (expression) => {
    const end = now.getTime() + 35 * day * 60_000;
    const runs: Date[] = [];
    for (let from = now; from.getTime() < end; from = runs.at(-1) ?? from) {
      runs.push(...nextRunTimes(expression, 'UTC', from, 200));
    }
    const gaps = runs.slice(1).map((run, index) => (run.getTime() - (runs[index]?.getTime() ?? 0)) / 60_000);
    expect(measureCronGaps(expression, now)).toEqual({
      shortestMinutes: Math.min(...gaps),
      longestMinutes: Math.max(...gaps),
    });
  });
});
