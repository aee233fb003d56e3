// Upcoming runs of a cron expression in a time zone, for status (`nextRunTime`) and tests.
import { CronExpressionParser } from 'cron-parser';
import { formatForCronParser, parseCronFieldsOrThrow } from './cron-expression.ts';

/**
 * The next `count` runs strictly after `now` of a valid 5-field expression or macro in an IANA zone; throws on an
 * invalid expression. cron-parser computes the times from the expression as robfig reads it (see
 * formatForCronParser). Around a DST change it can differ from the CronJob controller by an hour: for a local time
 * that does not exist cron-parser runs in the hour after the jump where robfig skips the run, and in a repeated
 * hour the two can disagree on whether a run happens twice.
 */
export function nextRunTimes(expression: string, timeZone: string, now: Date, count: number): Date[] {
  const fields = parseCronFieldsOrThrow(expression);
  const cron = CronExpressionParser.parse(formatForCronParser(fields), { currentDate: now, tz: timeZone });
  return cron.take(count).map((date) => date.toDate());
}
