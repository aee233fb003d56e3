// Cron expressions as Kubernetes CronJob accepts them. The API server validates `spec.schedule` with robfig/cron's
// standard parser (github.com/robfig/cron/v3 ParseStandard) and rejects any schedule containing "TZ"; the controller
// computes run times with the same library. cron-parser accepts more (seconds, L, W, #, H, day-of-week 7), so this
// module is the judge of what is valid, and cron-parser only computes times for expressions that passed here.
//
// Accepted, as robfig does: five fields; numbers, `*`, `?` (a synonym of `*` in every field), ranges `a-b`, steps
// `*/n`, `a-b/n` and `a/n` (= a-max/n), lists; month names JAN-DEC and weekday names SUN-SAT in any case; the macros
// @yearly @annually @monthly @weekly @daily @midnight @hourly (lower case only, as robfig).
// Rejected although robfig takes them: `@every <duration>` (the hub's intervals cover that), `*-5` (robfig ignores
// the `-5`), `+5` (Go's Atoi sign), empty list items (`1,,2`), and expressions that never run (such as `0 0 30 2 *`,
// which Kubernetes accepts and then never starts). Being stricter than the API server is safe: a schedule accepted
// here is accepted there.

export interface CronFields {
  /** Sorted, unique values of each field. */
  readonly minutes: readonly number[];
  readonly hours: readonly number[];
  readonly daysOfMonth: readonly number[];
  readonly months: readonly number[];
  /** 0 is Sunday; 7 is rejected, as robfig does. */
  readonly daysOfWeek: readonly number[];
  /**
   * robfig's day rule: when either day field is an unstepped `*` or `?`, a day must match both fields; when both
   * are restricted, it must match either (so `0 0 1 * MON` runs on the 1st and on every Monday).
   */
  readonly dayOfMonthStarred: boolean;
  readonly dayOfWeekStarred: boolean;
}

export type CronParse = { ok: true; fields: CronFields; expression: string } | { ok: false; reason: string };

interface FieldRule {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  readonly names?: Readonly<Record<string, number>>;
}

const monthNames = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const weekdayNames = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

const minuteRule: FieldRule = { name: 'minute', min: 0, max: 59 };
const hourRule: FieldRule = { name: 'hour', min: 0, max: 23 };
const dayOfMonthRule: FieldRule = { name: 'day-of-month', min: 1, max: 31 };
const monthRule: FieldRule = {
  name: 'month',
  min: 1,
  max: 12,
  names: Object.fromEntries(monthNames.map((name, index) => [name, index + 1])),
};
const dayOfWeekRule: FieldRule = {
  name: 'day-of-week',
  min: 0,
  max: 6,
  names: Object.fromEntries(weekdayNames.map((name, index) => [name, index])),
};

/** robfig's descriptors, as the 5-field expressions they stand for. */
export const cronMacroExpansions: Readonly<Record<string, string>> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

/** Longest month length for each month; February counts its leap day (robfig and Kubernetes run on Feb 29). */
const longestMonth = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

class FieldError extends Error {}

