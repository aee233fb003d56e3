// Why a merchant's watcher does not serve, and for how long: pure, from its Deployment and its pods as the caches hold
// them and the time. A watcher rolling out is Reconciling; one that has not become available for five minutes is
// reported as Stalled, with the pod's own words (a missing Secret, an image that cannot be pulled, a crash).
import type { V1Deployment, V1DeploymentCondition, V1Pod } from '@kubernetes/client-node';

/** How long a watcher may take to become available before that is reported as a problem rather than progress. */
export const watcherUnavailableAfterMs = 5 * 60_000;

export interface WatcherHealth {
  /** It has not served for `watcherUnavailableAfterMs`, or its Deployment gave up (progress deadline exceeded). */
  stuck: boolean;
  /** When it will count as stuck if nothing changes: the time to look again. */
  stuckAt?: Date;
  /** What its pods or its Deployment say is wrong, when they say it; one stable sentence. */
  problem?: string;
}

/** A container waiting for these is starting, not failing. */
const startingReasons = new Set(['ContainerCreating', 'PodInitializing']);

function conditionOf(deployment: V1Deployment, type: string): V1DeploymentCondition | undefined {
  return deployment.status?.conditions?.find((condition) => condition.type === type);
}

const timeOf = (value: Date | string | undefined) => (value === undefined ? undefined : new Date(value).getTime());

/**
 * Since when the Deployment has been failing to serve: the latest of its creation, the last progress of its rollout
 * (the Progressing condition's lastUpdateTime, which the Deployment controller moves whenever a pod becomes available
 * or a ReplicaSet scales) and the moment it stopped being available. Undefined while the Deployment controller has not
 * yet seen its current spec: a change the operator just made is not a stall.
 */
export function notServingSince(deployment: V1Deployment): Date | undefined {
  const status = deployment.status;
  if (!status || (status.observedGeneration ?? 0) < (deployment.metadata?.generation ?? 0)) return undefined;
  const progressing = conditionOf(deployment, 'Progressing');
  const available = conditionOf(deployment, 'Available');
  const times = [
    timeOf(deployment.metadata?.creationTimestamp),
    progressing?.status === 'True' ? timeOf(progressing.lastUpdateTime) : undefined,
    available?.status === 'False' ? timeOf(available.lastTransitionTime) : undefined,
  ].filter((time): time is number => time !== undefined && !Number.isNaN(time));
  return times.length > 0 ? new Date(Math.max(...times)) : undefined;
}

/** One container's trouble in its own words, or undefined when it is starting, running or done. */
function containerProblem(status: NonNullable<NonNullable<V1Pod['status']>['containerStatuses']>[number]) {
  const waiting = status.state?.waiting;
  if (!waiting?.reason || startingReasons.has(waiting.reason)) return undefined;
  if (waiting.reason === 'CrashLoopBackOff') {
    // Its message counts the back-off and names the pod's uid; the last exit says the same thing, stably.
    const exit = status.lastState?.terminated;
    return exit
      ? `CrashLoopBackOff: last exit code ${exit.exitCode}${exit.reason ? ` (${exit.reason})` : ''}`
      : 'CrashLoopBackOff';
  }
  return waiting.message ? `${waiting.reason}: ${waiting.message}` : waiting.reason;
}

/**
 * What the watcher's pods say is wrong, newest pod first (in a rollout, the new pod is the one that matters). With
 * `includeNotReady`, also a pod that is unscheduled or running but not ready, which is normal for a starting pod and
 * telling only once it has lasted.
 */
export function podProblem(pods: readonly V1Pod[], includeNotReady = false): string | undefined {
  const current = pods
    .filter((pod) => !pod.metadata?.deletionTimestamp)
    .sort((a, b) => (timeOf(b.metadata?.creationTimestamp) ?? 0) - (timeOf(a.metadata?.creationTimestamp) ?? 0));
  for (const pod of current) {
    const statuses = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
    for (const status of statuses) {
      const problem = containerProblem(status);
      if (problem) return `pod ${pod.metadata?.name}: ${problem}`;
    }
  }
  if (!includeNotReady) return undefined;
  for (const pod of current) {
    const conditions = pod.status?.conditions ?? [];
    const scheduled = conditions.find((condition) => condition.type === 'PodScheduled');
    if (scheduled?.status === 'False') {
      return `pod ${pod.metadata?.name}: ${scheduled.reason ?? 'Unschedulable'}${scheduled.message ? `: ${scheduled.message}` : ''}`;
    }
    if (conditions.find((condition) => condition.type === 'Ready')?.status !== 'True') {
      return `pod ${pod.metadata?.name} is ${pod.status?.phase ?? 'Pending'} but not ready`;
    }
  }
  return undefined;
}

/** What the Deployment itself says: pods it could not create (quota, admission), or that it gave up progressing. */
function deploymentProblem(deployment: V1Deployment): string | undefined {
  const failure = conditionOf(deployment, 'ReplicaFailure');
  if (failure?.status === 'True') return `${failure.reason ?? 'ReplicaFailure'}: ${failure.message ?? ''}`.trim();
  const progressing = conditionOf(deployment, 'Progressing');
  if (progressing?.status === 'False') return `${progressing.reason ?? 'NotProgressing'}: ${progressing.message ?? ''}`;
  return undefined;
}

/** The health of a watcher that does not serve (yet): whether that has lasted too long, and why. */
export function watcherHealth(deployment: V1Deployment, pods: readonly V1Pod[], now: Date): WatcherHealth {
  const progressing = conditionOf(deployment, 'Progressing');
  const gaveUp = progressing?.status === 'False' && progressing.reason === 'ProgressDeadlineExceeded';
  const since = notServingSince(deployment);
  const stuckAt = since && new Date(since.getTime() + watcherUnavailableAfterMs);
  const stuck = gaveUp || (stuckAt !== undefined && stuckAt.getTime() <= now.getTime());
  const problem = stuck
    ? (podProblem(pods, true) ?? deploymentProblem(deployment))
    : (podProblem(pods) ??
      (conditionOf(deployment, 'ReplicaFailure')?.status === 'True' ? deploymentProblem(deployment) : undefined));
  return { stuck, ...(!stuck && stuckAt && { stuckAt }), ...(problem && { problem }) };
}
