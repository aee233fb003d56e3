// The runner's command line and environment, validated up front: a bad value stops the runner with a message that
// names the variable and the rule, and never echoes a value (the token and the database URL are secrets).
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { runnerEnv } from '../api/runner-environment.ts';
import {
  isServiceName,
  serviceCatalogue,
  serviceNames,
  type OwnerKind,
  type ServiceName,
} from '../api/v1alpha1/services.ts';

export const runnerModes = ['run', 'watch', 'cleanup'] as const;
export type RunnerMode = (typeof runnerModes)[number];

/** The Merchant or Cart whose service this runner performs. */
export interface OwnerRef {
  readonly kind: OwnerKind;
  readonly namespace: string;
  readonly name: string;
}

export interface RunnerConfig {
  readonly mode: RunnerMode;
  readonly service: ServiceName;
  readonly owner: OwnerRef;
  /** The merchant the records belong to: the owner itself, or the Cart's merchant. */
  readonly merchant: string;
  readonly batchSize: number;
  readonly endpoint: { readonly type: 'http'; readonly url: string; readonly token?: string };
  readonly databaseUrl: string;
  readonly logLevel: string;
  readonly leaseMs: number;
  readonly sweepMs: number;
  readonly requestTimeoutMs: number;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; errors: string[] };

export const usage = `usage: switchyard-runner <${runnerModes.join('|')}> --service <${serviceNames.join('|')}>`;

export function parseCommandLine(argv: readonly string[]): Parsed<{ mode: RunnerMode; service: ServiceName }> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: { service: { type: 'string' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    return { ok: false, errors: [(error as Error).message, usage] };
  }
  const [mode, ...extra] = parsed.positionals;
  const errors: string[] = [];
  if (!mode || !(runnerModes as readonly string[]).includes(mode) || extra.length > 0) {
    errors.push(`expected exactly one mode: ${runnerModes.join(', ')}`);
  }
  const service = parsed.values.service;
  if (service === undefined || !isServiceName(service)) {
    errors.push(`--service must be one of ${serviceNames.join(', ')}`);
  }
  if (errors.length > 0) return { ok: false, errors: [...errors, usage] };
  return { ok: true, value: { mode: mode as RunnerMode, service: service as ServiceName } };
}

// Kubernetes object names (RFC 1123 subdomain) and namespaces (RFC 1123 label).
const objectName = z
  .string({ error: 'is required' })
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, {
    error: 'must be a Kubernetes object name (lowercase letters, digits, - and .)',
  })
  .max(253, { error: 'must be at most 253 characters' });
const namespaceName = z
  .string({ error: 'is required' })
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, { error: 'must be a namespace name (lowercase letters, digits and -)' })
  .max(63, { error: 'must be at most 63 characters' });

function integerIn(min: number, max: number) {
  const rule = `must be a whole number from ${min} to ${max}`;
  return z
    .string({ error: `is required and ${rule}` })
    .regex(/^\d+$/, { error: rule })
    .transform(Number)
    .pipe(z.int().min(min, { error: rule }).max(max, { error: rule }));
}

function urlWithScheme(schemes: readonly string[]) {
  const rule = `must be a URL starting with ${schemes.map((scheme) => `${scheme}//`).join(' or ')}`;
  return z
    .string({ error: `is required and ${rule}` })
    .refine((value) => URL.canParse(value) && schemes.includes(new URL(value).protocol), { error: rule });
}

const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const optional = <T extends z.ZodType>(schema: T) =>
  z.preprocess((value) => (value === '' ? undefined : value), schema.optional());

