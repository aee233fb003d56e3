// Conditions as kstatus and Flux read them: Ready always present; Reconciling and Stalled only while True.
import type { conditionReasons as reasons } from '../api/v1alpha1/conditions.ts';
import { conditionTypes as types, type ConditionType } from '../api/v1alpha1/conditions.ts';
import type { Condition } from '../api/v1alpha1/types.ts';

/** The verdict of one reconcile, from which the three conditions follow. */
export type Verdict =
  | { state: 'ready'; reason: typeof reasons.reconciled | typeof reasons.suspended; message: string }
  /** Waiting on something that will change by itself (workloads rolling out, the Merchant appearing). */
  | {
      state: 'progressing';
      reason: typeof reasons.workloadsProgressing | typeof reasons.merchantNotFound;
      message: string;
    }
  /**
   * Someone must act: a spec error (not retried until the spec changes), another's object in the way, a watcher that
   * has not become available for minutes, or a service that has stopped delivering.
   */
  | {
      state: 'stalled';
      reason:
        | typeof reasons.invalidSpec
        | typeof reasons.forbiddenSecret
        | typeof reasons.nameConflict
        | typeof reasons.watcherUnavailable
        | typeof reasons.deliveryStalled;
      message: string;
    }
  /** A transient failure: retried with backoff. */
  | { state: 'retrying'; reason: typeof reasons.applyFailed; message: string };

function condition(
  type: ConditionType,
  status: Condition['status'],
  reason: string,
  message: string,
  generation: number | undefined,
  previous: readonly Condition[],
  now: Date,
): Condition {
  const before = previous.find((existing) => existing.type === type);
  // lastTransitionTime moves only when the status flips, so an unchanged verdict writes nothing.
  const lastTransitionTime =
    before && before.status === status ? before.lastTransitionTime : now.toISOString().replace(/\.\d{3}Z$/, 'Z');
  return { type, status, reason, message, observedGeneration: generation, lastTransitionTime };
}

export function computeConditions(
  verdict: Verdict,
  generation: number | undefined,
  previous: readonly Condition[],
  now: Date,
): Condition[] {
  const make = (type: ConditionType, status: Condition['status']) =>
    condition(type, status, verdict.reason, verdict.message, generation, previous, now);
  switch (verdict.state) {
    case 'ready':
      return [make(types.ready, 'True')];
    case 'progressing':
    case 'retrying':
      return [make(types.ready, 'False'), make(types.reconciling, 'True')];
    case 'stalled':
      return [make(types.ready, 'False'), make(types.stalled, 'True')];
  }
}
