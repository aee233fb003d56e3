// Every child the operator manages in a namespace, of every kind it makes (the kinds come from the operator's own
// table, so a kind added there is listed here too), with its controller owner: for exact "these and nothing else"
// comparisons, duplicates and orphans included.
import * as k8s from '@kubernetes/client-node';
import { childKindNames, childKinds, type ChildKind } from '../../../operator/reconcile/child-kinds.ts';
import * as names from '../../../operator/reconcile/names.ts';
import type { Owner } from '../../../operator/api/v1alpha1/types.ts';
import { testKubeConfig } from './cluster.ts';

const clients = new WeakMap<k8s.KubeConfig, k8s.KubernetesObjectApi>();
let testCluster: k8s.KubeConfig | undefined;

export interface ManagedChild {
  kind: ChildKind;
  name: string;
  uid: string;
  /** The controller ownerReference, if any. */
  controller: k8s.V1OwnerReference | undefined;
  ownerReferences: k8s.V1OwnerReference[];
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** Being deleted (a finalizer or foreground deletion holds it). */
  deleting: boolean;
}

/** `Kind/name` */
export const childId = (child: { kind: string; name: string }): string => `${child.kind}/${child.name}`;

/**
 * Every object of every child kind with the operator's label in the namespace. Jobs are those the operator creates
 * itself (cleanup and migrate runs), as the operator selects them; its CronJobs' Jobs belong to the CronJobs.
 */
export async function listManagedChildren(
  namespace: string,
  kubeConfig: k8s.KubeConfig = (testCluster ??= testKubeConfig()),
): Promise<ManagedChild[]> {
  const objects = clients.get(kubeConfig) ?? k8s.KubernetesObjectApi.makeApiClient(kubeConfig);
  clients.set(kubeConfig, objects);
  const lists = await Promise.all(
    childKindNames.map(async (kind) => {
      const { apiVersion, selector } = childKinds[kind];
      const list = await objects.list(
        apiVersion,
        kind,
        namespace,
        undefined,
        undefined,
        undefined,
        undefined,
        selector,
      );
      return list.items.map((item): ManagedChild => ({
        kind,
        name: item.metadata!.name!,
        uid: item.metadata!.uid!,
        controller: item.metadata?.ownerReferences?.find((reference) => reference.controller),
        ownerReferences: item.metadata?.ownerReferences ?? [],
        labels: item.metadata?.labels ?? {},
        annotations: item.metadata?.annotations ?? {},
        deleting: item.metadata?.deletionTimestamp !== undefined,
      }));
    }),
  );
  return lists.flat().sort((a, b) => childId(a).localeCompare(childId(b)));
}

/** The runner identity of a Merchant, by the operator's own naming: its ServiceAccount, Role and RoleBinding. */
export function runnerIdentityOf(merchant: string): { kind: ChildKind; name: string }[] {
  const identity = names.runnerIdentityName(merchant);
  return [
    { kind: 'ServiceAccount', name: identity },
    { kind: 'Role', name: identity },
    { kind: 'RoleBinding', name: names.runnerBindingName(merchant) },
  ];
}

/** Children that are not what they should be: owned by no live object, or by an older incarnation of one. */
export function orphansAmong(children: readonly ManagedChild[], owners: readonly Owner[]): string[] {
  const uids = new Map(owners.map((owner) => [owner.metadata.uid, `${owner.kind}/${owner.metadata.name}`]));
  return children.flatMap((child) => {
    if (child.labels[names.componentLabel] === 'migrate') {
      return child.ownerReferences.length === 0 ? [] : [`${childId(child)} (a migrate Job has an owner)`];
    }
    const owner = child.controller;
    if (!owner) return [`${childId(child)} (no controller ownerReference)`];
    const live = uids.get(owner.uid);
    if (live !== `${owner.kind}/${owner.name}`) {
      return [`${childId(child)} (owner ${owner.kind}/${owner.name} uid ${owner.uid} does not exist)`];
    }
    if (child.labels[names.ownerNameLabel] !== owner.name || child.labels[names.ownerKindLabel] !== owner.kind) {
      return [`${childId(child)} (labels name another owner than its ownerReference)`];
    }
    if (child.ownerReferences.length !== 1) return [`${childId(child)} (${child.ownerReferences.length} owners)`];
    return [];
  });
}
