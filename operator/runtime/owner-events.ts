// Which updates of a Merchant or Cart need a reconcile. Every status write the operator makes comes back as an update
// of the object: reconciling again for it would retry a failing object at once, past the work queue's backoff, and
// write again whenever the status differs. What the reconcile reads of an owner is its spec (generation), whether it
// is being deleted, what the runner reported in its status, and the run-now and retry-now requests in its annotations;
// the operator's own status fields coming back are no reason to reconcile.
import type { KubernetesObject } from '@kubernetes/client-node';
import { requestAnnotationNames } from '../api/v1alpha1/annotations.ts';
import type { Owner } from '../api/v1alpha1/types.ts';
import { runnerFieldsOf } from '../reconcile/status.ts';

export interface OwnerFacts {
  generation: number | undefined;
  deleting: boolean;
  /** What the runner reported in the status (every field the operator does not write), as JSON. */
  runnerFields: string;
  /** The request annotations (run now, retry now, the services named), as JSON: they change no generation. */
  requests: string;
}

export function ownerFactsOf(object: KubernetesObject | Owner): OwnerFacts {
  const owner = object as Owner;
  return {
    generation: owner.metadata?.generation,
    deleting: owner.metadata?.deletionTimestamp !== undefined && owner.metadata.deletionTimestamp !== null,
    runnerFields: JSON.stringify(runnerFieldsOf(owner.status)),
    requests: JSON.stringify(requestAnnotationNames.map((name) => owner.metadata?.annotations?.[name] ?? null)),
  };
}

/**
 * `spec`: the object appeared, went, is being deleted or has a new generation; it, and whatever it concerns (a
 * Merchant's Carts, a Cart's Merchant), needs a reconcile. `runner`: the runner reported something (failed records, a
 * run's result), or someone asked for a run or a retry; the object alone needs one. `none`: only the operator's own
 * status (or metadata it does not read) changed.
 */
export type OwnerChange = 'spec' | 'runner' | 'none';

export function ownerChange(before: OwnerFacts | undefined, after: OwnerFacts | undefined): OwnerChange {
  if (!before || !after) return before === after ? 'none' : 'spec';
  if (before.generation !== after.generation || before.deleting !== after.deleting) return 'spec';
  return before.runnerFields === after.runnerFields && before.requests === after.requests ? 'none' : 'runner';
}
