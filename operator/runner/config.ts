// The runner's command line and environment, validated up front: a bad value stops the runner with a message that
// names the variable and the rule, and never echoes a value (the tokens and the database URL are secrets).
import { parseArgs } from 'node:util';
import { z } from 'zod';
import {
  defaultShopifyApiVersion,
  runnerEnv,
  runnerModes,
  type RunnerEndpoint,
  type RunnerMode,
  type SingleServiceMode,
  watcherProbes,
} from '../api/runner-contract.ts';
import {
  isServiceName,
  serviceCatalogue,
  serviceNames,
  type OwnerKind,
  type ServiceName,
} from '../api/v1alpha1/services.ts';

export type { RunnerMode } from '../api/runner-contract.ts';

/** The Merchant or Cart whose service this runner performs. */
export interface OwnerRef {
  readonly kind: OwnerKind;
  readonly namespace: string;
  readonly name: string;
}

/** An external system with the credential the runner presents to it. */
export type Endpoint = RunnerEndpoint & { readonly token?: string };

interface CommonConfig {
  readonly databaseUrl: string;
  readonly logLevel: string;
}

interface DeliveryTimings {
  readonly leaseMs: number;
  readonly requestTimeoutMs: number;
}

/** An interval run or a cleanup run of one service. */
export interface ServiceRunConfig extends CommonConfig, DeliveryTimings {
  readonly mode: SingleServiceMode;
  readonly service: ServiceName;
  readonly owner: OwnerRef;
  /** The merchant the records belong to: the owner itself, or the Cart's merchant. */
  readonly merchant: string;
  readonly batchSize: number;
  readonly endpoint: Endpoint;
  /**
   * A Merchant's run or cleanup: the Merchant's Carts, to retire from the hub's cart registry those deleted or moved
   * away. Undefined for a Cart's, and when the pod template predates the variable (then the registry is left alone).
   */
  readonly merchantCarts?: readonly string[];
}

/** One service a watcher serves: delivered (Automatic), or only counted (Disabled, `countOnly`). */
export interface WatchedServiceConfig {
  readonly service: ServiceName;
  readonly batchSize: number;
  readonly countOnly?: true;
}

/** One owner a watcher serves: its endpoint and its Automatic (and counted Disabled) delivery services. */
export interface WatchedOwner {
  readonly owner: OwnerRef;
  readonly endpoint: Endpoint;
  readonly services: readonly WatchedServiceConfig[];
}

/** A merchant's watcher: every Automatic service of the Merchant and its Carts. */
export interface WatchConfig extends CommonConfig, DeliveryTimings {
  readonly mode: 'watch';
  readonly merchant: string;
  readonly namespace: string;
  readonly owners: readonly WatchedOwner[];
  readonly sweepMs: number;
  readonly healthPort: number;
  /** The Merchant's Carts (see ServiceRunConfig); undefined when the pod template predates the variable. */
  readonly merchantCarts?: readonly string[];
}

export interface MigrateConfig extends CommonConfig {
  readonly mode: 'migrate';
}

export type RunnerConfig = ServiceRunConfig | WatchConfig | MigrateConfig;

export type Parsed<T> = { ok: true; value: T } | { ok: false; errors: string[] };

export interface CommandLine {
  readonly mode: RunnerMode;
  /** Only for run and cleanup. */
  readonly service?: ServiceName;
}

export const usage =
  `usage: switchyard-runner <run|cleanup> --service <${serviceNames.join('|')}>\n` +
  '       switchyard-runner watch\n' +
  '       switchyard-runner migrate';

const takesService = (mode: RunnerMode): mode is SingleServiceMode => mode === 'run' || mode === 'cleanup';

