// The reconcile of one Merchant or Cart: read from the caches, decide with the pure modules, write only what differs.
import type {
  KubernetesObject,
  V1CronJob,
  V1Deployment,
  V1Job,
  V1RoleBinding,
  V1ServiceAccount,
} from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { OwnerKind } from '../api/v1alpha1/services.ts';
import type { Merchant, Owner, OwnerStatus, ServiceStatus } from '../api/v1alpha1/types.ts';
import { dueCleanup, nextCleanupTimes, nextRunTimes } from '../schedule/index.ts';
import { isSameJson, isSubset } from './compare.ts';
import type { Verdict } from './conditions.ts';
import {
  buildChildren,
  buildCleanupJob,
  type Child,
  type OwnerContext,
  type RunnerSettings,
  type ServicePlan,
} from './desired.ts';
import { childName, cleanupTimeAnnotation } from './names.ts';
import { planServices, scheduleSeed } from './plan.ts';
import {
  computeStatus,
  operatorStatusOf,
  statusChanges,
  statusWriteCause,
  type ServiceObservation,
  type StatusWriteCause,
} from './status.ts';

export interface OwnerRef {
  kind: OwnerKind;
  namespace: string;
  name: string;
}

/** The children of one object as the caches have them. */
export interface ObservedChildren {
  cronJobs: V1CronJob[];
  deployments: V1Deployment[];
  jobs: V1Job[];
  serviceAccounts: V1ServiceAccount[];
  roleBindings: V1RoleBinding[];
}

/** What the reconcile reads: the informers' caches. */
export interface ClusterView {
  getOwner(ref: OwnerRef): Owner | undefined;
  childrenOf(ref: OwnerRef): ObservedChildren;
}

/** What the reconcile writes, each call one API request. */
export interface ClusterWriter {
  applyChild(child: Child): Promise<void>;
  deleteChild(kind: Child['kind'], namespace: string, name: string): Promise<void>;
  /** Creates a cleanup Job; false when a Job of that name exists already (it ran). */
  createJob(job: V1Job & { kind: 'Job' }): Promise<boolean>;
  applyStatus(owner: Owner, status: OwnerStatus): Promise<void>;
}

export interface EventRecorder {
  record(owner: Owner, type: 'Normal' | 'Warning', reason: string, message: string): void;
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
}

export interface Outcome {
  /** Reconcile again after this long even if nothing changes: the next cleanup time. */
  requeueAfterMs?: number;
}

const toDate = (value: Date | string | undefined) => (value === undefined ? undefined : new Date(value));

/** The children that the reconcile applies, and deletes when no longer wanted; cleanup Jobs are handled apart. */
function appliedChildren(observed: ObservedChildren): { kind: Child['kind']; object: KubernetesObject }[] {
  return [
    ...observed.serviceAccounts.map((object) => ({ kind: 'ServiceAccount' as const, object })),
    ...observed.roleBindings.map((object) => ({ kind: 'RoleBinding' as const, object })),
    ...observed.cronJobs.map((object) => ({ kind: 'CronJob' as const, object })),
    ...observed.deployments.map((object) => ({ kind: 'Deployment' as const, object })),
  ];
}

