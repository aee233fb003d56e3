// What the operator wants to exist for one Merchant or Cart: pure functions from the object and its service plans to
// the manifests of its children. Nothing here talks to the API server.
import type {
  V1Container,
  V1EnvVar,
  V1Job,
  V1JobSpec,
  V1OwnerReference,
  V1PodSpec,
  V1PolicyRule,
} from '@kubernetes/client-node';
import {
  hubSchemaVersion,
  runnerArgs,
  runnerCommand,
  defaultShopifyApiVersion,
  runnerEnv,
  tokenVariableOf,
  watcherProbes,
  type RunnerEndpoint,
  type WatchedService,
  type WatchTarget,
} from '../api/runner-contract.ts';
import { apiVersion, defaultBatchSize, group, kinds, type Merchant, type Owner } from '../api/v1alpha1/types.ts';
import { serviceCatalogue, type ServiceName } from '../api/v1alpha1/services.ts';
import { runDeadlineSeconds } from '../schedule/index.ts';
import type { Child } from './child-kinds.ts';
import {
  childLabels,
  childName,
  cleanupJobName,
  cleanupTimeAnnotation,
  migrateJobName,
  requestAnnotation,
  requestJobName,
  runnerBindingName,
  runnerIdentityName,
  watcherName,
  type Component,
} from './names.ts';

export type { Child } from './child-kinds.ts';

/** How the operator runs the runner: from its own configuration, the same for every object. */
export interface RunnerSettings {
  image: string;
  imagePullPolicy: 'Always' | 'IfNotPresent' | 'Never';
  /** Secrets for pulling the runner image; each must exist in the namespaces that hold Merchants. */
  imagePullSecrets: readonly string[];
  /** The Secret holding the hub store's PostgreSQL URL. */
  databaseSecret: { name: string; key: string };
  /**
   * The key, in that Secret, of the URL the migrate Job uses: a role that owns the schema, where the runners' role may
   * only read and write rows (docs/hub-store.md). The runners' key when the two share a role.
   */
  migrationSecretKey: string;
  logLevel: string;
  resources: { requests: Record<string, string>; limits: Record<string, string> };
}

/** One service of an object as the operator will run it, after validation and stagger. */
export type ServicePlan =
  | { service: ServiceName; mode: 'disabled' }
  | { service: ServiceName; mode: 'automatic'; suspended: boolean; batchSize: number }
  | { service: ServiceName; mode: 'interval'; suspended: boolean; batchSize: number; cron: string; timeZone: string };
export type AutomaticPlan = Extract<ServicePlan, { mode: 'automatic' }>;
export type IntervalPlan = Extract<ServicePlan, { mode: 'interval' }>;
/** A service that runs at all: on an interval or Automatic (suspended or not). */
export type EnabledPlan = AutomaticPlan | IntervalPlan;

export interface OwnerContext {
  owner: Owner;
  /** The merchant the records belong to: the Merchant itself, or the Cart's merchantRef. */
  merchantName: string;
  settings: RunnerSettings;
  /**
   * A Merchant's Carts (names, sorted): its runners bring the hub's cart registry in step with them. Undefined for a
   * Cart's runners, which register only their own Cart.
   */
  merchantCarts?: readonly string[];
}

/**
 * A Merchant or Cart as the merchant's watcher sees it: the Automatic services it delivers (`plans`), and the Disabled
 * delivery services whose backlog it only counts for status (`counted`).
 */
export interface WatchSource {
  owner: Owner;
  plans: readonly AutomaticPlan[];
  counted?: readonly ServiceName[];
}

