// The reconcile of one Merchant or Cart: read from the caches, decide with the pure modules, write only what differs.
import { createHash } from 'node:crypto';
import type { KubernetesObject, V1Job, V1Pod } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { hubSchemaVersion } from '../api/runner-contract.ts';
import { conditionReasons as reasons, conditionTypes } from '../api/v1alpha1/conditions.ts';
import type { OwnerKind } from '../api/v1alpha1/services.ts';
import type { Cart, Merchant, Owner, OwnerStatus, ServiceStatus } from '../api/v1alpha1/types.ts';
import { dueCleanup, nextCleanupTimes, nextRunTimes } from '../schedule/index.ts';
import { appliedKinds, type AppliedKind, type Child, type ObservedChildren } from './child-kinds.ts';
import { isSameJson, isSubset } from './compare.ts';
import type { Verdict } from './conditions.ts';
import {
  buildChildren,
  buildCleanupJob,
  buildMigrateJob,
  buildRequestJob,
  watchSourceOf,
  type OwnerContext,
  type RunnerSettings,
  type ServicePlan,
  type WatchSource,
} from './desired.ts';
import { deliveryHealth, judgedPeriods, type ServicePeriod } from './health.ts';
import { childName, cleanupTimeAnnotation, componentLabel, migrateJobName, watcherName } from './names.ts';
import { nameConflictMessage, ownershipOf } from './ownership.ts';
import { planServices, scheduleSeed } from './plan.ts';
import {
  computeStatus,
  operatorStatusOf,
  statusChanges,
  statusWriteCause,
  type ServiceObservation,
  type StatusWriteCause,
} from './status.ts';
import { meansOwnerGone, RequestError } from './request-error.ts';
import { pendingRequest, planRequest, requestedServices, requestKinds, type RequestKind } from './requests.ts';
import { runServicesAnnotation } from '../api/v1alpha1/annotations.ts';
import { watcherHealth, watcherUnavailableAfterMs, type WatcherHealth } from './watcher-health.ts';
import { watcherServes, watcherTargets } from './watcher-rollout.ts';

export type { ObservedChildren } from './child-kinds.ts';

export interface OwnerRef {
  kind: OwnerKind;
  namespace: string;
  name: string;
}

/** What the reconcile reads: the informers' caches. */
export interface ClusterView {
  getOwner(ref: OwnerRef): Owner | undefined;
  childrenOf(ref: OwnerRef): ObservedChildren;
  /** The Carts whose merchantRef names this Merchant. */
  cartsOf(merchant: OwnerRef): Cart[];
  /** A Job the operator created (cleanup and migrate runs), by name. */
  getJob(namespace: string, name: string): V1Job | undefined;
  /** The pods of the Merchant's watcher Deployment, with their status (why they do not run, when they do not). */
  watcherPodsOf(merchant: OwnerRef): V1Pod[];
}

/**
 * What the reconcile writes, each call one API request. A failed request throws a RequestError: one stable sentence
 * from the API's answer.
 */
export interface ClusterWriter {
  applyChild(child: Child): Promise<void>;
  /**
   * Reads an object straight from the API server: only for a child the caches do not hold, to see, before the first
   * apply, whether something else already has its name. Undefined when there is none.
   */
  readChild(kind: AppliedKind, namespace: string, name: string): Promise<KubernetesObject | undefined>;
  deleteChild(kind: AppliedKind | 'Job', namespace: string, name: string): Promise<void>;
  /** Creates a Job; false when a Job of that name exists already (it ran). */
  createJob(job: V1Job & { kind: 'Job' }): Promise<boolean>;
  applyStatus(owner: Owner, status: OwnerStatus): Promise<void>;
}

/** One Event about a Merchant or Cart, as events.k8s.io has it. */
export interface OwnerEvent {
  type: 'Normal' | 'Warning';
  /** Why: a CamelCase reason (Created, Restored, CleanupStarted, a condition's reason, ...). */
  reason: string;
  /** What the operator did, or failed to do: Create, Update, Delete, StartJob, Reconcile. */
  action: 'Create' | 'Update' | 'Delete' | 'StartJob' | 'Reconcile';
  note: string;
}

