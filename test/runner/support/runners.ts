// Runs the runner the ways the cluster does: in-process through runRunner (with a recording reporter), or as a
// child process through the real entry point (for the kill test and for what reaches stdout).
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ServiceName } from '../../../operator/api/v1alpha1/services.ts';
import { parseCommandLine, parseRunnerConfig } from '../../../operator/runner/config.ts';
import { createLogger } from '../../../operator/runner/log.ts';
import { runRunner } from '../../../operator/runner/runner.ts';
import { onTestFinished } from 'vitest';
import { runnerEnvironment, watcherEnvironment, type RunnerSetup } from '../../support/runner-environment.ts';
import { RecordingReporter } from '../../support/recording-reporter.ts';

export { runnerEnvironment, watcherEnvironment, type RunnerSetup } from '../../support/runner-environment.ts';

export const entryPoint = fileURLToPath(new URL('../../../operator/runner/main.ts', import.meta.url));

function configFor(args: string[], env: Record<string, string>) {
  const commandLine = parseCommandLine(args);
  if (!commandLine.ok) throw new Error(commandLine.errors.join('; '));
  const parsed = parseRunnerConfig(commandLine.value, env);
  if (!parsed.ok) throw new Error(parsed.errors.join('; '));
  return parsed.value;
}

const testLog = () => createLogger(process.env.RUNNER_TEST_LOG ?? 'silent');

/** One interval run or cleanup of `service`, in-process, on exactly this environment. */
export async function runOn(
  mode: 'run' | 'cleanup',
  service: ServiceName,
  env: Record<string, string>,
): Promise<{ exitCode: number; reporter: RecordingReporter }> {
  const reporter = new RecordingReporter();
  const exitCode = await runRunner(configFor([mode, '--service', service], env), {
    log: testLog(),
    reporter,
    signal: new AbortController().signal,
  });
  return { exitCode, reporter };
}

/** One interval run or cleanup run, in-process. */
export function runOnce(
  mode: 'run' | 'cleanup',
  setup: RunnerSetup,
): Promise<{ exitCode: number; reporter: RecordingReporter }> {
  return runOn(mode, setup.service, runnerEnvironment(setup));
}

export interface Watcher {
  readonly reporter: RecordingReporter;
  stop(): Promise<number>;
}

/** A merchant's watcher on exactly this environment, in-process, stopped at the end of the test at the latest. */
export function watchOn(env: Record<string, string>, statusIntervalMs = 0): Watcher {
  const reporter = new RecordingReporter();
  const stop = new AbortController();
  const running = runRunner(configFor(['watch'], env), {
    log: testLog(),
    reporter,
    signal: stop.signal,
    statusIntervalMs,
  });
  onTestFinished(() => {
    stop.abort();
    return running.then(() => undefined);
  });
  return {
    reporter,
    async stop() {
      stop.abort();
      return running;
    },
  };
}

/** A merchant's watcher of the Automatic services `setups` name, in-process, until stop(). */
export function startWatcher(setups: RunnerSetup | readonly RunnerSetup[], statusIntervalMs = 0): Watcher {
  return watchOn(watcherEnvironment([setups].flat()), statusIntervalMs);
}

export interface RunnerProcess {
  readonly child: ChildProcess;
  /** stdout and stderr so far. */
  output(): string;
  readonly exited: Promise<number | null>;
}

/** The real entry point as a child process, with exactly the given environment (plus PATH), for one test. */
export function spawnRunner(args: readonly string[], env: Record<string, string>): RunnerProcess {
  const child = spawn(process.execPath, [entryPoint, ...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  // A test that fails half way must not leave its runner behind.
  onTestFinished(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return { child, output: () => output, exited };
}