function ownerReference(owner: Owner): V1OwnerReference {
  return {
    apiVersion,
    kind: owner.kind,
    name: owner.metadata.name,
    uid: owner.metadata.uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}

function endpointOf(owner: Owner) {
  return owner.kind === 'Merchant' ? owner.spec.warehouse : owner.spec.platform;
}

/**
 * Where the runner finds the owner's system: a warehouse or an http cart at its url; a Shopify shop at https://<shop>
 * (or the url given instead), with the API version resolved, so that the runner needs no default of its own.
 */
export function runnerEndpointOf(owner: Owner): RunnerEndpoint {
  if (owner.kind === 'Merchant') return { type: 'http', url: owner.spec.warehouse.url };
  const { platform } = owner.spec;
  if (platform.type === 'http') return { type: 'http', url: platform.url ?? '' };
  return {
    type: 'shopify',
    url: platform.url ?? `https://${platform.shop ?? ''}`,
    apiVersion: platform.apiVersion ?? defaultShopifyApiVersion,
    ...(platform.locationId !== undefined && { locationId: platform.locationId }),
  };
}

/** The variables that tell a run or cleanup its endpoint (the watcher gets the same in its targets). */
function endpointEnvironment(endpoint: RunnerEndpoint): V1EnvVar[] {
  const env: V1EnvVar[] = [
    { name: runnerEnv.endpointType, value: endpoint.type },
    { name: runnerEnv.endpointUrl, value: endpoint.url },
  ];
  if (endpoint.type === 'shopify') {
    env.push({ name: runnerEnv.endpointApiVersion, value: endpoint.apiVersion });
    if (endpoint.locationId !== undefined) env.push({ name: runnerEnv.endpointLocation, value: endpoint.locationId });
  }
  return env;
}

const namespaceFromPod: V1EnvVar = {
  name: runnerEnv.namespace,
  valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } },
};

/**
 * The variables every runner gets, whatever its mode: the hub store (as the role of `databaseKey`), the log level,
 * and its memory limit.
 */
function commonEnvironment(settings: RunnerSettings, databaseKey = settings.databaseSecret.key): V1EnvVar[] {
  return [
    {
      name: runnerEnv.databaseUrl,
      valueFrom: { secretKeyRef: { name: settings.databaseSecret.name, key: databaseKey } },
    },
    { name: runnerEnv.logLevel, value: settings.logLevel },
    // The image's entry point sizes V8's heap from it.
    {
      name: runnerEnv.memoryLimit,
      valueFrom: { resourceFieldRef: { containerName: 'runner', resource: 'limits.memory', divisor: '1Mi' } },
    },
  ];
}

/** A Merchant's runners get its Carts, to keep the hub's cart registry in step with them. */
function merchantCartsEnvironment(carts: readonly string[] | undefined): V1EnvVar[] {
  return carts === undefined ? [] : [{ name: runnerEnv.merchantCarts, value: JSON.stringify(carts) }];
}

/** The environment of a run or cleanup of one service. */
function singleServiceEnvironment(context: OwnerContext, service: ServiceName, batchSize: number): V1EnvVar[] {
  const { owner, settings } = context;
  const endpoint = endpointOf(owner);
  const env: V1EnvVar[] = [
    { name: runnerEnv.ownerKind, value: owner.kind },
    { name: runnerEnv.ownerName, value: owner.metadata.name },
    namespaceFromPod,
    { name: runnerEnv.merchant, value: context.merchantName },
    { name: runnerEnv.service, value: service },
    { name: runnerEnv.batchSize, value: String(batchSize) },
    ...endpointEnvironment(runnerEndpointOf(owner)),
  ];
  if (endpoint.credentialsSecretRef) {
    const { name, key } = endpoint.credentialsSecretRef;
    env.push({ name: runnerEnv.endpointToken, valueFrom: { secretKeyRef: { name, key } } });
  }
  return [...env, ...merchantCartsEnvironment(context.merchantCarts), ...commonEnvironment(settings)];
}

/** The runner container: restricted security context (non-root, read-only root, no privilege, no capabilities). */
function runnerContainer(settings: RunnerSettings, args: string[], env: V1EnvVar[]): V1Container {
  return {
    name: 'runner',
    image: settings.image,
    imagePullPolicy: settings.imagePullPolicy,
    command: [runnerCommand],
    args,
    env,
    resources: settings.resources,
    securityContext: {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
    },
  };
}

function runnerPodSpec(
  settings: RunnerSettings,
  container: V1Container,
  restartPolicy: 'Never' | 'Always',
  serviceAccountName: string | undefined,
): V1PodSpec {
  return {
    // The migrate Job reports to no object, so it gets no API credentials at all.
    ...(serviceAccountName ? { serviceAccountName } : { automountServiceAccountToken: false }),
    ...(settings.imagePullSecrets.length > 0 && {
      imagePullSecrets: settings.imagePullSecrets.map((name) => ({ name })),
    }),
    restartPolicy,
    securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
    containers: [container],
  };
}