export interface EventRecorder {
  record(owner: Owner, event: OwnerEvent): void;
}

export interface ReconcileContext {
  view: ClusterView;
  writer: ClusterWriter;
  events: EventRecorder;
  settings: RunnerSettings;
  now: () => Date;
  log: Logger;
  onCleanupStarted: () => void;
  onStatusWritten: (cause: StatusWriteCause) => void;
  /**
   * The status last written per object (by ownerKey), as JSON: the cache may still hold an older status than the last
   * write, and a status that equals that older one must then be written again, or the last write would stand.
   */
  lastStatusWritten: Map<string, string>;
  /**
   * Per object (by ownerKey), a digest of each child as last applied: a child that differs from the cache while what is
   * wanted has not changed was changed by someone else, and is restored rather than updated. A digest, not the JSON: a
   * watcher's spec is kilobytes, and thousands of children are remembered.
   */
  lastApplied: Map<string, Map<string, string>>;
  /**
   * Per object (by ownerKey), the period of each service the operator judges, as last planned; absent while the object
   * does not plan (its Merchant missing, its spec invalid). The operator's metrics export them: a scrape then plans
   * nothing itself.
   */
  servicePeriods: Map<string, readonly ServicePeriod[]>;
}

/** The key of an object in the work queue and the context's memories. */
export function ownerKey(ref: OwnerRef): string {
  return `${ref.kind}/${ref.namespace}/${ref.name}`;
}

export function ownerRefOf(owner: Owner): OwnerRef {
  return { kind: owner.kind, namespace: owner.metadata.namespace, name: owner.metadata.name };
}

export interface Outcome {
  /** Reconcile again after this long even if nothing changes: the next cleanup time. */
  requeueAfterMs?: number;
}

/** One write to a child, as data: log lines and Events are made from it. */
export interface ChildChange {
  kind: AppliedKind;
  name: string;
  action: 'created' | 'updated' | 'restored' | 'deleted';
}

const childEvents: Record<ChildChange['action'], Pick<OwnerEvent, 'reason' | 'action'> & { says: string }> = {
  created: { reason: 'Created', action: 'Create', says: 'Created' },
  updated: { reason: 'Updated', action: 'Update', says: 'Updated' },
  restored: { reason: 'Restored', action: 'Update', says: 'Restored' },
  deleted: { reason: 'Deleted', action: 'Delete', says: 'Deleted' },
};

function recordChildChange(context: ReconcileContext, owner: Owner, change: ChildChange, why: string): void {
  const { reason, action, says } = childEvents[change.action];
  context.events.record(owner, { type: 'Normal', reason, action, note: `${says} ${change.kind} ${change.name}${why}` });
}

const changeReasons: Record<ChildChange['action'], string> = {
  created: '',
  updated: ' to what the spec and its Carts now ask for',
  restored: ', which was changed outside Switchyard',
  deleted: ' (replaced or disabled)',
};

const toDate = (value: Date | string | undefined) => (value === undefined ? undefined : new Date(value));

function appliedChildren(observed: ObservedChildren): { kind: AppliedKind; object: KubernetesObject }[] {
  return appliedKinds.flatMap((kind) => observed[kind].map((object: KubernetesObject) => ({ kind, object })));
}

/** An object in the way of a child: someone else's, named with whose it is. */
interface NameConflict {
  kind: AppliedKind;
  name: string;
  holder: string;
}

interface SyncResult {
  changes: ChildChange[];
  /** Objects of others that bear a child's name: left exactly as they are. */
  conflicts: NameConflict[];
  /** Children of a deleted object of the same kind and name, which the garbage collector is removing. */
  leftovers: string[];
  /** The runner identity's name is taken: nothing that would run as it (workloads, cleanups) was written. */
  identityBlocked: boolean;
}

/**
 * Applies each child that is missing or differs from what is wanted, and deletes the unwanted, except those `keep`
 * spares for now; returns what changed. Only objects this owner controls are ever written or deleted: a child the
 * caches do not hold is looked up first, and if that name is taken by anything else, it is reported and left alone
 * (the operator never adopts). Checking before the first apply rather than creating with POST keeps every field with
 * one apply manager, so that a field later dropped from the wanted object is removed.
 */
