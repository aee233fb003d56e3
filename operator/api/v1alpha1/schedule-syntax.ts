// What a `schedule` string may say. Shared by the CRD's admission rules and the operator's own validation.

/** The intervals the hub offers, shortest first. */
export const intervalSchedules = [
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
] as const;
export type IntervalSchedule = (typeof intervalSchedules)[number];

export const automaticSchedule = 'Automatic';
export const disabledSchedule = 'Disabled';

export function intervalMinutes(interval: IntervalSchedule): number {
  const amount = Number.parseInt(interval, 10);
  return interval.endsWith('h') ? amount * 60 : amount;
}

/**
 * CronJob's macros that run at least once a day: every service runs at least daily, so @weekly, @monthly and
 * @yearly are not offered.
 */
export const cronMacros = ['@daily', '@midnight', '@hourly'] as const;

/**
 * The shape of a 5-field cron expression: five fields of digits, names, `*`, `/`, `,`, `-` and `?`.
 * Admission checks the shape only; the operator parses the expression and judges how often it runs.
 */
export const cronShape = '^[0-9A-Za-z*/,?-]+( +[0-9A-Za-z*/,?-]+){4}$';
