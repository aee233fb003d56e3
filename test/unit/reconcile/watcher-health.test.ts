// Why a watcher does not serve, and whether that has lasted: from its Deployment's conditions and its pods, and the time.
import type { V1Deployment, V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { notServingSince, podProblem, watcherHealth } from '../../../operator/reconcile/watcher-health.ts';

const t0 = new Date('2026-11-27T12:00:00Z');
const later = (minutes: number) => new Date(t0.getTime() + minutes * 60_000);

function deployment(conditions: NonNullable<V1Deployment['status']>['conditions'], generation = 1): V1Deployment {
  return {
    metadata: { name: 'acme-watcher', generation, creationTimestamp: new Date('2026-11-01T00:00:00Z') },
    spec: { replicas: 1, selector: {}, template: {} },
    status: { observedGeneration: 1, conditions },
  };
}

const rollingOutSince = (time: Date) =>
  deployment([
    { type: 'Available', status: 'True', lastTransitionTime: new Date('2026-11-01T00:01:00Z') },
    { type: 'Progressing', status: 'True', reason: 'ReplicaSetUpdated', lastUpdateTime: time },
  ]);

function pod(name: string, created: Date, status: V1Pod['status']): V1Pod {
  return { metadata: { name, creationTimestamp: created }, status };
}

const waiting = (reason: string, message?: string) => ({
  phase: 'Pending',
  containerStatuses: [
    { name: 'runner', image: '', imageID: '', ready: false, restartCount: 0, state: { waiting: { reason, message } } },
  ],
});

describe('notServingSince', () => {
  it('is the last progress of the rollout, or when it stopped being available, whichever is later', () => {
    expect(notServingSince(rollingOutSince(t0))).toEqual(t0);
    const fellOver = deployment([
      { type: 'Available', status: 'False', lastTransitionTime: later(3) },
      { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable', lastUpdateTime: t0 },
    ]);
    expect(notServingSince(fellOver)).toEqual(later(3));
  });

  it('is unknown while the Deployment controller has not seen the current spec', () => {
    expect(notServingSince(deployment([], 2))).toBeUndefined();
  });
});

describe('watcherHealth', () => {
  it('is not stuck before 5 minutes, and says when it will be', () => {
    expect(watcherHealth(rollingOutSince(t0), [], later(4))).toEqual({ stuck: false, stuckAt: later(5) });
    expect(watcherHealth(rollingOutSince(t0), [], later(5))).toEqual({ stuck: true });
  });

  it('is stuck at once when the Deployment gave up progressing, and says so', () => {
    const gaveUp = deployment([
      {
        type: 'Progressing',
        status: 'False',
        reason: 'ProgressDeadlineExceeded',
        message: 'ReplicaSet "acme-watcher-5d8f7" has timed out progressing.',
        lastUpdateTime: later(10),
      },
    ]);
    expect(watcherHealth(gaveUp, [], later(10))).toEqual({
      stuck: true,
      problem: 'ProgressDeadlineExceeded: ReplicaSet "acme-watcher-5d8f7" has timed out progressing.',
    });
  });

  it("gives the newest pod's trouble: a container that cannot start at once, a pod not ready only once stuck", () => {
    const old = pod('acme-watcher-old', t0, { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] });
    const config = pod(
      'acme-watcher-new',
      later(1),
      waiting('CreateContainerConfigError', 'secret "acme-wms" not found'),
    );
    expect(watcherHealth(rollingOutSince(t0), [old, config], later(2)).problem).toBe(
      'pod acme-watcher-new: CreateContainerConfigError: secret "acme-wms" not found',
    );
    const starting = pod('acme-watcher-new', later(1), waiting('ContainerCreating'));
    expect(watcherHealth(rollingOutSince(t0), [old, starting], later(2)).problem).toBeUndefined();
    const unready = pod('acme-watcher-new', later(1), {
      phase: 'Running',
      conditions: [{ type: 'Ready', status: 'False' }],
    });
    expect(watcherHealth(rollingOutSince(t0), [old, unready], later(2)).problem).toBeUndefined();
    expect(watcherHealth(rollingOutSince(t0), [old, unready], later(6)).problem).toBe(
      'pod acme-watcher-new is Running but not ready',
    );
  });
});

describe('podProblem', () => {
  it('describes a crash loop by its last exit, which does not change with every restart', () => {
    const crashing = pod('acme-watcher-1', t0, {
      phase: 'Running',
      containerStatuses: [
        {
          name: 'runner',
          image: '',
          imageID: '',
          ready: false,
          restartCount: 7,
          state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 2m40s restarting failed container' } },
          lastState: { terminated: { exitCode: 1, reason: 'Error' } },
        },
      ],
    });
    expect(podProblem([crashing])).toBe('pod acme-watcher-1: CrashLoopBackOff: last exit code 1 (Error)');
  });

  it('names an unschedulable pod once asked for pods that are not ready', () => {
    const unschedulable = pod('acme-watcher-1', t0, {
      phase: 'Pending',
      conditions: [
        { type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/2 nodes are available' },
      ],
    });
    expect(podProblem([unschedulable])).toBeUndefined();
    expect(podProblem([unschedulable], true)).toBe('pod acme-watcher-1: Unschedulable: 0/2 nodes are available');
  });
});