function parseValue(text: string, rule: FieldRule): number {
  if (/^\d+$/.test(text)) {
    return Number(text);
  }
  const named = rule.names?.[text.toLowerCase()];
  if (named !== undefined) {
    return named;
  }
  if (text === '') {
    throw new FieldError(`${rule.name} has an empty value`);
  }
  const unsupported = /[LW#H]/i.test(text) ? ' (L, W, # and H are not supported by Kubernetes CronJob)' : '';
  const what = rule.names ? `a number or a ${rule.name} name` : 'a number';
  throw new FieldError(`${rule.name} "${text}" is not ${what}${unsupported}`);
}

function checkBounds(value: number, rule: FieldRule): void {
  if (value < rule.min || value > rule.max) {
    const sunday = rule.name === 'day-of-week' && value === 7 ? '; use 0 for Sunday' : '';
    throw new FieldError(`${rule.name} ${value} is outside ${rule.min}-${rule.max}${sunday}`);
  }
}

/** One comma-separated part: `*`, `?`, `a`, `a-b`, each optionally `/step`. */
function parsePart(part: string, rule: FieldRule, values: Set<number>): boolean {
  const pieces = part.split('/');
  if (pieces.length > 2) {
    throw new FieldError(`${rule.name} "${part}" has more than one /`);
  }
  const [rangeText = '', stepText] = pieces;
  let start: number;
  let end: number;
  let star = false;
  if (rangeText === '*' || rangeText === '?') {
    start = rule.min;
    end = rule.max;
    star = true;
  } else {
    const bounds = rangeText.split('-');
    if (bounds.length > 2) {
      throw new FieldError(`${rule.name} "${part}" has more than one -`);
    }
    start = parseValue(bounds[0] ?? '', rule);
    end = bounds.length === 2 ? parseValue(bounds[1] ?? '', rule) : start;
    checkBounds(start, rule);
    checkBounds(end, rule);
  }
  let step = 1;
  if (stepText !== undefined) {
    if (!/^\d+$/.test(stepText) || Number(stepText) === 0) {
      throw new FieldError(`${rule.name} step "${stepText}" is not a positive number`);
    }
    step = Number(stepText);
    // robfig: "a/n" means "a-max/n".
    if (!star && !rangeText.includes('-')) {
      end = rule.max;
    }
  }
  if (start > end) {
    throw new FieldError(`${rule.name} range "${rangeText}" runs backwards`);
  }
  for (let value = start; value <= end; value += step) {
    values.add(value);
  }
  // robfig marks `*` and `*/1` (not `*/2`) as starred, which switches the day rule from "either" to "both".
  return star && step === 1;
}

function parseField(text: string, rule: FieldRule): { values: number[]; starred: boolean } {
  const values = new Set<number>();
  let starred = false;
  for (const part of text.split(',')) {
    if (part === '') {
      throw new FieldError(`${rule.name} "${text}" has an empty list item`);
    }
    starred = parsePart(part, rule, values) || starred;
  }
  return { values: [...values].sort((a, b) => a - b), starred };
}

/** True when some calendar date satisfies the day-of-month, month and day-of-week fields together. */
function hasMatchingDay(fields: CronFields): boolean {
  // Every weekday occurs in every month, so only a day-of-month that must match on its own (day-of-week starred)
  // can rule out every date, as in `0 0 30 2 *`.
  if (!fields.dayOfWeekStarred) {
    return true;
  }
  return fields.months.some((month) => fields.daysOfMonth.some((day) => day <= (longestMonth[month - 1] ?? 31)));
}

/**
 * Parses a 5-field expression or macro. The expression returned is the input with its fields separated by single
 * spaces, ready for a CronJob's `spec.schedule`; the reason, when it fails, names the rule broken.
 */
export function parseCronExpression(text: string): CronParse {
  const trimmed = text.trim();
  const quoted = `"${trimmed}"`;
  if (trimmed.includes('TZ')) {
    return {
      ok: false,
      reason: `${quoted} sets a time zone; Kubernetes CronJob rejects TZ= and CRON_TZ= in the schedule, set spec.timeZone instead`,
    };
  }
  let source = trimmed;
  if (trimmed.startsWith('@')) {
    const expansion = cronMacroExpansions[trimmed];
    if (expansion === undefined) {
      const every = trimmed.startsWith('@every') ? '; for a fixed interval write 5m, 15m, 1h, …, 24h' : '';
      return {
        ok: false,
        reason: `${quoted} is not a cron macro (${Object.keys(cronMacroExpansions).join(', ')})${every}`,
      };
    }
    source = expansion;
  }
  const texts = source.split(/\s+/);
  if (texts.length !== 5) {
    const seconds = texts.length === 6 ? '; there is no seconds field' : '';
    return {
      ok: false,
      reason: `${quoted} has ${texts.length} fields; a cron expression has 5 (minute hour day-of-month month day-of-week)${seconds}`,
    };
  }
  const [minuteText = '', hourText = '', dayOfMonthText = '', monthText = '', dayOfWeekText = ''] = texts;
  try {
    // In field order, so the first broken field is the one reported.
    const minute = parseField(minuteText, minuteRule);
    const hour = parseField(hourText, hourRule);
    const dayOfMonth = parseField(dayOfMonthText, dayOfMonthRule);
    const month = parseField(monthText, monthRule);
    const dayOfWeek = parseField(dayOfWeekText, dayOfWeekRule);
    const fields: CronFields = {
      minutes: minute.values,
      hours: hour.values,
      daysOfMonth: dayOfMonth.values,
      months: month.values,
      daysOfWeek: dayOfWeek.values,
      dayOfMonthStarred: dayOfMonth.starred,
      dayOfWeekStarred: dayOfWeek.starred,
    };
    if (!hasMatchingDay(fields)) {
      return { ok: false, reason: `${quoted} never runs: no date has that day of the month in those months` };
    }
    const expression = trimmed.startsWith('@') ? trimmed : texts.join(' ');
    return { ok: true, fields, expression };
  } catch (error) {
    if (error instanceof FieldError) {
      return { ok: false, reason: `${quoted}: ${error.message}` };
    }
    throw error;
  }
}

/** Parses an expression the caller already validated; a failure is a programming error. */
export function parseCronFieldsOrThrow(expression: string): CronFields {
  const parsed = parseCronExpression(expression);
  if (!parsed.ok) {
    throw new Error(`invalid cron expression: ${parsed.reason}`);
  }
  return parsed.fields;
}

/** robfig's day rule (see CronFields). dayOfWeek: 0 is Sunday. */
export function matchesDay(fields: CronFields, dayOfMonth: number, month: number, dayOfWeek: number): boolean {
  if (!fields.months.includes(month)) {
    return false;
  }
  const domMatch = fields.daysOfMonth.includes(dayOfMonth);
  const dowMatch = fields.daysOfWeek.includes(dayOfWeek);
  return fields.dayOfMonthStarred || fields.dayOfWeekStarred ? domMatch && dowMatch : domMatch || dowMatch;
}

function listValues(values: readonly number[]): string {
  const parts: string[] = [];
  let index = 0;
  while (index < values.length) {
    const first = values[index] ?? 0;
    let last = first;
    while (values[index + 1] === last + 1) {
      index += 1;
      last += 1;
    }
    parts.push(first === last ? `${first}` : `${first}-${last}`);
    index += 1;
  }
  return parts.join(',');
}

/**
 * The same schedule in a form cron-parser reads with robfig's meaning: explicit value lists, and `*` in a day field
 * exactly when robfig treats it as starred (cron-parser decides "both or either" from the raw text being `*`).
 */
export function formatForCronParser(fields: CronFields): string {
  const whole = (values: readonly number[], rule: FieldRule) =>
    values.length === rule.max - rule.min + 1 ? '*' : listValues(values);
  return [
    whole(fields.minutes, minuteRule),
    whole(fields.hours, hourRule),
    fields.dayOfMonthStarred ? '*' : listValues(fields.daysOfMonth),
    whole(fields.months, monthRule),
    fields.dayOfWeekStarred ? '*' : listValues(fields.daysOfWeek),
  ].join(' ');
}