const environmentSchema = z.object({
  [runnerEnv.ownerKind]: z.enum(['Merchant', 'Cart'], { error: 'must be Merchant or Cart' }),
  [runnerEnv.ownerName]: objectName,
  [runnerEnv.namespace]: namespaceName,
  [runnerEnv.merchant]: objectName,
  [runnerEnv.service]: z.enum(serviceNames, { error: `must be one of ${serviceNames.join(', ')}` }),
  [runnerEnv.batchSize]: integerIn(1, 10_000),
  [runnerEnv.endpointType]: optional(z.enum(['http'], { error: 'must be http' })),
  [runnerEnv.endpointUrl]: urlWithScheme(['http:', 'https:']),
  // A line break would let the credential inject headers; fetch would refuse it later with a less helpful error.
  [runnerEnv.endpointToken]: optional(z.string().regex(/^[^\r\n]*$/, { error: 'must not contain line breaks' })),
  [runnerEnv.databaseUrl]: urlWithScheme(['postgres:', 'postgresql:']),
  [runnerEnv.logLevel]: optional(z.enum(logLevels, { error: `must be one of ${logLevels.join(', ')}` })),
  [runnerEnv.leaseSeconds]: optional(integerIn(1, 3600)),
  [runnerEnv.sweepSeconds]: optional(integerIn(1, 3600)),
  [runnerEnv.requestTimeoutSeconds]: optional(integerIn(1, 600)),
});

export function parseRunnerConfig(
  commandLine: { mode: RunnerMode; service: ServiceName },
  env: Readonly<Record<string, string | undefined>>,
): Parsed<RunnerConfig> {
  const result = environmentSchema.safeParse(env);
  if (!result.success) {
    return { ok: false, errors: result.error.issues.map((issue) => `${String(issue.path[0])} ${issue.message}`) };
  }
  const vars = result.data;
  const service = vars[runnerEnv.service];
  const ownerKind = vars[runnerEnv.ownerKind];
  const definition = serviceCatalogue[service];
  const leaseSeconds = vars[runnerEnv.leaseSeconds] ?? 300;
  const requestTimeoutSeconds = vars[runnerEnv.requestTimeoutSeconds] ?? 30;

  const errors: string[] = [];
  if (commandLine.service !== service) {
    errors.push(`${runnerEnv.service} must agree with --service (${commandLine.service})`);
  }
  if (definition.owner !== ownerKind) {
    errors.push(`${runnerEnv.ownerKind} must be ${definition.owner} for the ${service} service`);
  }
  if (ownerKind === 'Merchant' && vars[runnerEnv.merchant] !== vars[runnerEnv.ownerName]) {
    errors.push(`${runnerEnv.merchant} must equal ${runnerEnv.ownerName} when the owner is a Merchant`);
  }
  if (commandLine.mode === 'watch' && !definition.automaticAllowed) {
    const automatic = serviceNames.filter((name) => serviceCatalogue[name].automaticAllowed);
    errors.push(`watch (Automatic) is offered only for ${automatic.join(', ')}, not ${service}`);
  }
  if (leaseSeconds <= requestTimeoutSeconds) {
    errors.push(
      `${runnerEnv.leaseSeconds} must be greater than ${runnerEnv.requestTimeoutSeconds}: a lease must outlive a request`,
    );
  }
  if (errors.length > 0) return { ok: false, errors };

  const token = vars[runnerEnv.endpointToken];
  return {
    ok: true,
    value: {
      mode: commandLine.mode,
      service,
      owner: { kind: ownerKind, namespace: vars[runnerEnv.namespace], name: vars[runnerEnv.ownerName] },
      merchant: vars[runnerEnv.merchant],
      batchSize: vars[runnerEnv.batchSize],
      endpoint: { type: 'http', url: vars[runnerEnv.endpointUrl], ...(token ? { token } : {}) },
      databaseUrl: vars[runnerEnv.databaseUrl],
      logLevel: vars[runnerEnv.logLevel] ?? 'info',
      leaseMs: leaseSeconds * 1000,
      sweepMs: (vars[runnerEnv.sweepSeconds] ?? 30) * 1000,
      requestTimeoutMs: requestTimeoutSeconds * 1000,
    },
  };
}
