// The operator process: configuration → client → metrics and health endpoints → leader election → controller.
import { hostname } from 'node:os';
import * as k8s from '@kubernetes/client-node';
import { pino } from 'pino';
import { ConfigError, loadConfig, usage } from './config.ts';
import { logOptions } from './log-format.ts';
import { Controller } from './runtime/controller.ts';
import { createClusterWriter, createEventRecorder } from './runtime/cluster-writer.ts';
import { startHttpServer } from './runtime/http-server.ts';
import { LeaderElector, defaultLeaseTimings } from './runtime/leader-election.ts';
import { shareConnections } from './runtime/kube-config.ts';
import { createMetrics } from './runtime/metrics.ts';

if (process.argv.includes('--help')) {
  console.log(
    `switchyard-operator: reconciles Merchants and Carts\n\nSettings (flag, environment variable):\n${usage()}`,
  );
  process.exit(0);
}

let config;
try {
  config = loadConfig(process.argv.slice(2), process.env);
} catch (error) {
  const message = error instanceof ConfigError || error instanceof TypeError ? error.message : String(error);
  console.error(`switchyard-operator: ${message}\n\nSettings (flag, environment variable):\n${usage()}`);
  process.exit(2);
}

const log = pino(logOptions('switchyard-operator', config.logLevel));

const kubeConfig = shareConnections(new k8s.KubeConfig());
kubeConfig.loadFromDefault();
const metrics = createMetrics();
const controller = new Controller({
  kubeConfig,
  namespaces: config.watchNamespaces,
  concurrency: config.concurrency,
  resyncSeconds: config.resyncSeconds,
  settings: {
    image: config.runnerImage,
    imagePullPolicy: config.runnerImagePullPolicy,
    imagePullSecrets: config.runnerImagePullSecrets,
    databaseSecret: { name: config.databaseSecretName, key: config.databaseSecretKey },
    migrationSecretKey: config.migrationSecretKey ?? config.databaseSecretKey,
    logLevel: config.runnerLogLevel,
    resources: {
      requests: { cpu: config.runnerCpuRequest, memory: config.runnerMemoryRequest },
      limits: { cpu: config.runnerCpuLimit, memory: config.runnerMemoryLimit },
    },
  },
  writer: createClusterWriter(kubeConfig, metrics),
  events: createEventRecorder(kubeConfig, (error) => log.warn({ err: error }, 'could not record an event')),
  metrics,
  log,
});
metrics.readBacklogFrom(() => controller.backlogSamples());

const elector = config.leaderElection
  ? new LeaderElector(
      kubeConfig,
      {
        name: config.leaseName,
        namespace: config.leaseNamespace,
        identity: `${hostname()}-${process.pid}`,
        ...defaultLeaseTimings,
      },
      log,
    )
  : undefined;

// A standby replica is ready (it serves as the next leader); the leader once its caches are synced.
let leading = false;
const server = await startHttpServer(config.httpPort, metrics.registry, () => !leading || controller.synced);
log.info(
  { port: config.httpPort, namespaces: config.watchNamespaces, leaderElection: config.leaderElection },
  'started',
);

let stopping = false;
async function shutdown(signal: string, exitCode: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, 'shutting down');
  await controller.stop();
  await elector?.release();
  server.close();
  process.exit(exitCode);
}
process.on('SIGTERM', () => void shutdown('SIGTERM', 0));
process.on('SIGINT', () => void shutdown('SIGINT', 0));

// Losing the lease means another replica may already be reconciling: stop at once, and let the pod restart.
await elector?.acquire(() => void shutdown('lease lost', 1));
if (!stopping) {
  leading = true;
  await controller.start();
  metrics.leader.set(1);
}