export function parseCommandLine(argv: readonly string[]): Parsed<CommandLine> {
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
  if (!mode || !(runnerModes as readonly string[]).includes(mode) || extra.length > 0) {
    return { ok: false, errors: [`expected exactly one mode: ${runnerModes.join(', ')}`, usage] };
  }
  const service = parsed.values.service;
  if (!takesService(mode as RunnerMode)) {
    if (service !== undefined)
      return { ok: false, errors: [`${mode} serves no single service: drop --service`, usage] };
    return { ok: true, value: { mode: mode as RunnerMode } };
  }
  if (service === undefined || !isServiceName(service)) {
    return { ok: false, errors: [`--service must be one of ${serviceNames.join(', ')}`, usage] };
  }
  return { ok: true, value: { mode: mode as RunnerMode, service } };
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
// A line break would let the credential inject headers; the HTTP client would refuse it later, less helpfully.
const token = optional(z.string().regex(/^[^\r\n]*$/, { error: 'must not contain line breaks' }));
const endpointType = z.enum(['http', 'shopify'], { error: 'must be http or shopify' });
const shopifyApiVersion = z
  .string()
  .regex(/^\d{4}-(01|04|07|10)$/, { error: 'must be a Shopify API release such as 2026-10' });
const httpUrl = urlWithScheme(['http:', 'https:']);

/** A variable holding JSON that must match `schema`. */
function jsonOf<T extends z.ZodType>(schema: T) {
  return z
    .string({ error: 'is required' })
    .transform((text, context) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        context.addIssue({ code: 'custom', message: 'must be JSON' });
        return z.NEVER;
      }
    })
    .pipe(schema);
}

// The operator writes the Merchant's Carts for its runs, cleanups and watcher; an older operator's pod templates have
// none, and those runners still run (without bringing the cart registry in step).
const merchantCarts = optional(
  jsonOf(
    z.array(z.string({ error: 'must be a Cart name' }).pipe(objectName), { error: 'must be a list of Cart names' }),
  ),
);

const commonSchema = z.object({
  [runnerEnv.databaseUrl]: urlWithScheme(['postgres:', 'postgresql:']),
  [runnerEnv.logLevel]: optional(z.enum(logLevels, { error: `must be one of ${logLevels.join(', ')}` })),
});
const timingsSchema = z.object({
  [runnerEnv.leaseSeconds]: optional(integerIn(1, 3600)),
  [runnerEnv.requestTimeoutSeconds]: optional(integerIn(1, 600)),
});

const serviceRunSchema = commonSchema.extend(timingsSchema.shape).extend({
  [runnerEnv.ownerKind]: z.enum(['Merchant', 'Cart'], { error: 'must be Merchant or Cart' }),
  [runnerEnv.ownerName]: objectName,
  [runnerEnv.namespace]: namespaceName,
  [runnerEnv.merchant]: objectName,
  [runnerEnv.service]: z.enum(serviceNames, { error: `must be one of ${serviceNames.join(', ')}` }),
  [runnerEnv.batchSize]: integerIn(1, 10_000),
  [runnerEnv.endpointType]: optional(endpointType),
  [runnerEnv.endpointUrl]: httpUrl,
  [runnerEnv.endpointToken]: token,
  [runnerEnv.endpointApiVersion]: optional(shopifyApiVersion),
  [runnerEnv.endpointLocation]: optional(z.string().min(1).max(128)),
  [runnerEnv.merchantCarts]: merchantCarts,
});

// The services a watcher can serve are the delivery services: those that offer Automatic.
const automaticServices = serviceNames.filter((name) => serviceCatalogue[name].automaticAllowed);
const watchTargetSchema = z.strictObject({
  kind: z.enum(['Merchant', 'Cart'], { error: 'must be Merchant or Cart' }),
  name: objectName,
  endpoint: z.strictObject({
    type: endpointType,
    url: z.string().refine((value) => httpUrl.safeParse(value).success, { error: 'must be an http(s) URL' }),
    apiVersion: shopifyApiVersion.optional(),
    locationId: z.string().min(1).max(128).optional(),
    tokenVariable: z
      .string()
      .regex(/^SWITCHYARD_ENDPOINT_TOKEN_\w+$/, { error: `must name a ${runnerEnv.endpointToken}_… variable` })
      .optional(),
  }),
  services: z
    .array(
      z.strictObject({
        name: z.enum(automaticServices, { error: `must be one of ${automaticServices.join(', ')}` }),
        batchSize: z.int().min(1).max(10_000),
        countOnly: z.literal(true, { error: 'must be true when present' }).optional(),
      }),
    )
    .min(1, { error: 'must name at least one service' }),
});
const watchTargetsSchema = jsonOf(z.array(watchTargetSchema).min(1, { error: 'must name at least one target' }));

