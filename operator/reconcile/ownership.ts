// Whose is an object that bears the name of one of our children? The operator writes only to objects whose controller
// owner reference is its own Merchant or Cart (by uid): it never adopts an object someone else made, and never
// overwrites or deletes one.
import type { KubernetesObject, V1ObjectMeta, V1OwnerReference } from '@kubernetes/client-node';
import type { Owner } from '../api/v1alpha1/types.ts';

export type Ownership =
  /** Controlled by this very owner. */
  | { state: 'ours' }
  /** Controlled by an earlier object of the same kind and name, since deleted: the garbage collector removes it. */
  | { state: 'predecessor' }
  /** Anyone else's: `holder` says whose, for the message. */
  | { state: 'foreign'; holder: string };

export function controllerOf(object: KubernetesObject): V1OwnerReference | undefined {
  return object.metadata?.ownerReferences?.find((reference) => reference.controller === true);
}

/** The managers of an object's fields other than its status (which controllers write on everything). */
function managersOf(metadata: V1ObjectMeta | undefined): string[] {
  const managers = (metadata?.managedFields ?? [])
    .filter((entry) => !entry.subresource && entry.manager)
    .map((entry) => entry.manager!);
  return [...new Set(managers)].sort();
}

function holderOf(object: KubernetesObject, controller: V1OwnerReference | undefined): string {
  if (controller) return `controlled by ${controller.kind} ${controller.name}`;
  const managers = managersOf(object.metadata);
  return managers.length > 0 ? `managed by ${managers.join(', ')}` : 'with no owner reference';
}

export function ownershipOf(object: KubernetesObject, owner: Owner): Ownership {
  const controller = controllerOf(object);
  if (controller?.uid === owner.metadata.uid) return { state: 'ours' };
  if (controller && controller.kind === owner.kind && controller.name === owner.metadata.name) {
    return { state: 'predecessor' };
  }
  return { state: 'foreign', holder: holderOf(object, controller) };
}

/** The Stalled message for the objects in the way: each named with whose it is, and what to do. */
export function nameConflictMessage(conflicts: readonly { kind: string; name: string; holder: string }[]): string {
  const each = conflicts.map(({ kind, name, holder }) => `${kind} ${name} exists and is not ours (${holder})`);
  return `${each.join('; ')}; rename or delete ${conflicts.length === 1 ? 'it' : 'them'}`;
}
