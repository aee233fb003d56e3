// One shape for the JSON log lines of the operator and the runner, so that one log pipeline parses both:
// {"level":"info","time":"<ISO-8601>","component":"switchyard-…",…,"msg":"…"}, errors under "err".
// Shared by both programs: it must import nothing of the operator's runtime (the runner may not load it).
import { pino, type LoggerOptions } from 'pino';

/**
 * Credentials never logged on purpose and censored wherever they are logged by mistake: the endpoint token, the
 * database URL, and the request headers and bodies that errors of the API client carry.
 */
export const redactedPaths = [
  'token',
  '*.token',
  'authorization',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
  'err.body.data',
  'databaseUrl',
  '*.databaseUrl',
  'connectionString',
  '*.connectionString',
  'password',
  '*.password',
];

export type Component = 'switchyard-operator' | 'switchyard-runner';

/** pino's options for `component`: the level by name, the time in ISO-8601, no pid or hostname (the pod says). */
export function logOptions(component: Component, level: string, bindings: Record<string, unknown> = {}): LoggerOptions {
  return {
    level,
    base: { component, ...bindings },
    formatters: { level: (label) => ({ level: label }) },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: redactedPaths, censor: '[redacted]' },
  };
}