const watchSchema = commonSchema.extend(timingsSchema.shape).extend({
  [runnerEnv.namespace]: namespaceName,
  [runnerEnv.merchant]: objectName,
  [runnerEnv.watchTargets]: watchTargetsSchema,
  [runnerEnv.sweepSeconds]: optional(integerIn(1, 3600)),
  [runnerEnv.healthPort]: optional(integerIn(0, 65_535)),
  [runnerEnv.merchantCarts]: merchantCarts,
});

type Env = Readonly<Record<string, string | undefined>>;

function issuesOf(error: z.ZodError): string[] {
  return error.issues.map((issue) => {
    const [variable, ...path] = issue.path;
    return `${String(variable)}${path.length > 0 ? ` ${path.join('.')}` : ''} ${issue.message}`;
  });
}

function timings(vars: z.infer<typeof timingsSchema>): Parsed<DeliveryTimings> {
  const leaseSeconds = vars[runnerEnv.leaseSeconds] ?? 300;
  const requestTimeoutSeconds = vars[runnerEnv.requestTimeoutSeconds] ?? 30;
  if (leaseSeconds <= requestTimeoutSeconds) {
    return {
      ok: false,
      errors: [
        `${runnerEnv.leaseSeconds} must be greater than ${runnerEnv.requestTimeoutSeconds}: a lease must outlive a request`,
      ],
    };
  }
  return { ok: true, value: { leaseMs: leaseSeconds * 1000, requestTimeoutMs: requestTimeoutSeconds * 1000 } };
}

/**
 * The endpoint as the runner uses it. A Shopify endpoint without its API version falls back to the default of this
 * release: the operator always sets it, so that only a hand-made environment lacks it.
 */
function endpointOf(fields: {
  type: 'http' | 'shopify';
  url: string;
  apiVersion?: string | undefined;
  locationId?: string | undefined;
}): RunnerEndpoint {
  if (fields.type === 'http') return { type: 'http', url: fields.url };
  return {
    type: 'shopify',
    url: fields.url,
    apiVersion: fields.apiVersion ?? defaultShopifyApiVersion,
    ...(fields.locationId !== undefined && { locationId: fields.locationId }),
  };
}

function parseServiceRun(mode: SingleServiceMode, service: ServiceName, env: Env): Parsed<ServiceRunConfig> {
  const result = serviceRunSchema.safeParse(env);
  if (!result.success) return { ok: false, errors: issuesOf(result.error) };
  const vars = result.data;
  const ownerKind = vars[runnerEnv.ownerKind];
  const definition = serviceCatalogue[vars[runnerEnv.service]];
  const errors: string[] = [];
  if (service !== vars[runnerEnv.service]) {
    errors.push(`${runnerEnv.service} must agree with --service (${service})`);
  }
  if (definition.owner !== ownerKind) {
    errors.push(`${runnerEnv.ownerKind} must be ${definition.owner} for the ${definition.name} service`);
  }
  if (ownerKind === 'Merchant' && vars[runnerEnv.merchant] !== vars[runnerEnv.ownerName]) {
    errors.push(`${runnerEnv.merchant} must equal ${runnerEnv.ownerName} when the owner is a Merchant`);
  }
  const timed = timings(vars);
  if (!timed.ok) errors.push(...timed.errors);
  if (errors.length > 0 || !timed.ok) return { ok: false, errors };
  const endpointToken = vars[runnerEnv.endpointToken];
  // A Cart's runners register their own Cart and leave the Merchant's list alone.
  const carts = ownerKind === 'Merchant' ? vars[runnerEnv.merchantCarts] : undefined;
  return {
    ok: true,
    value: {
      mode,
      service,
      owner: { kind: ownerKind, namespace: vars[runnerEnv.namespace], name: vars[runnerEnv.ownerName] },
      merchant: vars[runnerEnv.merchant],
      batchSize: vars[runnerEnv.batchSize],
      endpoint: {
        ...endpointOf({
          type: vars[runnerEnv.endpointType] ?? 'http',
          url: vars[runnerEnv.endpointUrl],
          apiVersion: vars[runnerEnv.endpointApiVersion],
          locationId: vars[runnerEnv.endpointLocation],
        }),
        ...(endpointToken ? { token: endpointToken } : {}),
      },
      databaseUrl: vars[runnerEnv.databaseUrl],
      logLevel: vars[runnerEnv.logLevel] ?? 'info',
      ...timed.value,
      ...(carts && { merchantCarts: carts }),
    },
  };
}