/** Applies each child that is missing or differs from what is wanted, and deletes the unwanted; returns what changed. */
async function syncChildren(desired: Child[], observed: ObservedChildren, context: ReconcileContext, owner: Owner) {
  const changed: string[] = [];
  const existing = appliedChildren(observed);
  const find = (kind: Child['kind'], name: string | undefined) =>
    existing.find((entry) => entry.kind === kind && entry.object.metadata?.name === name);
  for (const child of desired) {
    const current = find(child.kind, child.metadata?.name);
    if (current && isSubset(child, current.object)) continue;
    await context.writer.applyChild(child);
    const what = `${child.kind} ${child.metadata!.name!}`;
    changed.push(what);
    context.events.record(
      owner,
      'Normal',
      current ? 'Updated' : 'Created',
      `${current ? 'Restored' : 'Created'} ${what}`,
    );
  }
  // A service that changed mode (interval ↔ Automatic) or was disabled leaves a workload nobody wants.
  for (const { kind, object } of existing) {
    if (desired.some((child) => child.kind === kind && child.metadata?.name === object.metadata?.name)) continue;
    await context.writer.deleteChild(kind, object.metadata!.namespace!, object.metadata!.name!);
    const what = `${kind} ${object.metadata!.name!}`;
    changed.push(`deleted ${what}`);
    context.events.record(owner, 'Normal', 'Deleted', `Deleted ${what} (replaced or disabled)`);
  }
  return changed;
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

/** Starts the cleanup Jobs that are due; returns each Automatic service's cleanup times. */
async function runDueCleanups(
  ownerContext: OwnerContext,
  plans: ServicePlan[],
  timeZone: string,
  observed: ObservedChildren,
  context: ReconcileContext,
  now: Date,
): Promise<Map<string, { nextTimes: Date[]; lastTime?: Date }>> {
  const { owner } = ownerContext;
  const cleanups = new Map<string, { nextTimes: Date[]; lastTime?: Date }>();
  for (const plan of plans) {
    if (plan.mode !== 'automatic') continue;
    const seed = scheduleSeed(owner, plan.service);
    let lastTime = lastCleanupTime(plan.service, observed.jobs, owner.status);
    // A cleanup slot that passed before the object existed is not a missed cleanup: there was nothing to clean.
    const created = toDate(owner.metadata.creationTimestamp);
    const dueAfter = lastTime && created && lastTime > created ? lastTime : (created ?? lastTime);
    const due = plan.suspended ? undefined : dueCleanup(seed, timeZone, now, dueAfter);
    if (due) {
      if (await context.writer.createJob(buildCleanupJob(ownerContext, plan, due))) {
        context.onCleanupStarted();
        context.events.record(
          owner,
          'Normal',
          'CleanupStarted',
          `Started the ${plan.service} cleanup run due at ${due.toISOString()}`,
        );
      }
      lastTime = due;
    }
    cleanups.set(plan.service, { nextTimes: nextCleanupTimes(seed, timeZone, now, 2), ...(lastTime && { lastTime }) });
  }
  return cleanups;
}

function observeServices(
  ownerName: string,
  plans: ServicePlan[],
  observed: ObservedChildren,
  cleanups: Map<string, { nextTimes: Date[]; lastTime?: Date }>,
  reportedServices: ServiceStatus[] | undefined,
  now: Date,
): ServiceObservation[] {
  return plans.flatMap((plan): ServiceObservation[] => {
    if (plan.mode === 'disabled') return [];
    const name = childName(ownerName, plan.service);
    if (plan.mode === 'automatic') {
      const workload = { kind: 'Deployment' as const, name };
      return [{ service: plan.service, schedule: 'Automatic', workload, cleanup: cleanups.get(plan.service)! }];
    }
    const workload = { kind: 'CronJob' as const, name };
    const cronJob = observed.cronJobs.find((candidate) => candidate.metadata?.name === name);
    const observation: ServiceObservation = { service: plan.service, schedule: plan.cron, workload };
    const reported = reportedServices?.find((service) => service.name === plan.service);
    const running = (cronJob?.status?.active?.length ?? 0) > 0;
    if (running && !plan.suspended && reported?.schedule === plan.cron && reported.nextRunTime) {
      // A run's times are reported when it ends, so that a run costs one status write rather than two.
      observation.nextRunTime = new Date(reported.nextRunTime);
      if (reported.lastRunTime) observation.lastRunTime = new Date(reported.lastRunTime);
      if (reported.lastSuccessTime) observation.lastSuccessTime = new Date(reported.lastSuccessTime);
      return [observation];
    }
    if (!plan.suspended) observation.nextRunTime = nextRunTimes(plan.cron, plan.timeZone, now, 1)[0];
    const lastRunTime = toDate(cronJob?.status?.lastScheduleTime);
    const lastSuccessTime = toDate(cronJob?.status?.lastSuccessfulTime);
    if (lastRunTime) observation.lastRunTime = lastRunTime;
    if (lastSuccessTime) observation.lastSuccessTime = lastSuccessTime;
    return [observation];
  });
}

/** Watchers that should run but are not yet available, by name. */
function unavailableWatchers(children: Child[], observed: ObservedChildren): string[] {
  return children
    .filter((child) => child.kind === 'Deployment' && (child.spec?.replicas ?? 0) > 0)
    .map((child) => child.metadata!.name!)
    .filter((name) => {
      const deployment = observed.deployments.find((candidate) => candidate.metadata?.name === name);
      const upToDate =
        deployment?.status?.observedGeneration !== undefined &&
        deployment.status.observedGeneration >= (deployment.metadata?.generation ?? 0);
      const available = deployment?.status?.conditions?.some((c) => c.type === 'Available' && c.status === 'True');
      return !(upToDate && available);
    });
}

/**
 * A watcher Deployment created or changed moments ago is starting, not stuck. Reporting that start would cost a status
 * write that Ready overwrites a moment later, so while the status is visibly out of date anyway (none yet, or an older
 * generation's, which kstatus readers take for "in progress") the report waits this long for the watchers.
 */
const watcherStartGraceMs = 10_000;

/** Until when the status can wait for `waiting` watchers to start; undefined when one of them is past its grace. */
function watchersStartingUntil(
  waiting: string[],
  changed: string[],
  observed: ObservedChildren,
  now: Date,
): Date | undefined {
  let until = now.getTime();
  for (const name of waiting) {
    const deployment = observed.deployments.find((candidate) => candidate.metadata?.name === name);
    const created = toDate(deployment?.metadata?.creationTimestamp);
    const startedAt = changed.includes(`Deployment ${name}`) ? now : created;
    if (!startedAt || startedAt.getTime() + watcherStartGraceMs <= now.getTime()) return undefined;
    until = Math.max(until, startedAt.getTime() + watcherStartGraceMs);
  }
  return new Date(until);
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
): Promise<void> {
  const desired = computeStatus({
    generation: owner.metadata.generation,
    verdict,
    current: owner.status,
    services,
    now,
  });
  const current = operatorStatusOf(owner.status);
  if (isSameJson(current, desired)) return;
  const changed = statusChanges(current, desired);
  context.log.debug({ changed }, 'writing status');
  const previousReason = owner.status?.conditions?.find((condition) => condition.type === 'Ready')?.reason;
  if (previousReason !== verdict.reason && (verdict.state === 'stalled' || verdict.reason === 'MerchantNotFound')) {
    context.events.record(owner, 'Warning', verdict.reason, verdict.message);
  }
  await context.writer.applyStatus(owner, desired);
  context.onStatusWritten(statusWriteCause(changed));
}

function earliest(times: (Date | undefined)[], now: Date): number | undefined {
  const future = times.filter((time): time is Date => time !== undefined).map((time) => time.getTime() - now.getTime());
  return future.length > 0 ? Math.max(1_000, Math.min(...future) + 1_000) : undefined;
}

export async function reconcileOwner(ref: OwnerRef, context: ReconcileContext): Promise<Outcome> {
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
    const message = `Merchant ${owner.kind === 'Cart' ? owner.spec.merchantRef.name : ''} does not exist in namespace ${ref.namespace}; waiting for it`;
    await writeStatus(owner, { state: 'progressing', reason: 'MerchantNotFound', message }, undefined, context, now);
    return {};
  }

  const timeZone = merchant.spec.timeZone ?? 'UTC';
  const planned = planServices(owner, timeZone, now);
  if (!planned.ok) {
    await writeStatus(
      owner,
      { state: 'stalled', reason: 'InvalidSpec', message: planned.message },
      undefined,
      context,
      now,
    );
    return {};
  }

  const ownerContext: OwnerContext = { owner, merchantName: merchant.metadata.name, settings: context.settings };
  const children = buildChildren(ownerContext, planned.plans);
  const observed = context.view.childrenOf(ref);
  let cleanups: Awaited<ReturnType<typeof runDueCleanups>>;
  let changed: string[];
  try {
    changed = await syncChildren(children, observed, context, owner);
    cleanups = await runDueCleanups(ownerContext, planned.plans, timeZone, observed, context, now);
  } catch (error) {
    const message = `could not write the workloads: ${error instanceof Error ? error.message : String(error)}`;
    await writeStatus(owner, { state: 'retrying', reason: 'ApplyFailed', message }, undefined, context, now).catch(
      (statusError: unknown) => context.log.warn({ err: statusError }, 'could not report the failure in status'),
    );
    throw error;
  }
  if (changed.length > 0) context.log.info({ changed }, 'workloads written');

  const services = observeServices(owner.metadata.name, planned.plans, observed, cleanups, owner.status?.services, now);
  const waiting = unavailableWatchers(children, observed);
  const count = (kind: Child['kind'], noun: string) => {
    const n = children.filter((child) => child.kind === kind).length;
    return `${n} ${noun}${n === 1 ? '' : 's'}`;
  };
  const summary = `${count('CronJob', 'CronJob')} and ${count('Deployment', 'watcher Deployment')}`;
  const verdict: Verdict =
    waiting.length > 0
      ? {
          state: 'progressing',
          reason: 'WorkloadsProgressing',
          message: 'waiting for the watcher Deployments to become available',
        }
      : owner.spec.suspend
        ? { state: 'ready', reason: 'Suspended', message: `suspended: ${summary} paused` }
        : { state: 'ready', reason: 'Reconciled', message: `running ${summary}` };
  const nextCleanups = services.map((service) => service.cleanup?.nextTimes[0]);
  const holdUntil =
    waiting.length > 0 && statusIsOutOfDate(owner) ? watchersStartingUntil(waiting, changed, observed, now) : undefined;
  // The watchers' own status updates bring the object back as they become available; the timer is for those that
  // do not, so that their slow start is reported.
  if (holdUntil) return { requeueAfterMs: earliest([holdUntil, ...nextCleanups], now) };
  await writeStatus(owner, verdict, services, context, now);

  // Only cleanup times need a timer: when a CronJob's run ends, its status changes and that event brings the object
  // back, refreshing nextRunTime, lastRunTime and lastSuccessTime in one status write.
  return { requeueAfterMs: earliest(nextCleanups, now) };
}