function singleServicePodSpec(
  context: OwnerContext,
  service: ServiceName,
  mode: 'run' | 'cleanup',
  batchSize: number,
): V1PodSpec {
  const container = runnerContainer(
    context.settings,
    runnerArgs(mode, service),
    singleServiceEnvironment(context, service, batchSize),
  );
  return runnerPodSpec(context.settings, container, 'Never', runnerIdentityName(context.merchantName));
}

function childMetadata(owner: Owner, service: ServiceName | undefined, component: Component, name: string) {
  return {
    name,
    namespace: owner.metadata.namespace,
    labels: childLabels(owner.kind, owner.metadata.name, service, component),
    ownerReferences: [ownerReference(owner)],
  };
}

/** Jobs that outlive a run by this long are late; the next firing should take over. */
const startingDeadlineSeconds = 120;

function buildCronJob(context: OwnerContext, plan: IntervalPlan): Child & { kind: 'CronJob' } {
  const { owner } = context;
  const metadata = childMetadata(owner, plan.service, 'interval', childName(owner.metadata.name, plan.service));
  return {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata,
    spec: {
      schedule: plan.cron,
      timeZone: plan.timeZone,
      // The runner claims its records, but two runs of one service would only compete for them.
      concurrencyPolicy: 'Forbid',
      startingDeadlineSeconds,
      successfulJobsHistoryLimit: 3,
      failedJobsHistoryLimit: 1,
      suspend: plan.suspended,
      jobTemplate: {
        metadata: { labels: metadata.labels },
        spec: {
          // A run must end before the next is due, or that one is skipped (Forbid), and a hung one skips them all.
          activeDeadlineSeconds: runDeadlineSeconds(plan.cron),
          backoffLimit: 2,
          template: {
            metadata: { labels: metadata.labels },
            spec: singleServicePodSpec(context, plan.service, 'run', plan.batchSize),
          },
        },
      },
    },
  };
}

/** The Automatic services of one object that a watcher runs now: not disabled, not on an interval, not suspended. */
export function servedPlans(plans: readonly ServicePlan[]): AutomaticPlan[] {
  return plans.filter((plan): plan is AutomaticPlan => plan.mode === 'automatic' && !plan.suspended);
}

/**
 * The Disabled delivery services of one object, whose backlog the watcher counts: records keep arriving for them, and
 * status should show how many wait. None while the object is suspended: then nothing of it runs.
 */
export function countedServices(owner: Owner, plans: readonly ServicePlan[]): ServiceName[] {
  if (owner.spec.suspend) return [];
  return plans
    .filter((plan) => plan.mode === 'disabled' && serviceCatalogue[plan.service].automaticAllowed)
    .map((plan) => plan.service);
}

/** How the merchant's watcher sees one object. */
export function watchSourceOf(owner: Owner, plans: readonly ServicePlan[]): WatchSource {
  return { owner, plans: servedPlans(plans), counted: countedServices(owner, plans) };
}

/** What the watcher is told about one source: pure, so that a Cart can tell whether the watcher serves it yet. */
export function watchTargetOf(source: WatchSource): WatchTarget {
  const { owner } = source;
  const endpoint = endpointOf(owner);
  return {
    kind: owner.kind,
    name: owner.metadata.name,
    endpoint: {
      ...runnerEndpointOf(owner),
      ...(endpoint.credentialsSecretRef && { tokenVariable: tokenVariableOf(owner.kind, owner.metadata.name) }),
    },
    services: [
      ...source.plans.map((plan): WatchedService => ({ name: plan.service, batchSize: plan.batchSize })),
      ...(source.counted ?? []).map((service): WatchedService => ({
        name: service,
        batchSize: defaultBatchSize,
        countOnly: true,
      })),
    ],
  };
}

/**
 * The merchant's one watcher: a Deployment whose single process runs every Automatic service of the Merchant and of
 * its Carts (`sources`, the Merchant first, then the Carts by name), and counts the backlog of their Disabled delivery
 * services. None when nothing is Automatic and running, or Disabled.
 * Each owner's credential still comes from its own Secret. A change of sources rolls the pod: the new one must be
 * ready (listening) before the old one stops, and both claim records under leases, so nothing is sent twice.
 */
