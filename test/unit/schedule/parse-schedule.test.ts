import { describe, expect, it } from 'vitest';
import { parseCronExpression } from '../../../operator/schedule/cron-expression.ts';
import {
  intervalSchedules,
  parseSchedule,
  tryParseSchedule,
  type ParsedSchedule,
} from '../../../operator/schedule/parse-schedule.ts';

describe('tryParseSchedule accepts', () => {
  const cases: [string, ParsedSchedule][] = [
    ['Automatic', { kind: 'automatic' }],
    ['Disabled', { kind: 'disabled' }],
    ['5m', { kind: 'interval', minutes: 5, text: '5m' }],
    ['30m', { kind: 'interval', minutes: 30, text: '30m' }],
    ['1h', { kind: 'interval', minutes: 60, text: '1h' }],
    ['12h', { kind: 'interval', minutes: 720, text: '12h' }],
    ['24h', { kind: 'interval', minutes: 1440, text: '24h' }],
    ['*/15 * * * *', { kind: 'cron', expression: '*/15 * * * *' }],
    ['0  9 * *\tMON-FRI', { kind: 'cron', expression: '0 9 * * MON-FRI' }],
    ['0 0 1 jan,Jul *', { kind: 'cron', expression: '0 0 1 jan,Jul *' }],
    ['5/15 ? * * ?', { kind: 'cron', expression: '5/15 ? * * ?' }],
    ['0 0-23/2 1-31/3 * sun-sat', { kind: 'cron', expression: '0 0-23/2 1-31/3 * sun-sat' }],
    ['*/100 * * * *', { kind: 'cron', expression: '*/100 * * * *' }],
    ['0 0 29 2 *', { kind: 'cron', expression: '0 0 29 2 *' }],
    ['@hourly', { kind: 'cron', expression: '@hourly' }],
    ['@daily', { kind: 'cron', expression: '@daily' }],
    ['@midnight', { kind: 'cron', expression: '@midnight' }],
    ['@weekly', { kind: 'cron', expression: '@weekly' }],
    ['@monthly', { kind: 'cron', expression: '@monthly' }],
    ['@yearly', { kind: 'cron', expression: '@yearly' }],
    ['@annually', { kind: 'cron', expression: '@annually' }],
  ];
  it.each(cases)('%j', (text, expected) => {
    expect(tryParseSchedule(text)).toEqual({ ok: true, schedule: expected });
  });

  it('accepts every interval the CRD lists, and only those', () => {
    expect(intervalSchedules).toEqual([
      '5m',
      '10m',
      '15m',
      '20m',
      '30m',
      '1h',
      '2h',
      '3h',
      '4h',
      '6h',
      '8h',
      '12h',
      '24h',
    ]);
    for (const interval of intervalSchedules) {
      expect(parseSchedule(interval).kind).toBe('interval');
    }
  });
});

