// The operator's configuration, from command-line flags and environment variables (a flag wins), validated with
// zod: a bad value stops the process with a message naming it.
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { canonicalQuantity, compareQuantities, quantityPattern } from './quantity.ts';

/**
 * A resource quantity, in the form the API server stores (`1024Mi` becomes `1Gi`): the runner pods' resources are
 * compared with what the cluster holds, and a spelling it rewrites would never match.
 */
const quantity = z
  .string()
  .regex(quantityPattern, 'must be a Kubernetes quantity such as 100m or 128Mi')
  .transform(canonicalQuantity);

/** A comma-separated list of names, each checked by `item`; empty means none. */
const commaList = (item: z.ZodString) =>
  z
    .string()
    .default('')
    .transform((value) =>
      value
        .split(',')
        .map((name) => name.trim())
        .filter(Boolean),
    )
    .pipe(z.array(item));

/** Each setting: its flag, its environment variable, and its rule. */
const settings = {
  watchNamespaces: {
    env: 'SWITCHYARD_WATCH_NAMESPACES',
    help: 'comma-separated namespaces to watch; empty watches all',
    schema: commaList(z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be namespace names')),
  },
  runnerImage: {
    env: 'SWITCHYARD_RUNNER_IMAGE',
    help: 'image of the runner (the operator image)',
    schema: z.string().min(1).default('switchyard:0.1.0'),
  },
  runnerImagePullPolicy: {
    env: 'SWITCHYARD_RUNNER_IMAGE_PULL_POLICY',
    help: 'Always, IfNotPresent or Never',
    schema: z.enum(['Always', 'IfNotPresent', 'Never']).default('IfNotPresent'),
  },
  runnerImagePullSecrets: {
    env: 'SWITCHYARD_RUNNER_IMAGE_PULL_SECRETS',
    help: "comma-separated Secrets (in each merchant's namespace) for pulling the runner image; empty for none",
    schema: commaList(
      z
        .string()
        .max(253)
        .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, 'must be Secret names'),
    ),
  },
  runnerLogLevel: {
    env: 'SWITCHYARD_RUNNER_LOG_LEVEL',
    help: 'log level of the runner pods',
    schema: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  },
  runnerCpuRequest: {
    env: 'SWITCHYARD_RUNNER_CPU_REQUEST',
    help: 'runner CPU request',
    schema: quantity.default('50m'),
  },
  runnerCpuLimit: { env: 'SWITCHYARD_RUNNER_CPU_LIMIT', help: 'runner CPU limit', schema: quantity.default('500m') },
  runnerMemoryRequest: {
    env: 'SWITCHYARD_RUNNER_MEMORY_REQUEST',
    help: 'runner memory request',
    schema: quantity.default('64Mi'),
  },
  runnerMemoryLimit: {
    env: 'SWITCHYARD_RUNNER_MEMORY_LIMIT',
    help: 'runner memory limit',
    schema: quantity.default('256Mi'),
  },
  databaseSecretName: {
    env: 'SWITCHYARD_DATABASE_SECRET_NAME',
    help: "Secret (in each merchant's namespace) holding the hub store's PostgreSQL URL",
    schema: z.string().min(1).default('switchyard-hub-store'),
  },
  databaseSecretKey: {
    env: 'SWITCHYARD_DATABASE_SECRET_KEY',
    help: 'key of the URL in that Secret',
    schema: z.string().min(1).default('url'),
  },
  migrationSecretKey: {
    env: 'SWITCHYARD_MIGRATION_SECRET_KEY',
    help: "key, in the same Secret, of the URL the migrate Job uses (a role that owns the schema); default: the runners' key",
    schema: z.string().min(1).optional(),
  },
  concurrency: {
    env: 'SWITCHYARD_CONCURRENCY',
    help: 'objects reconciled at once',
    schema: z.coerce.number().int().min(1).max(256).default(16),
  },
  httpPort: {
    env: 'SWITCHYARD_HTTP_PORT',
    help: 'port of /healthz, /readyz and /metrics',
    schema: z.coerce.number().int().min(1).max(65535).default(8080),
  },
  leaderElection: {
    env: 'SWITCHYARD_LEADER_ELECTION',
    help: 'true or false: elect one active replica through a Lease',
    schema: z
      .enum(['true', 'false'])
      .default('true')
      .transform((value) => value === 'true'),
  },
  leaseName: {
    env: 'SWITCHYARD_LEASE_NAME',
    help: 'name of the leader-election Lease',
    schema: z.string().min(1).default('switchyard-operator'),
  },
  leaseNamespace: {
    env: 'SWITCHYARD_LEASE_NAMESPACE',
    help: "namespace of the Lease (default: the pod's namespace, or default)",
    schema: z
      .string()
      .min(1)
      .default(process.env.POD_NAMESPACE ?? 'default'),
  },
  resyncSeconds: {
    env: 'SWITCHYARD_RESYNC_SECONDS',
    help: 'periodic resync of every object, jittered by ±10%',
    schema: z.coerce.number().int().min(10).default(600),
  },
  logLevel: {
    env: 'SWITCHYARD_LOG_LEVEL',
    help: 'debug, info, warn or error',
    schema: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  },
} as const;

type Settings = typeof settings;
export type OperatorConfig = { [K in keyof Settings]: z.output<Settings[K]['schema']> };

const flagName = (key: string) => key.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);

export function usage(): string {
  return Object.entries(settings)
    .map(([key, setting]) => `  --${flagName(key)} (${setting.env}): ${setting.help}`)
    .join('\n');
}

export class ConfigError extends Error {}

export function loadConfig(argv: readonly string[], env: NodeJS.ProcessEnv): OperatorConfig {
  const { values } = parseArgs({
    args: [...argv],
    options: Object.fromEntries(Object.keys(settings).map((key) => [flagName(key), { type: 'string' as const }])),
    strict: true,
  });
  const config: Record<string, unknown> = {};
  const problems: string[] = [];
  const sourceOf = (key: keyof Settings) => {
    const fromFlag = values[flagName(key)];
    return typeof fromFlag === 'string'
      ? { name: `--${flagName(key)}`, raw: fromFlag }
      : { name: settings[key].env, raw: env[settings[key].env] };
  };
  for (const [key, setting] of Object.entries(settings)) {
    const { name, raw } = sourceOf(key as keyof Settings);
    const parsed = (setting.schema as z.ZodType).safeParse(raw === '' && key !== 'watchNamespaces' ? undefined : raw);
    if (parsed.success) config[key] = parsed.data;
    else {
      problems.push(`${name}=${JSON.stringify(raw)}: ${parsed.error.issues.map((issue) => issue.message).join('; ')}`);
    }
  }
  // The API server refuses a pod whose request exceeds its limit: better to refuse the setting.
  const requestsAndLimits = [
    ['runnerCpuRequest', 'runnerCpuLimit'],
    ['runnerMemoryRequest', 'runnerMemoryLimit'],
  ] as const;
  for (const [request, limit] of requestsAndLimits) {
    const requested = config[request];
    const limited = config[limit];
    if (typeof requested !== 'string' || typeof limited !== 'string') continue;
    if (compareQuantities(requested, limited) > 0) {
      const { name, raw } = sourceOf(request);
      problems.push(
        `${name}=${JSON.stringify(raw ?? requested)}: exceeds ${sourceOf(limit).name} (${limited}); the API server would refuse every runner pod`,
      );
    }
  }
  if (problems.length > 0) throw new ConfigError(`invalid configuration:\n  ${problems.join('\n  ')}`);
  return config as OperatorConfig;
}
