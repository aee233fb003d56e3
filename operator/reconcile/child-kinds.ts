// The kinds of object the operator makes, described once: the informers watch them, the reconcile observes and
// applies them, the writer addresses them, and the tests' fake cluster holds them, all from this table.
import type { V1CronJob, V1Deployment, V1Job, V1Role, V1RoleBinding, V1ServiceAccount } from '@kubernetes/client-node';
import { managedSelector, operatorJobSelector } from './names.ts';

interface ChildKindDefinition {
  readonly apiVersion: string;
  readonly plural: string;
  /** Which of them the operator caches: all it manages, or for Jobs only its own (its CronJobs leave many). */
  readonly selector: string;
  /** Applied with server-side apply, and deleted when no longer wanted; Jobs are created once instead. */
  readonly applied: boolean;
}

export const childKinds = {
  ServiceAccount: { apiVersion: 'v1', plural: 'serviceaccounts', selector: managedSelector, applied: true },
  Role: { apiVersion: 'rbac.authorization.k8s.io/v1', plural: 'roles', selector: managedSelector, applied: true },
  RoleBinding: {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    plural: 'rolebindings',
    selector: managedSelector,
    applied: true,
  },
  CronJob: { apiVersion: 'batch/v1', plural: 'cronjobs', selector: managedSelector, applied: true },
  Deployment: { apiVersion: 'apps/v1', plural: 'deployments', selector: managedSelector, applied: true },
  Job: { apiVersion: 'batch/v1', plural: 'jobs', selector: operatorJobSelector, applied: false },
} as const satisfies Record<string, ChildKindDefinition>;

export type ChildKind = keyof typeof childKinds;
export const childKindNames = Object.keys(childKinds) as ChildKind[];

/** The kinds that are applied (and deleted when unwanted). */
export type AppliedKind = { [K in ChildKind]: (typeof childKinds)[K]['applied'] extends true ? K : never }[ChildKind];
export const appliedKinds = childKindNames.filter((kind) => childKinds[kind].applied) as AppliedKind[];

export interface ChildObjects {
  ServiceAccount: V1ServiceAccount;
  Role: V1Role;
  RoleBinding: V1RoleBinding;
  CronJob: V1CronJob;
  Deployment: V1Deployment;
  Job: V1Job;
}

/** One object the operator applies, with its kind set. */
export type Child = { [K in AppliedKind]: ChildObjects[K] & { kind: K } }[AppliedKind];

/** The children of one object as the caches have them, by kind. */
export type ObservedChildren = { [K in ChildKind]: ChildObjects[K][] };

export function noChildren(): ObservedChildren {
  return { ServiceAccount: [], Role: [], RoleBinding: [], CronJob: [], Deployment: [], Job: [] };
}
