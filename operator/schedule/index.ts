// Schedule maths: pure functions of their arguments (an injected `now`, never the clock), no API server, no I/O.
export { formatForCronParser, parseCronExpression, type CronFields } from './cron-expression.ts';
export { longestGapMinutes, measureCronGaps, shortestGapMinutes, type CronGaps } from './cron-gaps.ts';
export { cleanupTimesForDay, dueCleanup, nextCleanupTimes } from './cleanup.ts';
export { nextRunTimes } from './next-runs.ts';
export { runDeadline, runDeadlineSeconds } from './run-deadline.ts';
export {
  intervalSchedules,
  isIntervalSchedule,
  parseSchedule,
  tryParseSchedule,
  type IntervalSchedule,
  type ParsedSchedule,
  type ScheduleCheck,
} from './parse-schedule.ts';
export { staggeredCron } from './stagger.ts';
export {
  addDaysToLocalDate,
  instantOfLocalTime,
  isValidTimeZone,
  localDateOf,
  readWallClock,
  type WallClock,
} from './time-zone.ts';
export { validateServiceSchedule, type ScheduleContext } from './validate-service-schedule.ts';