function parseWatch(env: Env): Parsed<WatchConfig> {
  const result = watchSchema.safeParse(env);
  if (!result.success) return { ok: false, errors: issuesOf(result.error) };
  const vars = result.data;
  const targets = vars[runnerEnv.watchTargets];
  const merchant = vars[runnerEnv.merchant];
  const namespace = vars[runnerEnv.namespace];
  const carts = vars[runnerEnv.merchantCarts];
  const errors: string[] = [];
  const seen = new Set<string>();
  const owners = targets.map((target, index): WatchedOwner => {
    const where = `${runnerEnv.watchTargets} [${index}] (${target.kind} ${target.name})`;
    if (seen.has(`${target.kind}/${target.name}`)) errors.push(`${where} is listed twice`);
    seen.add(`${target.kind}/${target.name}`);
    if (target.kind === 'Merchant' && target.name !== merchant) {
      errors.push(`${where} must be the watcher's own merchant ${merchant}`);
    }
    // The watcher retires the carts not listed before it registers its targets: a target left out would flap.
    if (target.kind === 'Cart' && carts !== undefined && !carts.includes(target.name)) {
      errors.push(`${where} must be among ${runnerEnv.merchantCarts}`);
    }
    for (const { name } of target.services) {
      if (serviceCatalogue[name].owner !== target.kind)
        errors.push(`${where}: ${name} is not a ${target.kind} service`);
    }
    const { tokenVariable } = target.endpoint;
    const tokenValue = tokenVariable === undefined ? undefined : env[tokenVariable];
    if (tokenVariable !== undefined && !token.safeParse(tokenValue).success) {
      errors.push(`${tokenVariable} must not contain line breaks`);
    }
    return {
      owner: { kind: target.kind, namespace, name: target.name },
      endpoint: { ...endpointOf(target.endpoint), ...(tokenValue ? { token: tokenValue } : {}) },
      services: target.services.map(({ name, batchSize, countOnly }) => ({
        service: name,
        batchSize,
        ...(countOnly && { countOnly }),
      })),
    };
  });
  const timed = timings(vars);
  if (!timed.ok) errors.push(...timed.errors);
  if (errors.length > 0 || !timed.ok) return { ok: false, errors };
  return {
    ok: true,
    value: {
      mode: 'watch',
      merchant,
      namespace,
      owners,
      databaseUrl: vars[runnerEnv.databaseUrl],
      logLevel: vars[runnerEnv.logLevel] ?? 'info',
      sweepMs: (vars[runnerEnv.sweepSeconds] ?? 30) * 1000,
      healthPort: vars[runnerEnv.healthPort] ?? watcherProbes.port,
      ...timed.value,
      ...(carts && { merchantCarts: carts }),
    },
  };
}

export function parseRunnerConfig(commandLine: CommandLine, env: Env): Parsed<RunnerConfig> {
  const { mode, service } = commandLine;
  if (mode === 'watch') return parseWatch(env);
  if (mode === 'migrate') {
    const result = commonSchema.safeParse(env);
    if (!result.success) return { ok: false, errors: issuesOf(result.error) };
    return {
      ok: true,
      value: {
        mode,
        databaseUrl: result.data[runnerEnv.databaseUrl],
        logLevel: result.data[runnerEnv.logLevel] ?? 'info',
      },
    };
  }
  if (service === undefined) return { ok: false, errors: [`${mode} needs --service`, usage] };
  return parseServiceRun(mode, service, env);
}
