// Cleanup runs of Automatic services: two a day at stable "random" local times that retry every failed record.
// The times derive from a hash of the seed and the local date, so every replica and restart of the operator agrees
// on them without storing them, they change from day to day, and tenants spread over the day.
import { pickStableSlots } from './stable-hash.ts';
import { addDaysToLocalDate, instantOfLocalTime, localDateOf } from './time-zone.ts';

// One cleanup in each half of the local day, an hour clear of noon and midnight on both sides: the morning one
// falls in 01:00-10:59, the afternoon one in 13:00-22:59, so two cleanups are always at least 2 hours apart on the
// local clock, also across midnight.
const morningStart = 60;
const afternoonStart = 13 * 60;
const windowMinutes = 10 * 60;

/**
 * The two cleanup instants of a local day (YYYY-MM-DD) in an IANA zone, morning first, at whole minutes. A local
 * time that a DST change skips runs after the jump (02:30 becomes 03:30); one it repeats runs the first time.
 */
export function cleanupTimesForDay(seed: string, localDate: string, timeZone: string): [Date, Date] {
  const [morning = 0, afternoon = 0] = pickStableSlots(['cleanup', seed, localDate], [windowMinutes, windowMinutes]);
  return [
    instantOfLocalTime(localDate, morningStart + morning, timeZone),
    instantOfLocalTime(localDate, afternoonStart + afternoon, timeZone),
  ];
}

/** The next `count` cleanup instants strictly after `now`, earliest first. */
export function nextCleanupTimes(seed: string, timeZone: string, now: Date, count = 2): Date[] {
  const times: Date[] = [];
  for (let day = localDateOf(now, timeZone); times.length < count; day = addDaysToLocalDate(day, 1)) {
    for (const time of cleanupTimesForDay(seed, day, timeZone)) {
      if (time > now && times.length < count) {
        times.push(time);
      }
    }
  }
  return times;
}

/**
 * The cleanup to run now, if any: the most recent scheduled instant at or before `now`, provided it is later than
 * `lastCleanupTime` (not run yet) and at most `graceMinutes` late. So a cleanup missed while the operator was down
 * runs when it returns within the grace, a later one is left to its next slot, and one that ran is not run again.
 * Without a `lastCleanupTime` (a new tenant) a cleanup scheduled within the grace is due.
 */
export function dueCleanup(
  seed: string,
  timeZone: string,
  now: Date,
  lastCleanupTime: Date | undefined,
  graceMinutes = 60,
): Date | undefined {
  const earliest = new Date(now.getTime() - graceMinutes * 60_000);
  let latest: Date | undefined;
  const lastDay = localDateOf(now, timeZone);
  for (let day = localDateOf(earliest, timeZone); day <= lastDay; day = addDaysToLocalDate(day, 1)) {
    for (const time of cleanupTimesForDay(seed, day, timeZone)) {
      if (time <= now && (latest === undefined || time > latest)) {
        latest = time;
      }
    }
  }
  if (latest === undefined || latest < earliest) {
    return undefined;
  }
  if (lastCleanupTime !== undefined && latest <= lastCleanupTime) {
    return undefined;
  }
  return latest;
}
