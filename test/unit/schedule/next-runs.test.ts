import { describe, expect, it } from 'vitest';
import { nextRunTimes } from '../../../operator/schedule/next-runs.ts';

const now = new Date('2026-03-05T12:34:56.789Z'); // a Thursday

const iso = (dates: Date[]) => dates.map((date) => date.toISOString());

describe('nextRunTimes', () => {
  const cases: [string, string, Date, number, string[]][] = [
    [
      '*/15 * * * *',
      'UTC',
      now,
      3,
      ['2026-03-05T12:45:00.000Z', '2026-03-05T13:00:00.000Z', '2026-03-05T13:15:00.000Z'],
    ],
    // Strictly after now, also when now is exactly a run time.
    ['0 * * * *', 'UTC', new Date('2026-03-05T13:00:00Z'), 1, ['2026-03-05T14:00:00.000Z']],
    ['0 9 * * *', 'America/Chicago', now, 2, ['2026-03-05T15:00:00.000Z', '2026-03-06T15:00:00.000Z']],
    // Across the spring-forward change: 09:00 CST is 15:00Z, 09:00 CDT is 14:00Z.
    [
      '0 9 * * *',
      'America/Chicago',
      new Date('2026-03-07T16:00:00Z'),
      2,
      ['2026-03-08T14:00:00.000Z', '2026-03-09T14:00:00.000Z'],
    ],
    ['0 9 * * *', 'Asia/Kolkata', now, 1, ['2026-03-06T03:30:00.000Z']],
    // @midnight is robfig's, cron-parser has no such macro.
    ['@midnight', 'America/Chicago', now, 2, ['2026-03-06T06:00:00.000Z', '2026-03-07T06:00:00.000Z']],
    ['@weekly', 'UTC', now, 2, ['2026-03-08T00:00:00.000Z', '2026-03-15T00:00:00.000Z']],
    ['@yearly', 'UTC', now, 1, ['2027-01-01T00:00:00.000Z']],
    [
      '30 6 * * mon-fri',
      'UTC',
      now,
      3,
      ['2026-03-06T06:30:00.000Z', '2026-03-09T06:30:00.000Z', '2026-03-10T06:30:00.000Z'],
    ],
    // Both day fields restricted: the 1st OR a Monday (robfig and Vixie cron).
    [
      '0 0 1 * MON',
      'UTC',
      new Date('2026-03-25T00:00:00Z'),
      3,
      ['2026-03-30T00:00:00.000Z', '2026-04-01T00:00:00.000Z', '2026-04-06T00:00:00.000Z'],
    ],
    // `*/1` is a star for robfig, so the 1st AND any weekday: only the 1st. cron-parser alone would read "or".
    ['0 0 1 * */1', 'UTC', now, 2, ['2026-04-01T00:00:00.000Z', '2026-05-01T00:00:00.000Z']],
    ['0 0 1 * ?', 'UTC', now, 1, ['2026-04-01T00:00:00.000Z']],
    ['0 12 29 2 *', 'UTC', now, 2, ['2028-02-29T12:00:00.000Z', '2032-02-29T12:00:00.000Z']],
  ];
  it.each(cases)('%j in %s', (expression, timeZone, from, count, expected) => {
    expect(iso(nextRunTimes(expression, timeZone, from, count))).toEqual(expected);
  });

  it('throws on an expression Kubernetes would reject, though cron-parser takes it', () => {
    expect(() => nextRunTimes('0 0 L * *', 'UTC', now, 1)).toThrow('not supported by Kubernetes CronJob');
    expect(() => nextRunTimes('0 0 0 * * *', 'UTC', now, 1)).toThrow('has 6 fields');
  });
});