export function buildWatcher(
  merchant: Merchant,
  sources: readonly WatchSource[],
  settings: RunnerSettings,
  /** The Merchant's Carts; without them the watcher leaves the hub's cart registry as it is (never "no Carts"). */
  merchantCarts?: readonly string[],
): Child | undefined {
  const served = sources.filter((source) => source.plans.length > 0 || (source.counted ?? []).length > 0);
  if (served.length === 0) return undefined;
  const targets = served.map(watchTargetOf);
  const credentials = served.flatMap((source): V1EnvVar[] => {
    const secret = endpointOf(source.owner).credentialsSecretRef;
    if (!secret) return [];
    const name = tokenVariableOf(source.owner.kind, source.owner.metadata.name);
    return [{ name, valueFrom: { secretKeyRef: { name: secret.name, key: secret.key } } }];
  });
  const env: V1EnvVar[] = [
    namespaceFromPod,
    { name: runnerEnv.merchant, value: merchant.metadata.name },
    { name: runnerEnv.watchTargets, value: JSON.stringify(targets) },
    { name: runnerEnv.healthPort, value: String(watcherProbes.port) },
    ...merchantCartsEnvironment(merchantCarts),
    ...credentials,
    ...commonEnvironment(settings),
  ];
  const probe = (path: string) => ({ httpGet: { path, port: 'health' }, periodSeconds: 10 });
  const container: V1Container = {
    ...runnerContainer(settings, runnerArgs('watch'), env),
    ports: [{ name: 'health', containerPort: watcherProbes.port }],
    readinessProbe: { ...probe(watcherProbes.readinessPath), failureThreshold: 1 },
    livenessProbe: { ...probe(watcherProbes.livenessPath), failureThreshold: 3 },
  };
  const metadata = childMetadata(merchant, undefined, 'watcher', watcherName(merchant.metadata.name));
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata,
    spec: {
      replicas: 1,
      selector: { matchLabels: metadata.labels },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      template: {
        metadata: { labels: metadata.labels },
        spec: runnerPodSpec(settings, container, 'Always', runnerIdentityName(merchant.metadata.name)),
      },
    },
  };
}

/**
 * What a merchant's runners may do: patch the status of that Merchant and of its Carts (`sources`), by name, and
 * record Events. They only ever PATCH their owner's /status (server-side apply), so there is no `get`. A Cart with no
 * running service is listed too: its interval runs and cleanups report to it. A rule with no names would grant every
 * object, so without Carts there is no Cart rule.
 */
export function runnerRules(merchant: Merchant, sources: readonly WatchSource[]): V1PolicyRule[] {
  const carts = [
    ...new Set(sources.filter((source) => source.owner.kind === 'Cart').map((source) => source.owner.metadata.name)),
  ].sort();
  const statusOf = (plural: string, names: string[]): V1PolicyRule => ({
    apiGroups: [group],
    resources: [`${plural}/status`],
    verbs: ['patch'],
    resourceNames: names,
  });
  return [
    statusOf(kinds.Merchant.plural, [merchant.metadata.name]),
    ...(carts.length > 0 ? [statusOf(kinds.Cart.plural, carts)] : []),
    // A run that fails as a whole says so in a Warning Event on its owner (create cannot be limited by name).
    { apiGroups: ['events.k8s.io'], resources: ['events'], verbs: ['create'] },
  ];
}

/**
 * Each merchant's runners get an identity of their own, able to report to the status of that merchant's objects and
 * nothing else: a ServiceAccount, a Role naming those objects, and its RoleBinding. The operator may grant that Role
 * because it holds the same permissions (RBAC's escalation check); Carts coming and going change its names.
 */
function buildRunnerIdentity(merchant: Merchant, sources: readonly WatchSource[]): Child[] {
  const name = runnerIdentityName(merchant.metadata.name);
  const metadata = childMetadata(merchant, undefined, 'identity', name);
  const rbacApiVersion = 'rbac.authorization.k8s.io/v1';
  return [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata },
    { apiVersion: rbacApiVersion, kind: 'Role', metadata, rules: runnerRules(merchant, sources) },
    {
      apiVersion: rbacApiVersion,
      kind: 'RoleBinding',
      metadata: childMetadata(merchant, undefined, 'identity', runnerBindingName(merchant.metadata.name)),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
      subjects: [{ kind: 'ServiceAccount', name, namespace: merchant.metadata.namespace }],
    },
  ];
}

/**
 * The children an object owns: a CronJob per interval service, and for a Merchant the runners' identity (which its
 * Carts' runners share, and which may report to the Merchant and every Cart in `sources`) and the watcher of its and
 * its Carts' Automatic services (`sources`: the Merchant and its Carts with a valid spec).
 */
