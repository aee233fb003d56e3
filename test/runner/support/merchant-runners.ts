// What a Merchant's pod templates add to runnerEnvironment and watcherEnvironment: the Merchant's Carts
// (SWITCHYARD_MERCHANT_CARTS) and Disabled services the watcher only counts; and the runner run in-process on such an
// environment, as support/runners.ts runs it on the plain one.
import { onTestFinished } from 'vitest';
import { runnerEnv, type WatchTarget } from '../../../operator/api/runner-contract.ts';
import type { ServiceName } from '../../../operator/api/v1alpha1/services.ts';
import { parseCommandLine, parseRunnerConfig } from '../../../operator/runner/config.ts';
import { createLogger } from '../../../operator/runner/log.ts';
import { runRunner } from '../../../operator/runner/runner.ts';
import { RecordingReporter } from '../../support/recording-reporter.ts';
import type { Watcher } from './runners.ts';

type Env = Record<string, string>;

export function withMerchantCarts(env: Env, carts: readonly string[]): Env {
  return { ...env, [runnerEnv.merchantCarts]: JSON.stringify(carts) };
}

/** A watcher's environment in which these services of these owners are Disabled: counted, not sent. */
export function countingOnly(env: Env, counted: readonly { owner: string; service: ServiceName }[]): Env {
  const targets = JSON.parse(env[runnerEnv.watchTargets]!) as WatchTarget[];
  const isCounted = (owner: string, service: ServiceName) =>
    counted.some((entry) => entry.owner === owner && entry.service === service);
  const marked = targets.map((target) => ({
    ...target,
    services: target.services.map((service) =>
      isCounted(target.name, service.name) ? { ...service, countOnly: true as const } : service,
    ),
  }));
  return { ...env, [runnerEnv.watchTargets]: JSON.stringify(marked) };
}

function configFor(args: string[], env: Env) {
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
  env: Env,
): Promise<{ exitCode: number; reporter: RecordingReporter }> {
  const reporter = new RecordingReporter();
  const exitCode = await runRunner(configFor([mode, '--service', service], env), {
    log: testLog(),
    reporter,
    signal: new AbortController().signal,
  });
  return { exitCode, reporter };
}

/** A merchant's watcher on exactly this environment, in-process, stopped at the end of the test at the latest. */
export function watchOn(env: Env, statusIntervalMs = 0): Watcher {
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
