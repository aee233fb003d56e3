// What a service's `schedule` says: Automatic, Disabled, one of the hub's intervals, or a cron expression.
import {
  automaticSchedule,
  disabledSchedule,
  intervalMinutes,
  intervalSchedules,
  type IntervalSchedule,
} from '../api/v1alpha1/schedule-syntax.ts';
import { parseCronExpression } from './cron-expression.ts';

// The CRD's CEL rule lists the same intervals; both read them from the API package.
export { intervalSchedules, type IntervalSchedule };

export type ParsedSchedule =
  | { readonly kind: 'automatic' }
  | { readonly kind: 'disabled' }
  | { readonly kind: 'interval'; readonly minutes: number; readonly text: IntervalSchedule }
  /** `expression` is what goes into the CronJob: the input with single spaces between fields, or a macro. */
  | { readonly kind: 'cron'; readonly expression: string };

export type ScheduleCheck = { ok: true; schedule: ParsedSchedule } | { ok: false; message: string };

export function isIntervalSchedule(text: string): text is IntervalSchedule {
  return (intervalSchedules as readonly string[]).includes(text);
}

const keywords: readonly string[] = [automaticSchedule, disabledSchedule, ...intervalSchedules];

function describeUnknown(text: string): string {
  const sameLetters = keywords.find((keyword) => keyword.toLowerCase() === text.toLowerCase());
  const hint = sameLetters === undefined ? '' : `; did you mean "${sameLetters}"?`;
  return (
    `"${text}" is not an interval (${intervalSchedules.join(', ')}), a 5-field cron expression, ` +
    `${automaticSchedule} or ${disabledSchedule}${hint}`
  );
}

/**
 * Parses a schedule without throwing, so the reconciler can report the message (prefixed with `fieldPath`) as the
 * reason it is Stalled.
 */
export function tryParseSchedule(text: string, fieldPath = 'schedule'): ScheduleCheck {
  const trimmed = text.trim();
  if (trimmed === automaticSchedule) {
    return { ok: true, schedule: { kind: 'automatic' } };
  }
  if (trimmed === disabledSchedule) {
    return { ok: true, schedule: { kind: 'disabled' } };
  }
  if (isIntervalSchedule(trimmed)) {
    return { ok: true, schedule: { kind: 'interval', minutes: intervalMinutes(trimmed), text: trimmed } };
  }
  // A single word that is not a macro is a misspelt keyword or interval ("7m", "hourly"), not a broken cron.
  if (!trimmed.startsWith('@') && !/\s/.test(trimmed)) {
    return { ok: false, message: `${fieldPath}: ${describeUnknown(trimmed)}` };
  }
  const cron = parseCronExpression(trimmed);
  if (!cron.ok) {
    return { ok: false, message: `${fieldPath}: ${cron.reason}` };
  }
  return { ok: true, schedule: { kind: 'cron', expression: cron.expression } };
}

/** Parses a schedule the caller expects to be valid; throws an Error carrying the same message otherwise. */
export function parseSchedule(text: string): ParsedSchedule {
  const result = tryParseSchedule(text);
  if (!result.ok) {
    throw new Error(result.message);
  }
  return result.schedule;
}