async function syncChildren(
  desired: Child[],
  observed: ObservedChildren,
  context: ReconcileContext,
  owner: Owner,
  keep: (kind: AppliedKind, object: KubernetesObject) => boolean,
): Promise<SyncResult> {
  const result: SyncResult = { changes: [], conflicts: [], leftovers: [], identityBlocked: false };
  const existing = appliedChildren(observed);
  const find = (kind: AppliedKind, name: string | undefined) =>
    existing.find((entry) => entry.kind === kind && entry.object.metadata?.name === name);
  const { namespace } = owner.metadata;
  const applied = context.lastApplied.get(ownerKey(ownerRefOf(owner))) ?? new Map<string, string>();
  context.lastApplied.set(ownerKey(ownerRefOf(owner)), applied);
  for (const child of desired) {
    const name = child.metadata!.name!;
    const identity = child.metadata?.labels?.[componentLabel] === 'identity';
    // The identity comes first. Once any of it is someone else's, nothing more is written: no binding may grant to
    // (or from) what is not ours, and no pod may run as it.
    if (result.identityBlocked) continue;
    const cached = find(child.kind, name)?.object;
    const current = cached ?? (await context.writer.readChild(child.kind, namespace, name));
    if (current) {
      const ownership = ownershipOf(current, owner);
      if (ownership.state === 'predecessor') {
        result.leftovers.push(`${child.kind} ${name}`);
        continue;
      }
      if (ownership.state === 'foreign') {
        // The caches drop field managers: read the object to say who manages it.
        const described =
          cached && !current.metadata?.ownerReferences?.length
            ? ownershipOf((await context.writer.readChild(child.kind, namespace, name)) ?? current, owner)
            : ownership;
        const holder = described.state === 'foreign' ? described.holder : ownership.holder;
        result.conflicts.push({ kind: child.kind, name, holder });
        if (identity) result.identityBlocked = true;
        continue;
      }
      // The caches' copy, or, when the caches do not have it yet (a write of ours they have not seen), the API's.
      if (isSubset(child, cached ?? current)) continue;
    }
    const wanted = createHash('sha256').update(JSON.stringify(child)).digest('base64');
    const restored = current !== undefined && applied.get(`${child.kind}/${name}`) === wanted;
    await context.writer.applyChild(child);
    applied.set(`${child.kind}/${name}`, wanted);
    const change: ChildChange = {
      kind: child.kind,
      name,
      action: current === undefined ? 'created' : restored ? 'restored' : 'updated',
    };
    result.changes.push(change);
    recordChildChange(context, owner, change, changeReasons[change.action]);
  }
  // A service that changed mode or was disabled, or a watcher of the older one-per-service shape, is not wanted.
  for (const { kind, object } of existing) {
    if (desired.some((child) => child.kind === kind && child.metadata?.name === object.metadata?.name)) continue;
    if (keep(kind, object)) continue;
    // Labelled as ours is not enough: only what this owner controls is deleted.
    if (ownershipOf(object, owner).state !== 'ours') continue;
    await context.writer.deleteChild(kind, object.metadata!.namespace!, object.metadata!.name!);
    applied.delete(`${kind}/${object.metadata!.name!}`);
    const change: ChildChange = { kind, name: object.metadata!.name!, action: 'deleted' };
    result.changes.push(change);
    recordChildChange(context, owner, change, changeReasons.deleted);
  }
  return result;
}

function lastCleanupTime(service: string, jobs: V1Job[], status: OwnerStatus | undefined): Date | undefined {
  const times = jobs
    .filter((job) => job.metadata?.labels?.['switchyard.dev/service'] === service)
    .map((job) => job.metadata?.annotations?.[cleanupTimeAnnotation])
    .filter((time): time is string => time !== undefined)
    .map((time) => new Date(time).getTime());
  const reported = status?.services?.find((entry) => entry.name === service)?.cleanup?.lastTime;
  if (reported) times.push(new Date(reported).getTime());
  return times.length > 0 ? new Date(Math.max(...times)) : undefined;
}

type CleanupTimes = Map<string, { nextTimes: Date[]; lastTime?: Date }>;

