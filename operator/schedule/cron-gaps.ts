// How far apart a cron expression's runs are, to hold user crons to a service's min and max interval.
//
// Why not sample runs over a window (say the next 8 days)? A window misses patterns that fire rarely but densely:
// `*/5 * 1 * *` runs every 5 minutes on the 1st of the month and looks daily for 3 weeks of 4. Instead the gaps are
// computed from the fields: every matching day has the same times of day, so the gaps are the gaps within one day
// plus, between two consecutive matching days, the step from the last time of one to the first time of the next.
// Only the matching days need a scan, one cheap check per day over 8 years from `now` (2,928 days: enough to see
// two February 29ths), which bounds the work whatever the expression.
//
// Gaps are judged on the wall clock. At a DST change Kubernetes (robfig/cron) skips a local time that does not exist
// and may repeat one that occurs twice, so in a DST zone `0 2 * * *` leaves 48 hours once a year and `30 1 * * *`
// 1 hour once a year; counting those would make validity depend on the date and reject plain daily schedules.
import { parseCronFieldsOrThrow, matchesDay, type CronFields } from './cron-expression.ts';

const minutesPerDay = 24 * 60;
const millisecondsPerDay = minutesPerDay * 60_000;
const horizonDays = 8 * 366;

export interface CronGaps {
  /** Shortest time between two consecutive runs, in minutes. */
  readonly shortestMinutes: number;
  /** Longest time between two consecutive runs, in minutes; Infinity when 8 years hold one matching day. */
  readonly longestMinutes: number;
}

function timesOfDay(fields: CronFields): number[] {
  return fields.hours.flatMap((hour) => fields.minutes.map((minute) => hour * 60 + minute));
}

/** Measures the gaps of a valid cron expression (see the file comment); throws on an invalid one. */
export function measureCronGaps(expression: string, now: Date): CronGaps {
  const fields = parseCronFieldsOrThrow(expression);
  const times = timesOfDay(fields); // sorted: hours and minutes are sorted
  const first = times[0] ?? 0;
  const last = times.at(-1) ?? 0;
  let shortest = Infinity;
  let longest = -Infinity;
  for (let index = 1; index < times.length; index += 1) {
    const gap = (times[index] ?? 0) - (times[index - 1] ?? 0);
    shortest = Math.min(shortest, gap);
    longest = Math.max(longest, gap);
  }
  const startDay = Math.floor(now.getTime() / millisecondsPerDay);
  let previousDay: number | undefined;
  let matchingDays = 0;
  for (let day = startDay; day < startDay + horizonDays; day += 1) {
    const date = new Date(day * millisecondsPerDay);
    if (!matchesDay(fields, date.getUTCDate(), date.getUTCMonth() + 1, date.getUTCDay())) {
      continue;
    }
    if (previousDay !== undefined) {
      const gap = (day - previousDay) * minutesPerDay + first - last;
      shortest = Math.min(shortest, gap);
      longest = Math.max(longest, gap);
    }
    previousDay = day;
    matchingDays += 1;
  }
  // With a single matching day in 8 years the gap after it is unknown, but certainly longer than any limit.
  return { shortestMinutes: shortest, longestMinutes: matchingDays > 1 ? longest : Infinity };
}

/** Shortest time between two consecutive runs, in minutes: 2 for every second minute. */
export function shortestGapMinutes(expression: string, now: Date): number {
  return measureCronGaps(expression, now).shortestMinutes;
}

/** Longest time between two consecutive runs, in minutes: 10080 for `0 0 * * 1`. */
export function longestGapMinutes(expression: string, now: Date): number {
  return measureCronGaps(expression, now).longestMinutes;
}
