// switchyard-runner run|watch|cleanup --service <name>: the entry point of the CronJobs, watcher Deployments and
// cleanup Jobs that the operator creates. Configuration comes from the environment (operator/api/runner-environment.ts).
import type { Logger } from 'pino';
import { parseCommandLine, parseRunnerConfig } from './config.ts';
import { createLogger } from './log.ts';
import { createLogOnlyReporter } from './reporting/log-only-reporter.ts';
import type { StatusReporter } from './reporting/reporter.ts';
import { runRunner } from './runner.ts';

const usageError = 2;

/** In a pod (service account) or with KUBECONFIG set, status goes to the API server; elsewhere, to the log. */
async function chooseReporter(log: Logger): Promise<StatusReporter> {
  if (!process.env.KUBERNETES_SERVICE_HOST && !process.env.KUBECONFIG) {
    log.warn('no Kubernetes API configured (no service account, no KUBECONFIG): status reports go to the log only');
    return createLogOnlyReporter(log);
  }
  // Loaded only when needed: the client takes about a second to load, a noticeable share of a short run.
  const [{ KubeConfig }, { createKubernetesStatusReporter }, { shareConnections }] = await Promise.all([
    import('@kubernetes/client-node'),
    import('./reporting/kubernetes-reporter.ts'),
    import('../runtime/kube-config.ts'),
  ]);
  const kubeConfig = shareConnections(new KubeConfig());
  kubeConfig.loadFromDefault();
  return createKubernetesStatusReporter(kubeConfig);
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
  const log = createLogger(config.logLevel, { service: config.service, mode: config.mode });
  const stop = new AbortController();
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      log.info({ signal }, 'stopping');
      stop.abort();
    });
  }
  return runRunner(config, { log, reporter: await chooseReporter(log), signal: stop.signal });
}

// Exit explicitly: idle keep-alive sockets of fetch must not hold a finished run open.
process.exit(await main());