/** The failed records a service's runner last reported. */
function failedRecordsOf(status: OwnerStatus | undefined, service: string): number {
  return status?.services?.find((entry) => entry.name === service)?.failedRecords?.count ?? 0;
}

/**
 * Starts the cleanup Jobs that are due; returns each enabled service's cleanup times. Every enabled service has two
 * cleanup times a day, and a cleanup runs at its time only when the service has failed records: for an Automatic
 * service it is how failures are retried besides new records arriving (the hub's rule), for an interval service how
 * records that need a person are retried without sending them again at every run. A slot skipped for want of failures
 * may still run within its grace, should failures be reported meanwhile.
 */
async function runDueCleanups(
  ownerContext: OwnerContext,
  plans: ServicePlan[],
  timeZone: string,
  observed: ObservedChildren,
  context: ReconcileContext,
  now: Date,
): Promise<CleanupTimes> {
  const { owner } = ownerContext;
  const cleanups: CleanupTimes = new Map();
  for (const plan of plans) {
    if (plan.mode === 'disabled') continue;
    const seed = scheduleSeed(owner, plan.service);
    let lastTime = lastCleanupTime(plan.service, observed.Job, owner.status);
    // A cleanup slot that passed before the object existed is not a missed cleanup: there was nothing to clean.
    const created = toDate(owner.metadata.creationTimestamp);
    const dueAfter = lastTime && created && lastTime > created ? lastTime : (created ?? lastTime);
    const due = plan.suspended ? undefined : dueCleanup(seed, timeZone, now, dueAfter);
    if (due && failedRecordsOf(owner.status, plan.service) > 0) {
      if (await context.writer.createJob(buildCleanupJob(ownerContext, plan, due))) {
        context.onCleanupStarted();
        context.events.record(owner, {
          type: 'Normal',
          reason: 'CleanupStarted',
          action: 'StartJob',
          note: `Started the ${plan.service} cleanup run due at ${due.toISOString()} (${failedRecordsOf(owner.status, plan.service)} failed records)`,
        });
      }
      lastTime = due;
    }
    cleanups.set(plan.service, { nextTimes: nextCleanupTimes(seed, timeZone, now, 2), ...(lastTime && { lastTime }) });
  }
  return cleanups;
}

/** The requests answered in this reconcile, by kind: the annotation values that status records as handled. */
type HandledRequests = Partial<Record<RequestKind, string>>;

const requestEventReasons: Record<RequestKind, string> = { run: 'RunRequested', retry: 'RetryRequested' };

/**
 * Answers new run-now and retry-now requests: one Job per requested service that runs (buildRequestJob), named by the
 * request so that answering twice starts nothing more. A request naming services the object does not have is not
 * handled: a Warning says what to fix, and the same request is answered once the annotation names real services.
 */
async function answerRequests(
  ownerContext: OwnerContext,
  plans: ServicePlan[],
  context: ReconcileContext,
): Promise<HandledRequests> {
  const { owner } = ownerContext;
  const handled: HandledRequests = {};
  for (const kind of requestKinds) {
    const value = pendingRequest(kind, owner.metadata.annotations, owner.status);
    if (value === undefined) continue;
    const services = requestedServices(owner.kind, owner.metadata.annotations?.[runServicesAnnotation]);
    if (!services.ok) {
      context.events.record(owner, {
        type: 'Warning',
        reason: 'InvalidRequest',
        action: 'Reconcile',
        note: services.message,
      });
      continue;
    }
    const { run, skipped } = planRequest(plans, services.services);
    const started: string[] = [];
    for (const plan of run) {
      const job = buildRequestJob(ownerContext, plan, kind, value);
      if (await context.writer.createJob(job)) started.push(`${plan.service} (Job ${job.metadata!.name!})`);
    }
    if (started.length > 0 || run.length === 0) {
      const parts = [
        started.length > 0 ? `started ${started.join(', ')}` : 'nothing to run',
        ...skipped.map(({ service, why }) => `${service} skipped (${why})`),
      ];
      context.events.record(owner, {
        type: 'Normal',
        reason: requestEventReasons[kind],
        action: 'StartJob',
        note: `${kind} requested at "${value}": ${parts.join('; ')}`,
      });
    }
    handled[kind] = value;
  }
  return handled;
}

