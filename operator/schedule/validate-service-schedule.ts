// Whether a schedule suits a service: the CRD checks the shape at admission; this judges what admission cannot
// (how often a cron expression runs) and repeats the rest, since objects stored under an older CRD skipped them.
import { serviceCatalogue, type ServiceDefinition } from '../api/v1alpha1/services.ts';
import { measureCronGaps } from './cron-gaps.ts';
import { describeMinutes, joinWithAnd } from './describe.ts';
import { tryParseSchedule, type ScheduleCheck } from './parse-schedule.ts';

const minutesPerDay = 24 * 60;

export interface ScheduleContext {
  /** Where the schedule sits in the object, for messages: `spec.services.inventory.schedule`. */
  readonly fieldPath: string;
  /** Start of the calendar scan for cron gaps (see measureCronGaps). */
  readonly now: Date;
}

function describeLimits(service: ServiceDefinition) {
  const most = `${service.title} runs at most every ${service.minIntervalMinutes} minutes`;
  const least =
    service.maxIntervalMinutes === minutesPerDay
      ? `${service.title} must run at least once a day`
      : `${service.title} must run at least every ${service.maxIntervalMinutes} minutes`;
  return { most, least };
}

/**
 * Parses `text` and checks it against the service: Automatic only where the service offers it, and intervals and
 * cron gaps within [minIntervalMinutes, maxIntervalMinutes]. A cron with a daily maximum must therefore run every
 * day: weekly and monthly expressions are rejected, as the hub's "from every 5 minutes to once a day" says.
 */
export function validateServiceSchedule(
  service: ServiceDefinition,
  text: string,
  context: ScheduleContext,
): ScheduleCheck {
  const { fieldPath, now } = context;
  const parsed = tryParseSchedule(text, fieldPath);
  if (!parsed.ok) {
    return parsed;
  }
  const schedule = parsed.schedule;
  const limits = describeLimits(service);
  const quoted = `"${text.trim()}"`;
  switch (schedule.kind) {
    case 'disabled':
      return parsed;
    case 'automatic': {
      if (service.automaticAllowed) {
        return parsed;
      }
      const offering = Object.values(serviceCatalogue)
        .filter((candidate) => candidate.automaticAllowed)
        .map((candidate) => candidate.title);
      return {
        ok: false,
        message:
          `${fieldPath}: Automatic is offered only for ${joinWithAnd(offering)}; ` +
          `${service.title} needs an interval or a cron expression`,
      };
    }
    case 'interval': {
      const every = `${fieldPath}: ${quoted} runs every ${describeMinutes(schedule.minutes)}`;
      if (schedule.minutes < service.minIntervalMinutes) {
        return { ok: false, message: `${every}; ${limits.most}` };
      }
      if (schedule.minutes > service.maxIntervalMinutes) {
        return { ok: false, message: `${every}; ${limits.least}` };
      }
      return parsed;
    }
    case 'cron': {
      const gaps = measureCronGaps(schedule.expression, now);
      const regular = gaps.shortestMinutes === gaps.longestMinutes;
      if (gaps.shortestMinutes < service.minIntervalMinutes) {
        const how = regular
          ? `runs every ${describeMinutes(gaps.shortestMinutes)}`
          : `has runs only ${describeMinutes(gaps.shortestMinutes)} apart`;
        return { ok: false, message: `${fieldPath}: ${quoted} ${how}; ${limits.most}` };
      }
      if (gaps.longestMinutes > service.maxIntervalMinutes) {
        const how = regular
          ? `runs every ${describeMinutes(gaps.longestMinutes)}`
          : `leaves up to ${describeMinutes(gaps.longestMinutes)} between runs`;
        return { ok: false, message: `${fieldPath}: ${quoted} ${how}; ${limits.least}` };
      }
      return parsed;
    }
  }
}