export function buildChildren(
  context: OwnerContext,
  plans: readonly ServicePlan[],
  sources: readonly WatchSource[] = [],
): Child[] {
  const cronJobs = plans.flatMap((plan) => (plan.mode === 'interval' ? [buildCronJob(context, plan)] : []));
  const { owner, settings } = context;
  if (owner.kind === 'Cart') return cronJobs;
  const watcher = buildWatcher(owner, sources, settings, context.merchantCarts);
  return [...buildRunnerIdentity(owner, sources), ...cronJobs, ...(watcher ? [watcher] : [])];
}

/** Finished cleanup Jobs delete themselves after this long; the grace for a late cleanup is shorter. */
const cleanupTtlSeconds = 2 * 3600;
/** A cleanup retries every failed record; one still going after an hour is stuck (the next is hours away). */
export const cleanupDeadlineSeconds = 3600;
/** A migration waits for the hub store (its retries take about 10 minutes) and then takes seconds. */
export const migrateDeadlineSeconds = 30 * 60;

/** A cleanup run of a service: one Job that retries every failed record and then removes itself. */
export function buildCleanupJob(context: OwnerContext, plan: EnabledPlan, scheduledFor: Date): V1Job & { kind: 'Job' } {
  const name = cleanupJobName(context.owner.metadata.name, plan.service, scheduledFor);
  const metadata = childMetadata(context.owner, plan.service, 'cleanup', name);
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { ...metadata, annotations: { [cleanupTimeAnnotation]: scheduledFor.toISOString() } },
    spec: cleanupJobSpec(context, plan, metadata.labels),
  };
}

function cleanupJobSpec(context: OwnerContext, plan: EnabledPlan, labels: Record<string, string>): V1JobSpec {
  return {
    activeDeadlineSeconds: cleanupDeadlineSeconds,
    backoffLimit: 2,
    ttlSecondsAfterFinished: cleanupTtlSeconds,
    template: {
      metadata: { labels },
      spec: singleServicePodSpec(context, plan.service, 'cleanup', plan.batchSize),
    },
  };
}

/**
 * The Job that answers a run-now or retry-now request (`value` is the annotation's) for one service. Run now: an
 * interval service runs a Job from its CronJob's template, as `kubectl create job --from=cronjob/…` would; an Automatic
 * service, which the watcher keeps sending, gets a pass that retries everything failed (a cleanup run). Retry now: a
 * cleanup run, whatever the schedule. Either removes itself two hours after it finished.
 */
export function buildRequestJob(
  context: OwnerContext,
  plan: EnabledPlan,
  request: 'run' | 'retry',
  value: string,
): V1Job & { kind: 'Job' } {
  const name = requestJobName(context.owner.metadata.name, plan.service, request, value);
  const metadata = childMetadata(context.owner, plan.service, 'request', name);
  const annotations = { [requestAnnotation]: `${request} ${value}` };
  if (request === 'run' && plan.mode === 'interval') {
    const { jobTemplate } = buildCronJob(context, plan).spec;
    return {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { ...metadata, annotations },
      spec: {
        ...jobTemplate.spec!,
        ttlSecondsAfterFinished: cleanupTtlSeconds,
        template: { ...jobTemplate.spec!.template, metadata: { labels: metadata.labels } },
      },
    };
  }
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { ...metadata, annotations },
    spec: cleanupJobSpec(context, plan, metadata.labels),
  };
}

/**
 * The migrate run of a namespace's hub store: one Job per schema version, so that migrations run once per version and
 * not at every runner start. It belongs to no Merchant (the hub store outlives them) and stays when done: its name
 * records that this version was applied, and recreating it would only run again for nothing.
 */
export function buildMigrateJob(namespace: string, settings: RunnerSettings): V1Job & { kind: 'Job' } {
  const labels = childLabels(undefined, undefined, undefined, 'migrate');
  const container = runnerContainer(
    settings,
    runnerArgs('migrate'),
    commonEnvironment(settings, settings.migrationSecretKey),
  );
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: migrateJobName(hubSchemaVersion), namespace, labels },
    spec: {
      // Retried for about 10 minutes (the hub store may be starting too); the runners wait for it meanwhile.
      activeDeadlineSeconds: migrateDeadlineSeconds,
      backoffLimit: 6,
      template: { metadata: { labels }, spec: runnerPodSpec(settings, container, 'Never', undefined) },
    },
  };
}
