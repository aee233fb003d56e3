// The contract between the operator's pod templates and the runner: the runner's modes, their command lines, and the
// environment each runner container gets. The operator writes these; the runner reads and validates them. Keep both
// sides on this module (test/unit/runner/hand-off.test.ts feeds one side's output into the other side's parser).
import { createHash } from 'node:crypto';
import type { OwnerKind, ServiceName } from './v1alpha1/services.ts';

/** The runner's command in the image. */
export const runnerCommand = 'switchyard-runner';

/**
 * run      one interval run of one service (a CronJob's Job);
 * cleanup  one cleanup run of one service (a cleanup Job);
 * watch    every Automatic service of a Merchant and its Carts, until stopped (the Merchant's watcher Deployment);
 * migrate  brings the hub store's schema up to date (a Job per namespace and schema version).
 */
export const runnerModes = ['run', 'cleanup', 'watch', 'migrate'] as const;
export type RunnerMode = (typeof runnerModes)[number];
/** The modes that serve one service, named by `--service`. */
export type SingleServiceMode = 'run' | 'cleanup';

export function runnerArgs(mode: SingleServiceMode, service: ServiceName): string[];
export function runnerArgs(mode: 'watch' | 'migrate'): string[];
export function runnerArgs(mode: RunnerMode, service?: ServiceName): string[] {
  return service === undefined ? [mode] : [mode, '--service', service];
}

export const runnerEnv = {
  /** Merchant or Cart: the kind of the object whose service this workload runs (run and cleanup). */
  ownerKind: 'SWITCHYARD_OWNER_KIND',
  /** The Merchant's or Cart's name (run and cleanup). */
  ownerName: 'SWITCHYARD_OWNER_NAME',
  /** The namespace of the owner (the pod's own, from the downward API). */
  namespace: 'SWITCHYARD_NAMESPACE',
  /** The merchant the records belong to: the owner itself, or a Cart's spec.merchantRef.name. */
  merchant: 'SWITCHYARD_MERCHANT',
  /** The service this workload runs (one of serviceNames); `--service` on the command line must agree. */
  service: 'SWITCHYARD_SERVICE',
  /** Records per batch (a positive integer). */
  batchSize: 'SWITCHYARD_BATCH_SIZE',
  /** The connector type of the external system this service talks to (`http` or `shopify`). */
  endpointType: 'SWITCHYARD_ENDPOINT_TYPE',
  /** The base URL of that system (the merchant's warehouse, or the cart's platform). */
  endpointUrl: 'SWITCHYARD_ENDPOINT_URL',
  /** The credential for that system, from the referenced Secret's key (optional: absent when no Secret is set). */
  endpointToken: 'SWITCHYARD_ENDPOINT_TOKEN',
  /** shopify: the Admin API version to call (the Cart's, or the default the operator fills in). */
  endpointApiVersion: 'SWITCHYARD_ENDPOINT_API_VERSION',
  /** shopify (optional): the location whose inventory Inventory Upload sets. */
  endpointLocation: 'SWITCHYARD_ENDPOINT_LOCATION',
  /** watch: what the watcher serves, as JSON: a list of WatchTarget. */
  watchTargets: 'SWITCHYARD_WATCH_TARGETS',
  /**
   * A Merchant's runners (its runs, cleanups and watcher): the names of the Merchant's Carts, as a JSON list. At start
   * the runner brings the hub's cart registry in step with it: a Cart deleted or moved to another Merchant is retired
   * (its open deliveries closed), so the hub follows the Kubernetes objects without the operator reading the hub.
   */
  merchantCarts: 'SWITCHYARD_MERCHANT_CARTS',
  /** watch: the port of /readyz and /healthz (default 8080; 0 picks a free one, for local processes). */
  healthPort: 'SWITCHYARD_HEALTH_PORT',
  /** The hub store's PostgreSQL connection string, from the operator's configured Secret. */
  databaseUrl: 'SWITCHYARD_DATABASE_URL',
  /** Log level (pino). */
  logLevel: 'SWITCHYARD_LOG_LEVEL',
  /** The container's memory limit in MiB (downward API), read by the image's entry point to size V8's heap. */
  memoryLimit: 'CONTAINER_MEMORY_LIMIT_MIB',
  /** Optional: seconds a claimed batch stays leased to one runner before another may take it over (default 300). */
  leaseSeconds: 'SWITCHYARD_LEASE_SECONDS',
  /** Optional: seconds between Automatic mode's checks for work whose notification was missed (default 30). */
  sweepSeconds: 'SWITCHYARD_SWEEP_SECONDS',
  /** Optional: timeout of one request to the endpoint, in seconds (default 30; less than the lease). */
  requestTimeoutSeconds: 'SWITCHYARD_REQUEST_TIMEOUT_SECONDS',
} as const;

/**
 * The Shopify Admin API version a Cart uses unless it names one: the latest stable release when this version of
 * Switchyard was built against Shopify's documentation (https://shopify.dev/docs/api/usage/versioning: a release each
 * quarter, each supported for at least 12 months; 2027-01 was still a release candidate). A Cart may pin another.
 */
export const defaultShopifyApiVersion = '2026-10';

/** An external system as a runner is told it: the connector type, where it is, and, for Shopify, what to call. */
export type RunnerEndpoint =
  | { readonly type: 'http'; readonly url: string }
  | { readonly type: 'shopify'; readonly url: string; readonly apiVersion: string; readonly locationId?: string };

/** One Merchant or Cart whose Automatic services a watcher serves. */
export interface WatchTarget {
  readonly kind: OwnerKind;
  readonly name: string;
  readonly endpoint: RunnerEndpoint & {
    /** The variable holding the credential (from the owner's own Secret), when the owner names one. */
    readonly tokenVariable?: string;
  };
  readonly services: readonly WatchedService[];
}

/**
 * A delivery service a watcher serves: Automatic ones it delivers; Disabled ones (`countOnly`) it only counts, so that
 * the backlog that builds while a service is Disabled shows in status.
 */
export interface WatchedService {
  readonly name: ServiceName;
  readonly batchSize: number;
  readonly countOnly?: true;
}

/**
 * The variable that carries one owner's credential in a watcher. Derived from the owner alone, so that an owner's
 * target reads the same whatever else the watcher serves (names may hold `-` and `.`, which variables should not).
 */
export function tokenVariableOf(kind: OwnerKind, name: string): string {
  const digest = createHash('sha256').update(`${kind}/${name}`).digest('hex').slice(0, 12).toUpperCase();
  return `${runnerEnv.endpointToken}_${digest}`;
}

/** The watcher's probes: ready once it listens for every target's work; alive while that listening holds. */
export const watcherProbes = { port: 8080, readinessPath: '/readyz', livenessPath: '/healthz' } as const;

/**
 * The hub store's schema version this release needs (the newest migration). The operator names its migrate Jobs by
 * it; runners wait for it. test/unit/runner/hand-off.test.ts checks it against the migrations.
 */
export const hubSchemaVersion = 3;

/**
 * The prefix of the field managers under which runners report to their owner's status, one per service
 * (`switchyard-runner/<service>`), so that each service's runner owns its own entry. The operator never writes these.
 */
export const runnerFieldManager = 'switchyard-runner';
