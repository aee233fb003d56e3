// Both programs log one shape: the level by name, the time in ISO-8601, the component, then the fields and msg. The
// entry points run as the image runs them, so the test sees what their own loggers write.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { freeLoopbackPort } from '../support/free-port.ts';

const repository = new URL('../../', import.meta.url);

/** Starts `entry` and resolves with its first line on stdout, then stops it. */
function firstLine(entry: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  const child = spawn(process.execPath, [new URL(entry, repository).pathname, ...args], {
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  onTestFinished(() => void child.kill());
  return new Promise((resolve, reject) => {
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const end = output.indexOf('\n');
      if (end >= 0) resolve(output.slice(0, end));
    });
    child.once('exit', (code) => reject(new Error(`${entry} exited with ${code} before logging a line`)));
  });
}

/** A kubeconfig for an API server that is not there: the operator starts, logs, and fails to watch. */
function unreachableKubeconfig(): string {
  const path = join(tmpdir(), `switchyard-log-format-${process.pid}.yaml`);
  writeFileSync(
    path,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters: [{ name: none, cluster: { server: "https://127.0.0.1:1" } }]',
      'users: [{ name: none, user: { token: unused } }]',
      'contexts: [{ name: none, context: { cluster: none, user: none } }]',
      'current-context: none',
    ].join('\n'),
  );
  return path;
}

const isoTime = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

function expectShape(line: string, level: string, component: string, msg: string) {
  const entry = JSON.parse(line) as Record<string, unknown>;
  // Key order is part of the shape: level and time lead, msg ends the line.
  const keys = Object.keys(entry);
  expect(keys.slice(0, 3)).toEqual(['level', 'time', 'component']);
  expect(keys.at(-1)).toBe('msg');
  expect(entry).toMatchObject({ level, component, msg });
  expect(entry.time).toMatch(isoTime);
  expect(entry).not.toHaveProperty('pid');
  expect(entry).not.toHaveProperty('hostname');
}

describe('log lines', () => {
  it('of the operator are {"level":"info","time":"<ISO-8601>","component":…,"msg":…}', async () => {
    const port = await freeLoopbackPort();
    const line = await firstLine('operator/main.ts', ['--http-port', String(port), '--leader-election', 'false'], {
      KUBECONFIG: unreachableKubeconfig(),
    });
    expectShape(line, 'info', 'switchyard-operator', 'started');
  });

  it('of the runner have the same shape', async () => {
    const line = await firstLine('operator/runner/main.ts', ['sync']);
    expectShape(line, 'fatal', 'switchyard-runner', expect.stringMatching(/^invalid command line: /) as string);
  });
});