describe('tryParseSchedule rejects', () => {
  const notASchedule = 'is not an interval (5m, 10m, 15m, 20m, 30m, 1h, 2h, 3h, 4h, 6h, 8h, 12h, 24h)';
  const cases: [string, string][] = [
    ['7m', `schedule: "7m" ${notASchedule}, a 5-field cron expression, Automatic or Disabled`],
    ['90m', `schedule: "90m" ${notASchedule}`],
    ['1d', `schedule: "1d" ${notASchedule}`],
    ['', `schedule: "" ${notASchedule}`],
    ['automatic', 'did you mean "Automatic"?'],
    ['15M', 'did you mean "15m"?'],
    [
      '@every 15m',
      '"@every 15m" is not a cron macro (@yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly)',
    ],
    ['@Daily', '"@Daily" is not a cron macro'],
    ['@reboot', '"@reboot" is not a cron macro'],
    [
      '0 */5 * * * *',
      'has 6 fields; a cron expression has 5 (minute hour day-of-month month day-of-week); there is no seconds field',
    ],
    ['0 0 * *', 'has 4 fields'],
    ['TZ=UTC 0 0 * * *', 'Kubernetes CronJob rejects TZ= and CRON_TZ= in the schedule, set spec.timeZone instead'],
    ['CRON_TZ=Europe/Paris 0 0 * * *', 'rejects TZ='],
    ['0 0 L * *', 'day-of-month "L" is not a number (L, W, # and H are not supported by Kubernetes CronJob)'],
    ['0 0 15W * *', 'day-of-month "15W" is not a number (L, W, # and H'],
    ['0 0 * * 5L', 'day-of-week "5L" is not a number or a day-of-week name (L, W, # and H'],
    ['0 0 * * MON#2', 'day-of-week "MON#2" is not a number or a day-of-week name (L, W, # and H'],
    ['H * * * *', 'minute "H" is not a number (L, W, # and H'],
    ['0 0 * * 7', 'day-of-week 7 is outside 0-6; use 0 for Sunday'],
    ['0 0 * * 1-7', 'day-of-week 7 is outside 0-6'],
    ['60 * * * *', 'minute 60 is outside 0-59'],
    ['0 24 * * *', 'hour 24 is outside 0-23'],
    ['0 0 0 * *', 'day-of-month 0 is outside 1-31'],
    ['0 0 32 * *', 'day-of-month 32 is outside 1-31'],
    ['0 0 * 13 *', 'month 13 is outside 1-12'],
    ['0 0 * JANUARY *', 'month "JANUARY" is not a number or a month name'],
    ['0 0 * * MONDAY', 'day-of-week "MONDAY" is not a number or a day-of-week name'],
    ['0 0 * MON *', 'month "MON" is not a number or a month name'],
    ['MON 0 * * *', 'minute "MON" is not a number'],
    ['5-1 * * * *', 'minute range "5-1" runs backwards'],
    ['1-2-3 * * * *', 'minute "1-2-3" has more than one -'],
    ['*/5/2 * * * *', 'minute "*/5/2" has more than one /'],
    ['*/0 * * * *', 'minute step "0" is not a positive number'],
    ['*/x * * * *', 'minute step "x" is not a positive number'],
    ['1,,2 * * * *', 'minute "1,,2" has an empty list item'],
    ['-5 * * * *', 'minute has an empty value'],
    ['*-5 * * * *', 'minute "*" is not a number'],
    ['+5 * * * *', 'minute "+5" is not a number'],
    ['0 0 30 2 *', '"0 0 30 2 *" never runs: no date has that day of the month in those months'],
    ['0 0 31 4,6,9,11 *', 'never runs'],
  ];
  it.each(cases)('%j', (text, message) => {
    const result = tryParseSchedule(text);
    expect(result.ok).toBe(false);
    expect(result.ok ? '' : result.message).toContain(message);
  });

  it('prefixes the message with the field path', () => {
    expect(tryParseSchedule('7m', 'spec.services.inventory.schedule')).toEqual({
      ok: false,
      message:
        'spec.services.inventory.schedule: "7m" is not an interval (5m, 10m, 15m, 20m, 30m, 1h, 2h, 3h, 4h, 6h, 8h, ' +
        '12h, 24h), a 5-field cron expression, Automatic or Disabled',
    });
  });

  it('parseSchedule throws the same message', () => {
    expect(() => parseSchedule('0 0 * * 7')).toThrow('schedule: "0 0 * * 7": day-of-week 7 is outside 0-6');
  });
});

describe('parseCronExpression reads fields as robfig/cron does', () => {
  const cases: [string, Partial<Record<string, unknown>>][] = [
    ['5/15 * * * *', { minutes: [5, 20, 35, 50] }],
    ['10-30/10 1,3 * * *', { minutes: [10, 20, 30], hours: [1, 3] }],
    ['0 22/1 * * *', { hours: [22, 23] }],
    ['0 0 * jan-mar/2 *', { months: [1, 3] }],
    ['0 0 * * MON-FRI', { daysOfWeek: [1, 2, 3, 4, 5], dayOfMonthStarred: true, dayOfWeekStarred: false }],
    ['0 0 1 * *', { daysOfMonth: [1], dayOfMonthStarred: false, dayOfWeekStarred: true }],
    // `*/1` and `?` are starred; `*/2` and an explicit full range are not.
    ['0 0 */1 * ?', { dayOfMonthStarred: true, dayOfWeekStarred: true }],
    [
      '0 0 */2 * 0-6',
      {
        daysOfMonth: [1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31],
        dayOfMonthStarred: false,
        dayOfWeekStarred: false,
      },
    ],
    ['@weekly', { minutes: [0], hours: [0], daysOfWeek: [0], dayOfMonthStarred: true, dayOfWeekStarred: false }],
    ['@yearly', { daysOfMonth: [1], months: [1], dayOfWeekStarred: true }],
  ];
  it.each(cases)('%j', (text, fields) => {
    const parsed = parseCronExpression(text);
    expect(parsed.ok).toBe(true);
    expect(parsed.ok ? parsed.fields : undefined).toMatchObject(fields);
  });
});