function observeServices(
  ownerContext: OwnerContext,
  plans: ServicePlan[],
  observed: ObservedChildren,
  cleanups: CleanupTimes,
  reportedServices: ServiceStatus[] | undefined,
  now: Date,
): ServiceObservation[] {
  const ownerName = ownerContext.owner.metadata.name;
  return plans.flatMap((plan): ServiceObservation[] => {
    // A Disabled service is listed, so that the backlog the watcher counts for it has its place.
    if (plan.mode === 'disabled') return [{ service: plan.service, schedule: 'Disabled' }];
    if (plan.mode === 'automatic') {
      const observation: ServiceObservation = {
        service: plan.service,
        schedule: 'Automatic',
        cleanup: cleanups.get(plan.service)!,
      };
      // A suspended service has left the watcher.
      if (!plan.suspended) observation.workload = { kind: 'Deployment', name: watcherName(ownerContext.merchantName) };
      return [observation];
    }
    const name = childName(ownerName, plan.service);
    const workload = { kind: 'CronJob' as const, name };
    const cronJob = observed.CronJob.find((candidate) => candidate.metadata?.name === name);
    const observation: ServiceObservation = {
      service: plan.service,
      schedule: plan.cron,
      workload,
      cleanup: cleanups.get(plan.service)!,
    };
    const reported = reportedServices?.find((service) => service.name === plan.service);
    const running = (cronJob?.status?.active?.length ?? 0) > 0;
    if (running && !plan.suspended && reported?.schedule === plan.cron && reported.nextRunTime) {
      // A run's times are reported when it ends, so that a run costs one status write rather than two.
      observation.nextRunTime = new Date(reported.nextRunTime);
      if (reported.lastRunTime) observation.lastRunTime = new Date(reported.lastRunTime);
      return [observation];
    }
    if (!plan.suspended) observation.nextRunTime = nextRunTimes(plan.cron, plan.timeZone, now, 1)[0];
    const lastRunTime = toDate(cronJob?.status?.lastScheduleTime);
    if (lastRunTime) observation.lastRunTime = lastRunTime;
    return [observation];
  });
}

/**
 * A watcher created or changed moments ago is starting, not stuck. Reporting that start would cost a status write that
 * Ready overwrites a moment later, so while the status is visibly out of date anyway (none yet, or an older
 * generation's, which kstatus readers take for "in progress") the report waits this long for the watcher.
 */
const watcherStartGraceMs = 10_000;

/** Until when the status can wait for the watcher to start; undefined when its grace is over. */
function watcherStartingUntil(startedAt: (Date | undefined)[], now: Date): Date | undefined {
  const latest = Math.max(...startedAt.map((time) => time?.getTime() ?? Number.NEGATIVE_INFINITY));
  const until = latest + watcherStartGraceMs;
  return until > now.getTime() ? new Date(until) : undefined;
}

function statusIsOutOfDate(owner: Owner): boolean {
  const observedGeneration = owner.status?.observedGeneration;
  return observedGeneration === undefined || observedGeneration < (owner.metadata.generation ?? 0);
}

async function writeStatus(
  owner: Owner,
  verdict: Verdict,
  services: ServiceObservation[] | undefined,
  context: ReconcileContext,
  now: Date,
  handled: HandledRequests = {},
): Promise<void> {
  const desired = computeStatus({
    generation: owner.metadata.generation,
    verdict,
    current: owner.status,
    services,
    handled,
    now,
  });
  const current = operatorStatusOf(owner.status);
  const key = ownerKey(ownerRefOf(owner));
  const written = JSON.stringify(desired);
  const lastWritten = context.lastStatusWritten.get(key);
  if (isSameJson(current, desired) && (lastWritten === undefined || lastWritten === written)) return;
  const changed = statusChanges(current, desired);
  context.log.debug({ changed }, 'writing status');
  const previousReason = owner.status?.conditions?.find((condition) => condition.type === conditionTypes.ready)?.reason;
  if (
    previousReason !== verdict.reason &&
    (verdict.state === 'stalled' || verdict.reason === reasons.merchantNotFound)
  ) {
    context.events.record(owner, {
      type: 'Warning',
      reason: verdict.reason,
      action: 'Reconcile',
      note: verdict.message,
    });
  }
  await context.writer.applyStatus(owner, desired);
  context.lastStatusWritten.set(key, written);
  context.onStatusWritten(statusWriteCause(changed));
}

