// Conditions as kstatus and Flux read them: Ready always present; Reconciling and Stalled only while True.
import type { Condition } from '../api/v1alpha1/types.ts';

export const readyReasons = {
  reconciled: 'Reconciled',
  suspended: 'Suspended',
  invalidSpec: 'InvalidSpec',
  merchantNotFound: 'MerchantNotFound',
  workloadsProgressing: 'WorkloadsProgressing',
  applyFailed: 'ApplyFailed',
} as const;
export type ReadyReason = (typeof readyReasons)[keyof typeof readyReasons];

/** The verdict of one reconcile, from which the three conditions follow. */
export type Verdict =
  | { state: 'ready'; reason: 'Reconciled' | 'Suspended'; message: string }
  /** Waiting on something that will change by itself (workloads rolling out, the Merchant appearing). */
  | { state: 'progressing'; reason: 'WorkloadsProgressing' | 'MerchantNotFound'; message: string }
  /** A spec error: not retried until the spec changes. */
  | { state: 'stalled'; reason: 'InvalidSpec'; message: string }
  /** A transient failure: retried with backoff. */
  | { state: 'retrying'; reason: 'ApplyFailed'; message: string };

function condition(
  type: string,
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
  const make = (type: string, status: Condition['status']) =>
    condition(type, status, verdict.reason, verdict.message, generation, previous, now);
  switch (verdict.state) {
    case 'ready':
      return [make('Ready', 'True')];
    case 'progressing':
      return [make('Ready', 'False'), make('Reconciling', 'True')];
    case 'retrying':
      return [make('Ready', 'False'), make('Reconciling', 'True')];
    case 'stalled':
      return [make('Ready', 'False'), make('Stalled', 'True')];
  }
}
