// IANA time zones without a date library: Intl knows the zone rules, and local wall-clock times are mapped to
// instants here, including times a DST change skips or repeats.

const millisecondsPerDay = 24 * 60 * 60_000;

const formatters = new Map<string, Intl.DateTimeFormat>();

// One formatter per zone: building one costs far more than formatting with it.
function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (formatter === undefined) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

export interface WallClock {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
}

/** The local date and time an instant shows in a zone. Throws a RangeError for a zone the runtime does not know. */
export function readWallClock(instant: Date, timeZone: string): WallClock {
  const parts: Record<string, number> = {};
  for (const part of formatterFor(timeZone).formatToParts(instant)) {
    if (part.type !== 'literal') {
      parts[part.type] = Number(part.value);
    }
  }
  return {
    year: parts.year ?? 0,
    month: parts.month ?? 0,
    day: parts.day ?? 0,
    hour: parts.hour ?? 0,
    minute: parts.minute ?? 0,
    second: parts.second ?? 0,
  };
}

/** How far the zone's wall clock is ahead of UTC at an instant, in milliseconds. */
function offsetAt(instantMs: number, timeZone: string): number {
  const wholeSecond = Math.floor(instantMs / 1000) * 1000;
  const wall = readWallClock(new Date(wholeSecond), timeZone);
  return Date.UTC(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute, wall.second) - wholeSecond;
}

function parseLocalDate(localDate: string): [number, number, number] {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(localDate);
  const [year, month, day] = [Number(match?.[1]), Number(match?.[2]), Number(match?.[3])];
  const check = new Date(Date.UTC(year, month - 1, day));
  if (match === null || check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day) {
    throw new RangeError(`"${localDate}" is not a date in YYYY-MM-DD form`);
  }
  return [year, month, day];
}

function formatLocalDate(year: number, month: number, day: number): string {
  return `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}

/** The local calendar date (YYYY-MM-DD) of an instant in a zone. */
export function localDateOf(instant: Date, timeZone: string): string {
  const wall = readWallClock(instant, timeZone);
  return formatLocalDate(wall.year, wall.month, wall.day);
}

/** A YYYY-MM-DD date moved by whole calendar days. */
export function addDaysToLocalDate(localDate: string, days: number): string {
  const [year, month, day] = parseLocalDate(localDate);
  const moved = new Date(Date.UTC(year, month - 1, day) + days * millisecondsPerDay);
  return formatLocalDate(moved.getUTCFullYear(), moved.getUTCMonth() + 1, moved.getUTCDate());
}

/**
 * The instant a zone's clock shows `minuteOfDay` minutes after midnight on `localDate`. A time that occurs twice
 * (clocks go back) maps to the earlier instant; a time that does not exist (clocks go forward) is moved forward by
 * the length of the jump, so 02:30 on a spring-forward day becomes 03:30. Both are what Temporal calls
 * "compatible" and what most schedulers do.
 */
export function instantOfLocalTime(localDate: string, minuteOfDay: number, timeZone: string): Date {
  const [year, month, day] = parseLocalDate(localDate);
  const wallMs = Date.UTC(year, month - 1, day, 0, minuteOfDay);
  // Offsets a day either side: at most one change lies between them (zones change offset months apart).
  const offsetBefore = offsetAt(wallMs - millisecondsPerDay, timeZone);
  const offsetAfter = offsetAt(wallMs + millisecondsPerDay, timeZone);
  const candidates = [wallMs - offsetBefore, wallMs - offsetAfter].filter(
    (instantMs) => instantMs + offsetAt(instantMs, timeZone) === wallMs,
  );
  return new Date(candidates.length > 0 ? Math.min(...candidates) : wallMs - offsetBefore);
}

const ianaShape = /^[A-Z][A-Za-z0-9_+-]*(\/[A-Z][A-Za-z0-9_+-]*)*$/;

/**
 * True when `name` is an IANA zone the runtime knows, written as Kubernetes (Go's time.LoadLocation) needs it.
 * `Intl.supportedValuesOf('timeZone')` alone is not enough: it lists only canonical names and leaves out UTC,
 * Etc/UTC, Etc/GMT+5 and links such as Asia/Kolkata or US/Central, which Kubernetes accepts. So a name passes when
 * Intl accepts it, and to match Go's exact-case lookup it must also look like an IANA name (each part starting with
 * a capital; no offsets like +05:00, which Intl takes and Go does not) and, when Intl reports the same name back,
 * match it letter for letter ("America/CHICAGO" fails). "Local" is rejected, as CronJob does. The operator's ICU and
 * the cluster's tzdata can still differ in version, so a zone created last month may pass here and fail there.
 */
export function isValidTimeZone(name: string): boolean {
  if (!ianaShape.test(name) || name.toLowerCase() === 'local') {
    return false;
  }
  let resolved: string;
  try {
    resolved = new Intl.DateTimeFormat('en-US', { timeZone: name }).resolvedOptions().timeZone;
  } catch {
    return false;
  }
  return resolved.toLowerCase() !== name.toLowerCase() || resolved === name;
}
