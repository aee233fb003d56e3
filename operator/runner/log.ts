// JSON logs. Records appear by id only; the endpoint token and the database URL are redacted wherever they are
// logged by mistake, and are never logged on purpose.
import { pino, type Logger } from 'pino';

export const redactedPaths = [
  'token',
  '*.token',
  'authorization',
  '*.authorization',
  '*.headers.authorization',
  'databaseUrl',
  '*.databaseUrl',
  'connectionString',
  '*.connectionString',
  'password',
  '*.password',
];

export function createLogger(level: string, bindings: Record<string, unknown> = {}): Logger {
  return pino({
    level,
    base: bindings,
    redact: { paths: redactedPaths, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}

/** A URL fit for logs: credentials in it (user:password@) and its query are dropped. */
export function loggableUrl(url: string): string {
  const parsed = new URL(url);
  return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
}
