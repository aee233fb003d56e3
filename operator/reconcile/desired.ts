// What the operator wants to exist for one Merchant or Cart: pure functions from the object and its service plans to
// the manifests of its children. Nothing here talks to the API server.
import type {
  V1CronJob,
  V1Deployment,
  V1EnvVar,
  V1Job,
  V1OwnerReference,
  V1PodSpec,
  V1RoleBinding,
  V1ServiceAccount,
} from '@kubernetes/client-node';
import { runnerEnv } from '../api/runner-environment.ts';
import { apiVersion, type Owner } from '../api/v1alpha1/types.ts';
import type { ServiceName } from '../api/v1alpha1/services.ts';
import {
  childLabels,
  childName,
  cleanupJobName,
  cleanupTimeAnnotation,
  runnerIdentityName,
  type Component,
} from './names.ts';

/** How the operator runs the runner: from its own configuration, the same for every object. */
export interface RunnerSettings {
  image: string;
  imagePullPolicy: 'Always' | 'IfNotPresent' | 'Never';
  /** Secrets for pulling the runner image; each must exist in the namespaces that hold Merchants. */
  imagePullSecrets: readonly string[];
  /** The ClusterRole that lets a runner report to its owner's status; bound per merchant. */
  clusterRoleName: string;
  /** The Secret holding the hub store's PostgreSQL URL. */
  databaseSecret: { name: string; key: string };
  logLevel: string;
  resources: { requests: Record<string, string>; limits: Record<string, string> };
}

/** One service of an object as the operator will run it, after validation and stagger. */
export type ServicePlan =
  | { service: ServiceName; mode: 'disabled' }
  | { service: ServiceName; mode: 'automatic'; suspended: boolean; batchSize: number }
  | { service: ServiceName; mode: 'interval'; suspended: boolean; batchSize: number; cron: string; timeZone: string };

export type Child =
  | (V1CronJob & { kind: 'CronJob' })
  | (V1Deployment & { kind: 'Deployment' })
  | (V1ServiceAccount & { kind: 'ServiceAccount' })
  | (V1RoleBinding & { kind: 'RoleBinding' });

export interface OwnerContext {
  owner: Owner;
  /** The merchant the records belong to: the Merchant itself, or the Cart's merchantRef. */
  merchantName: string;
  settings: RunnerSettings;
}

type RunnerMode = 'run' | 'watch' | 'cleanup';