function earliest(times: (Date | undefined)[], now: Date): number | undefined {
  const future = times.filter((time): time is Date => time !== undefined).map((time) => time.getTime() - now.getTime());
  return future.length > 0 ? Math.max(1_000, Math.min(...future) + 1_000) : undefined;
}

/** The names of a Merchant's Carts that are not being deleted, sorted: what its runners tell the hub's cart registry. */
function cartNames(merchant: Merchant, context: ReconcileContext): string[] {
  const ref = { kind: 'Merchant' as const, namespace: merchant.metadata.namespace, name: merchant.metadata.name };
  return context.view
    .cartsOf(ref)
    .filter((cart) => !cart.metadata.deletionTimestamp)
    .map((cart) => cart.metadata.name)
    .sort();
}

/** The Carts of a Merchant as its watcher sees them: the services it delivers and those it counts for each. */
function cartSources(merchant: Merchant, context: ReconcileContext, now: Date): WatchSource[] {
  const ref = { kind: 'Merchant' as const, namespace: merchant.metadata.namespace, name: merchant.metadata.name };
  const timeZone = merchant.spec.timeZone ?? 'UTC';
  return context.view
    .cartsOf(ref)
    .filter((cart) => !cart.metadata.deletionTimestamp)
    .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))
    .flatMap((cart) => {
      // A Cart with an invalid spec runs nothing; its own status says why.
      const planned = planServices(cart, timeZone, now, context.settings.databaseSecret.name);
      return planned.ok ? [watchSourceOf(cart, planned.plans)] : [];
    });
}

/** The migrate Job of the namespace's hub store, started once per schema version. */
async function ensureMigration(owner: Merchant, context: ReconcileContext): Promise<void> {
  const { namespace } = owner.metadata;
  const name = migrateJobName(hubSchemaVersion);
  const job = context.view.getJob(namespace, name);
  const failed = job?.status?.conditions?.find(
    (condition) => condition.type === 'Failed' && condition.status === 'True',
  );
  if (job && !failed) return;
  if (failed) {
    // Its retries are spent (the hub store was down, say) and the runners still wait: start it over.
    await context.writer.deleteChild('Job', namespace, name);
    context.events.record(owner, {
      type: 'Warning',
      reason: 'MigrationFailed',
      action: 'StartJob',
      note: `Job ${name} failed (${failed.reason ?? 'Failed'}: ${failed.message ?? 'no message'}); starting it again`,
    });
  }
  if (await context.writer.createJob(buildMigrateJob(namespace, context.settings))) {
    context.events.record(owner, {
      type: 'Normal',
      reason: 'MigrationStarted',
      action: 'StartJob',
      note: `Started Job ${name}: the hub store's schema to version ${hubSchemaVersion}`,
    });
  }
}

/**
 * A name taken by someone else's object is looked at again this often: its deletion is not seen (the informers watch
 * only what the operator manages), and a spec change or any event of the owner's own children comes sooner.
 */
export const nameConflictRecheckMs = 5 * 60_000;
/** Children of a deleted predecessor go within seconds; their deletion events come back here, this is a fallback. */
const leftoverRecheckMs = 10_000;

/** What `error` says, for a status message: a RequestError's sentence, or the first line of anything else. */
function failureMessage(error: unknown): string {
  if (error instanceof RequestError) return error.message;
  const text = error instanceof Error ? error.message : String(error);
  return `could not write the workloads: ${text.split('\n', 1)[0]}`;
}

/** The fields of the one log line of a failure: a RequestError's own, or the error itself (a bug: with its stack). */
export function failureLogFields(error: unknown): Record<string, unknown> {
  return error instanceof RequestError ? error.logFields : { err: error };
}

export async function reconcileOwner(ref: OwnerRef, context: ReconcileContext): Promise<Outcome> {
  try {
    return await reconcileOnce(ref, context);
  } catch (error) {
    // The owner or its namespace went away while it was reconciled: an answer expected, not an error.
    if (!meansOwnerGone(error)) throw error;
    context.log.debug(failureLogFields(error), 'the object or its namespace is going away; stopping');
    return {};
  }
}

