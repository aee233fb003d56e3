// A pino logger whose lines the test can read back, in the shape the runner logs them.
import { pino, type Logger } from 'pino';
import { logOptions } from '../../../operator/log-format.ts';

export interface LogLine {
  readonly level: string;
  readonly msg: string;
  readonly [field: string]: unknown;
}

export const warnLevel = 'warn';

export function capturingLogger(): { log: Logger; lines: LogLine[]; raw: string[] } {
  const lines: LogLine[] = [];
  const raw: string[] = [];
  const log = pino(logOptions('switchyard-runner', 'debug'), {
    write(line: string) {
      raw.push(line);
      lines.push(JSON.parse(line) as LogLine);
    },
  });
  return { log, lines, raw };
}