function ownerReference(owner: Owner): V1OwnerReference {
  return {
    apiVersion,
    kind: owner.kind,
    name: owner.metadata.name,
    uid: owner.metadata.uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}

function endpointOf(owner: Owner) {
  return owner.kind === 'Merchant' ? owner.spec.warehouse : owner.spec.platform;
}

function runnerEnvironment(context: OwnerContext, service: ServiceName, batchSize: number): V1EnvVar[] {
  const { owner, settings } = context;
  const endpoint = endpointOf(owner);
  const env: V1EnvVar[] = [
    { name: runnerEnv.ownerKind, value: owner.kind },
    { name: runnerEnv.ownerName, value: owner.metadata.name },
    { name: runnerEnv.namespace, valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
    { name: runnerEnv.merchant, value: context.merchantName },
    { name: runnerEnv.service, value: service },
    { name: runnerEnv.batchSize, value: String(batchSize) },
    { name: runnerEnv.endpointType, value: endpoint.type },
    { name: runnerEnv.endpointUrl, value: endpoint.url },
  ];
  if (endpoint.credentialsSecretRef) {
    const { name, key } = endpoint.credentialsSecretRef;
    env.push({ name: runnerEnv.endpointToken, valueFrom: { secretKeyRef: { name, key } } });
  }
  env.push(
    { name: runnerEnv.databaseUrl, valueFrom: { secretKeyRef: settings.databaseSecret } },
    { name: runnerEnv.logLevel, value: settings.logLevel },
  );
  return env;
}

/** The runner's pod: restricted security context (non-root, read-only root, no privilege, no capabilities). */
function runnerPodSpec(
  context: OwnerContext,
  service: ServiceName,
  mode: RunnerMode,
  batchSize: number,
  restartPolicy: 'Never' | 'Always',
): V1PodSpec {
  const { settings } = context;
  return {
    serviceAccountName: runnerIdentityName(context.merchantName),
    ...(settings.imagePullSecrets.length > 0 && {
      imagePullSecrets: settings.imagePullSecrets.map((name) => ({ name })),
    }),
    restartPolicy,
    securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
    containers: [
      {
        name: 'runner',
        image: settings.image,
        imagePullPolicy: settings.imagePullPolicy,
        command: ['switchyard-runner'],
        args: [mode, '--service', service],
        env: runnerEnvironment(context, service, batchSize),
        resources: settings.resources,
        securityContext: {
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          runAsNonRoot: true,
          capabilities: { drop: ['ALL'] },
        },
      },
    ],
  };
}

function childMetadata(context: OwnerContext, service: ServiceName | undefined, component: Component, name: string) {
  const { owner } = context;
  return {
    name,
    namespace: owner.metadata.namespace,
    labels: childLabels(owner.kind, owner.metadata.name, service, component),
    ownerReferences: [ownerReference(owner)],
  };
}

/** Jobs that outlive a run by this long are late; the next firing should take over. */
const startingDeadlineSeconds = 120;

function buildCronJob(context: OwnerContext, plan: Extract<ServicePlan, { mode: 'interval' }>): Child {
  const metadata = childMetadata(
    context,
    plan.service,
    'interval',
    childName(context.owner.metadata.name, plan.service),
  );
  return {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata,
    spec: {
      schedule: plan.cron,
      timeZone: plan.timeZone,
      // The runner claims its records, but two runs of one service would only compete for them.
      concurrencyPolicy: 'Forbid',
      startingDeadlineSeconds,
      successfulJobsHistoryLimit: 3,
      failedJobsHistoryLimit: 1,
      suspend: plan.suspended,
      jobTemplate: {
        metadata: { labels: metadata.labels },
        spec: {
          backoffLimit: 2,
          template: {
            metadata: { labels: metadata.labels },
            spec: runnerPodSpec(context, plan.service, 'run', plan.batchSize, 'Never'),
          },
        },
      },
    },
  };
}

function buildWatcherDeployment(context: OwnerContext, plan: Extract<ServicePlan, { mode: 'automatic' }>): Child {
  const metadata = childMetadata(
    context,
    plan.service,
    'watcher',
    childName(context.owner.metadata.name, plan.service),
  );
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata,
    spec: {
      replicas: plan.suspended ? 0 : 1,
      selector: { matchLabels: metadata.labels },
      template: {
        metadata: { labels: metadata.labels },
        spec: runnerPodSpec(context, plan.service, 'watch', plan.batchSize, 'Always'),
      },
    },
  };
}

/**
 * Each merchant's runners get an identity of their own, able to report to the status of that merchant's objects in
 * that namespace and nothing else: a ServiceAccount and a RoleBinding of the runner ClusterRole.
 */
function buildRunnerIdentity(context: OwnerContext): Child[] {
  const name = runnerIdentityName(context.owner.metadata.name);
  const metadata = childMetadata(context, undefined, 'identity', name);
  return [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata,
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: context.settings.clusterRoleName },
      subjects: [{ kind: 'ServiceAccount', name, namespace: context.owner.metadata.namespace }],
    },
  ];
}

/**
 * The children of one object: a CronJob per interval service, a watcher Deployment per Automatic service, and for a
 * Merchant the runners' identity, which its Carts' runners share.
 */
export function buildChildren(context: OwnerContext, plans: readonly ServicePlan[]): Child[] {
  const identity = context.owner.kind === 'Merchant' ? buildRunnerIdentity(context) : [];
  const workloads = plans.flatMap((plan): Child[] => {
    switch (plan.mode) {
      case 'interval':
        return [buildCronJob(context, plan)];
      case 'automatic':
        return [buildWatcherDeployment(context, plan)];
      case 'disabled':
        return [];
    }
  });
  return [...identity, ...workloads];
}

/** Finished cleanup Jobs delete themselves after this long; the grace for a late cleanup is shorter. */
const cleanupTtlSeconds = 2 * 3600;

/** A cleanup run of an Automatic service: one Job that retries every failed record and then removes itself. */
export function buildCleanupJob(
  context: OwnerContext,
  plan: Extract<ServicePlan, { mode: 'automatic' }>,
  scheduledFor: Date,
): V1Job & { kind: 'Job' } {
  const name = cleanupJobName(context.owner.metadata.name, plan.service, scheduledFor);
  const metadata = childMetadata(context, plan.service, 'cleanup', name);
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { ...metadata, annotations: { [cleanupTimeAnnotation]: scheduledFor.toISOString() } },
    spec: {
      backoffLimit: 2,
      ttlSecondsAfterFinished: cleanupTtlSeconds,
      template: {
        metadata: { labels: metadata.labels },
        spec: runnerPodSpec(context, plan.service, 'cleanup', plan.batchSize, 'Never'),
      },
    },
  };
}