async function reconcileOnce(ref: OwnerRef, context: ReconcileContext): Promise<Outcome> {
  const owner = context.view.getOwner(ref);
  // Deleted: the garbage collector removes the children through their owner references.
  if (!owner || owner.metadata.deletionTimestamp) return {};
  const now = context.now();

  const merchant =
    owner.kind === 'Merchant'
      ? owner
      : (context.view.getOwner({ kind: 'Merchant', namespace: ref.namespace, name: owner.spec.merchantRef.name }) as
          Merchant | undefined);
  if (!merchant) {
    context.servicePeriods.delete(ownerKey(ref));
    const message = `Merchant ${owner.kind === 'Cart' ? owner.spec.merchantRef.name : ''} does not exist in namespace ${ref.namespace}; waiting for it`;
    await writeStatus(
      owner,
      { state: 'progressing', reason: reasons.merchantNotFound, message },
      undefined,
      context,
      now,
    );
    return {};
  }

  const timeZone = merchant.spec.timeZone ?? 'UTC';
  const planned = planServices(owner, timeZone, now, context.settings.databaseSecret.name);
  if (!planned.ok) {
    context.servicePeriods.delete(ownerKey(ref));
    await writeStatus(
      owner,
      { state: 'stalled', reason: planned.reason, message: planned.message },
      undefined,
      context,
      now,
    );
    return {};
  }

  context.servicePeriods.set(ownerKey(ref), judgedPeriods(planned.plans));
  const ownerContext: OwnerContext = {
    owner,
    merchantName: merchant.metadata.name,
    settings: context.settings,
    ...(owner.kind === 'Merchant' && { merchantCarts: cartNames(owner, context) }),
  };
  const source = watchSourceOf(owner, planned.plans);
  const served = source.plans;
  const sources = owner.kind === 'Merchant' ? [source, ...cartSources(owner, context, now)] : [];
  const children = buildChildren(ownerContext, planned.plans, sources);
  const observed = context.view.childrenOf(ref);
  const merchantRef = { kind: 'Merchant' as const, namespace: ref.namespace, name: merchant.metadata.name };
  const watcher = context.view
    .childrenOf(merchantRef)
    .Deployment.find((deployment) => deployment.metadata?.name === watcherName(merchant.metadata.name));
  const waitingForWatcher = served.length > 0 && !watcherServes(watcher, source);
  let cleanups: CleanupTimes | undefined;
  let handled: HandledRequests = {};
  let sync: SyncResult;
  try {
    if (owner.kind === 'Merchant') await ensureMigration(owner, context);
    // Watchers of the older one-per-service shape stay until the merchant's watcher serves their services.
    const keepOldWatcher = (kind: AppliedKind, object: KubernetesObject) =>
      kind === 'Deployment' && object.metadata?.name !== watcherName(merchant.metadata.name) && waitingForWatcher;
    sync = await syncChildren(children, observed, context, owner, keepOldWatcher);
    // Cleanup runs run as the runner identity too: not as someone else's ServiceAccount.
    if (!sync.identityBlocked) {
      cleanups = await runDueCleanups(ownerContext, planned.plans, timeZone, observed, context, now);
      handled = await answerRequests(ownerContext, planned.plans, context);
    }
  } catch (error) {
    if (meansOwnerGone(error)) throw error;
    await writeStatus(
      owner,
      { state: 'retrying', reason: reasons.applyFailed, message: failureMessage(error) },
      undefined,
      context,
      now,
    ).catch((statusError: unknown) => {
      if (!meansOwnerGone(statusError)) {
        context.log.warn(failureLogFields(statusError), 'could not report the failure in status');
      }
    });
    throw error;
  }
  const { changes } = sync;
  if (changes.length > 0) {
    context.log.info(
      { changed: changes.map((change) => `${change.action} ${change.kind} ${change.name}`) },
      'workloads written',
    );
  }

  const services = cleanups
    ? observeServices(ownerContext, planned.plans, observed, cleanups, owner.status?.services, now)
    : undefined;
  const nextCleanups = (services ?? []).map((service) => service.cleanup?.nextTimes[0]);
  if (sync.conflicts.length > 0) {
    const message = nameConflictMessage(sync.conflicts);
    context.log.warn({ conflicts: sync.conflicts.map(({ kind, name }) => `${kind} ${name}`) }, message);
    await writeStatus(
      owner,
      { state: 'stalled', reason: reasons.nameConflict, message },
      services,
      context,
      now,
      handled,
    );
    return { requeueAfterMs: earliest([new Date(now.getTime() + nameConflictRecheckMs), ...nextCleanups], now) };
  }
  if (sync.leftovers.length > 0) {
    const message = `waiting for the garbage collector to remove ${sync.leftovers.join(', ')} of a deleted ${owner.kind} ${owner.metadata.name}`;
    await writeStatus(
      owner,
      { state: 'progressing', reason: reasons.workloadsProgressing, message },
      services,
      context,
      now,
      handled,
    );
    return { requeueAfterMs: earliest([new Date(now.getTime() + leftoverRecheckMs), ...nextCleanups], now) };
  }

  const cronJobs = children.filter((child) => child.kind === 'CronJob').length;
  const watcherDeployment = watcherName(merchant.metadata.name);
  const summary = `${cronJobs} CronJob${cronJobs === 1 ? '' : 's'}${served.length > 0 ? ` and ${served.length} Automatic service${served.length === 1 ? '' : 's'} on watcher ${watcherDeployment}` : ''}`;
  const watcherChanged = changes.some((change) => change.kind === 'Deployment' && change.action !== 'deleted');
  // Once the watcher's template asks for this object's services, its rollout is what is awaited, and a rollout that
  // does not come through is reported (before that, the Merchant's reconcile is what is awaited, and it reports).
  const health: WatcherHealth | undefined =
    waitingForWatcher && watcher && !watcherChanged && watcherTargets(watcher, source)
      ? watcherHealth(watcher, context.view.watcherPodsOf(merchantRef), now)
      : undefined;
  // What the runners report: a service whose records have waited three of its periods has stopped delivering. The
  // watcher's state comes first, as the likelier cause.
  const delivery = deliveryHealth(planned.plans, owner.status?.services, now);
  const verdict: Verdict = waitingForWatcher
    ? health?.stuck
      ? {
          state: 'stalled',
          reason: reasons.watcherUnavailable,
          message: `Deployment ${watcherDeployment} is not available after ${watcherUnavailableAfterMs / 60_000} minutes${health.problem ? `: ${health.problem}` : ''}`,
        }
      : {
          state: 'progressing',
          reason: reasons.workloadsProgressing,
          message: `waiting for Deployment ${watcherDeployment} to serve this ${owner.kind}'s Automatic services${health?.problem ? `: ${health.problem}` : ''}`,
        }
    : (delivery.verdict ??
      (owner.spec.suspend
        ? { state: 'ready', reason: reasons.suspended, message: `suspended: ${summary} paused` }
        : { state: 'ready', reason: reasons.reconciled, message: `running ${summary}` }));
  // A request answered is recorded at once, rather than answered again (harmlessly) while the status waits.
  const holdUntil =
    waitingForWatcher && statusIsOutOfDate(owner) && Object.keys(handled).length === 0
      ? watcherStartingUntil(
          [
            watcherChanged ? now : undefined,
            toDate(watcher?.metadata?.creationTimestamp),
            toDate(owner.metadata.creationTimestamp),
          ],
          now,
        )
      : undefined;
  // The watcher's own status updates bring the object back as it becomes available; the timers are for a watcher that
  // does not, so that its slow start is reported, and after a while reported as a problem.
  if (holdUntil) {
    return { requeueAfterMs: earliest([holdUntil, health?.stuckAt, delivery.recheckAt, ...nextCleanups], now) };
  }
  await writeStatus(owner, verdict, services, context, now, handled);

  // Timers: cleanups, a watcher that may turn out stuck, and waiting records that may turn out stalled. When a CronJob's
  // run ends, its status changes and that event brings the object back, refreshing its run times in one status write.
  return { requeueAfterMs: earliest([health?.stuckAt, delivery.recheckAt, ...nextCleanups], now) };
}
