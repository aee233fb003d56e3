// JSON logs. Records appear by id only; the endpoint token and the database URL are redacted wherever they are
// logged by mistake, and are never logged on purpose.
import { pino, type Logger } from 'pino';
import { logOptions } from '../log-format.ts';

export function createLogger(level: string, bindings: Record<string, unknown> = {}): Logger {
  return pino(logOptions('switchyard-runner', level, bindings));
}

/** A URL fit for logs: credentials in it (user:password@) and its query are dropped. */
export function loggableUrl(url: string): string {
  const parsed = new URL(url);
  return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
}
