// switchyard-runner run|watch|cleanup --service <name>: the entry point of the CronJobs, watcher Deployments and
// cleanup Jobs that the operator creates. Configuration comes from the environment (operator/api/runner-contract.ts).
import type { Logger } from 'pino';
import { parseCommandLine, parseRunnerConfig } from './config.ts';
import { createLogger } from './log.ts';
import { createLogOnlyReporter } from './reporting/log-only-reporter.ts';
import type { StatusReporter } from './reporting/reporter.ts';
import { runRunner } from './runner.ts';

const usageError = 2;

/**
 * In a pod (KUBERNETES_SERVICE_HOST set, a ServiceAccount token readable), status goes to the API server; elsewhere,
 * to the log. The client is a lean one on node:https (reporting/in-cluster-api.ts): @kubernetes/client-node would
 * cost every runner process about 75 MiB.
 */
async function chooseReporter(log: Logger): Promise<StatusReporter> {
  const [{ createInClusterApi, detectInCluster }, { createKubernetesStatusReporter }] = await Promise.all([
    import('./reporting/in-cluster-api.ts'),
    import('./reporting/kubernetes-reporter.ts'),
  ]);
  const inCluster = detectInCluster(process.env);
  if (!inCluster.ok) {
    log.warn(
      { reason: inCluster.reason },
      `no Kubernetes API (${inCluster.reason}): status reports go to the log only`,
    );
    return createLogOnlyReporter(log);
  }
  return createKubernetesStatusReporter(createInClusterApi(inCluster.value));
}

async function main(): Promise<number> {
  const commandLine = parseCommandLine(process.argv.slice(2));
  if (!commandLine.ok) {
    createLogger('info').fatal(
      { errors: commandLine.errors },
      `invalid command line: ${commandLine.errors.join('; ')}`,
    );
    return usageError;
  }
  const parsed = parseRunnerConfig(commandLine.value, process.env);
  if (!parsed.ok) {
    createLogger('info').fatal({ errors: parsed.errors }, `invalid configuration: ${parsed.errors.join('; ')}`);
    return usageError;
  }
  const config = parsed.value;
  const log = createLogger(config.logLevel, {
    mode: config.mode,
    ...('service' in config && { service: config.service }),
  });
  const stop = new AbortController();
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      log.info({ signal }, 'stopping');
      stop.abort();
    });
  }
  // A migration reports to no object: its pod has no API credentials on purpose, and needs no warning about it.
  const reporter = config.mode === 'migrate' ? createLogOnlyReporter(log) : await chooseReporter(log);
  return runRunner(config, { log, reporter, signal: stop.signal });
}

// Exit explicitly: idle keep-alive sockets of fetch must not hold a finished run open.
process.exit(await main());
