import { describe, expect, it } from 'vitest';
import {
  addDaysToLocalDate,
  instantOfLocalTime,
  isValidTimeZone,
  localDateOf,
  readWallClock,
} from '../../../operator/schedule/time-zone.ts';

describe('isValidTimeZone', () => {
  const cases: [string, boolean][] = [
    ['UTC', true],
    ['Etc/UTC', true],
    ['Etc/GMT+5', true],
    ['GMT', true],
    ['America/Chicago', true],
    ['America/Argentina/Buenos_Aires', true],
    ['America/Port-au-Prince', true],
    ['Europe/Kyiv', true],
    ['Europe/Kiev', true],
    // Links Intl.supportedValuesOf leaves out but Go's time.LoadLocation accepts.
    ['Asia/Kolkata', true],
    ['US/Central', true],
    ['', false],
    ['Local', false],
    ['local', false],
    ['america/chicago', false],
    ['America/CHICAGO', false],
    ['utc', false],
    ['+05:00', false],
    ['UTC+1', false],
    ['Z', false],
    ['America/Chicago ', false],
    ['Mars/Olympus_Mons', false],
  ];
  it.each(cases)('%j → %s', (name, valid) => {
    expect(isValidTimeZone(name)).toBe(valid);
  });
});

describe('local dates', () => {
  it('localDateOf reads the date on the zone clock', () => {
    const instant = new Date('2026-03-08T03:30:00Z');
    expect(localDateOf(instant, 'UTC')).toBe('2026-03-08');
    expect(localDateOf(instant, 'America/Chicago')).toBe('2026-03-07');
    expect(localDateOf(new Date('2026-03-07T19:00:00Z'), 'Pacific/Kiritimati')).toBe('2026-03-08');
  });

  it('readWallClock shows midnight as hour 0', () => {
    expect(readWallClock(new Date('2026-03-08T06:00:00Z'), 'America/Chicago')).toEqual({
      year: 2026,
      month: 3,
      day: 8,
      hour: 0,
      minute: 0,
      second: 0,
    });
  });

  const additions: [string, number, string][] = [
    ['2026-02-28', 1, '2026-03-01'],
    ['2028-02-28', 1, '2028-02-29'],
    ['2026-12-31', 1, '2027-01-01'],
    ['2026-03-01', -1, '2026-02-28'],
    ['2026-03-08', 0, '2026-03-08'],
  ];
  it.each(additions)('addDaysToLocalDate(%s, %i) → %s', (date, days, expected) => {
    expect(addDaysToLocalDate(date, days)).toBe(expected);
  });

  it('rejects a malformed date', () => {
    expect(() => addDaysToLocalDate('2026-02-30', 1)).toThrow('"2026-02-30" is not a date in YYYY-MM-DD form');
    expect(() => instantOfLocalTime('8 March', 0, 'UTC')).toThrow(RangeError);
  });
});

describe('instantOfLocalTime', () => {
  const at = (hours: number, minutes: number) => hours * 60 + minutes;
  const cases: [string, number, string, string][] = [
    ['2026-03-07', at(2, 30), 'America/Chicago', '2026-03-07T08:30:00.000Z'],
    // Spring forward at 02:00 CST: 02:30 does not exist and runs an hour later, at 03:30 CDT.
    ['2026-03-08', at(1, 59), 'America/Chicago', '2026-03-08T07:59:00.000Z'],
    ['2026-03-08', at(2, 0), 'America/Chicago', '2026-03-08T08:00:00.000Z'],
    ['2026-03-08', at(2, 30), 'America/Chicago', '2026-03-08T08:30:00.000Z'],
    ['2026-03-08', at(3, 30), 'America/Chicago', '2026-03-08T08:30:00.000Z'],
    ['2026-03-08', at(12, 0), 'America/Chicago', '2026-03-08T17:00:00.000Z'],
    // Fall back at 02:00 CDT: 01:30 happens twice; the first (CDT) is taken.
    ['2026-11-01', at(0, 30), 'America/Chicago', '2026-11-01T05:30:00.000Z'],
    ['2026-11-01', at(1, 30), 'America/Chicago', '2026-11-01T06:30:00.000Z'],
    ['2026-11-01', at(2, 30), 'America/Chicago', '2026-11-01T08:30:00.000Z'],
    ['2026-03-08', at(2, 30), 'UTC', '2026-03-08T02:30:00.000Z'],
    ['2026-03-08', at(9, 15), 'Asia/Kathmandu', '2026-03-08T03:30:00.000Z'],
    // Southern hemisphere: Sydney leaves DST on 2026-04-05 at 03:00 AEDT.
    ['2026-04-05', at(2, 30), 'Australia/Sydney', '2026-04-04T15:30:00.000Z'],
    ['2026-10-04', at(2, 30), 'Australia/Sydney', '2026-10-03T16:30:00.000Z'],
  ];
  it.each(cases)('%s + %i minutes in %s → %s', (date, minuteOfDay, timeZone, expected) => {
    expect(instantOfLocalTime(date, minuteOfDay, timeZone).toISOString()).toBe(expected);
  });
});
