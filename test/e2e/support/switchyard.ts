// Helpers for e2e tests of the operator: apply manifests as a user would, read Merchants, Carts and their children.
import * as k8s from '@kubernetes/client-node';
import { parseAllDocuments, stringify } from 'yaml';
import type { Owner } from '../../../operator/api/v1alpha1/types.ts';
import { eventually, kubectl, testKubeConfig } from './cluster.ts';

const kc = testKubeConfig();
const custom = kc.makeApiClient(k8s.CustomObjectsApi);
const core = kc.makeApiClient(k8s.CoreV1Api);
const batch = kc.makeApiClient(k8s.BatchV1Api);
const apps = kc.makeApiClient(k8s.AppsV1Api);

/** `kubectl apply` of YAML text into a namespace; resolves with kubectl's output, rejects with its error. */
export function applyYaml(namespace: string, yaml: string): Promise<string> {
  return kubectl(['apply', '-n', namespace, '-f', '-'], yaml);
}

const services = (schedules: Record<string, string>) =>
  Object.fromEntries(Object.entries(schedules).map(([service, schedule]) => [service, { schedule }]));

/** A Merchant as a user writes it, for applyYaml: its services' schedules and, optionally, its warehouse's Secret. */
export function merchantYaml(name: string, schedules: Record<string, string>, credentialsSecret?: string): string {
  const warehouse = {
    url: 'https://wms.example.com/api',
    ...(credentialsSecret && { credentialsSecretRef: { name: credentialsSecret } }),
  };
  return stringify({
    apiVersion: 'switchyard.dev/v1alpha1',
    kind: 'Merchant',
    metadata: { name },
    spec: { warehouse, services: services(schedules) },
  });
}

/** A Cart of `merchant` as a user writes it, for applyYaml. */
export function cartYaml(name: string, merchant: string, schedules: Record<string, string>): string {
  return stringify({
    apiVersion: 'switchyard.dev/v1alpha1',
    kind: 'Cart',
    metadata: { name },
    spec: {
      merchantRef: { name: merchant },
      platform: { url: 'https://cart.example.com/api' },
      services: services(schedules),
    },
  });
}

/** Re-homes manifests (such as config/samples) into a test namespace. */
export function inNamespace(yaml: string, namespace: string): string {
  return parseAllDocuments(yaml)
    .map((document) => {
      const object = document.toJS() as k8s.KubernetesObject;
      object.metadata = { ...object.metadata, namespace };
      return stringify(object);
    })
    .join('---\n');
}

/** The runner's ServiceAccount, which the Helm chart provides in a real installation. */
export async function createRunnerServiceAccount(namespace: string): Promise<void> {
  await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: 'switchyard-runner' } } });
}

export async function getOwner(kind: 'Merchant' | 'Cart', namespace: string, name: string): Promise<Owner> {
  const plural = kind === 'Merchant' ? 'merchants' : 'carts';
  return (await custom.getNamespacedCustomObject({
    group: 'switchyard.dev',
    version: 'v1alpha1',
    namespace,
    plural,
    name,
  })) as Owner;
}

export function readyCondition(owner: Owner) {
  return owner.status?.conditions?.find((condition) => condition.type === 'Ready');
}

/** Waits until the object is Ready=True for its current generation. */
export function waitForReady(kind: 'Merchant' | 'Cart', namespace: string, name: string, timeoutMs = 60_000) {
  return eventually(
    `${kind} ${name} to be Ready`,
    async () => {
      const owner = await getOwner(kind, namespace, name);
      const ready = readyCondition(owner);
      const current = owner.status?.observedGeneration === owner.metadata.generation;
      return current && ready?.status === 'True' ? owner : undefined;
    },
    { timeoutMs },
  );
}

/** Every workload Switchyard manages in the namespace, as `Kind/name`, sorted. */
export async function listWorkloads(namespace: string): Promise<string[]> {
  const labelSelector = 'app.kubernetes.io/managed-by=switchyard';
  const [cronJobs, deployments] = await Promise.all([
    batch.listNamespacedCronJob({ namespace, labelSelector }),
    apps.listNamespacedDeployment({ namespace, labelSelector }),
  ]);
  return [
    ...cronJobs.items.map((item) => `CronJob/${item.metadata!.name!}`),
    ...deployments.items.map((item) => `Deployment/${item.metadata!.name!}`),
  ].sort();
}

export async function waitForWorkloads(namespace: string, expected: string[], timeoutMs = 60_000): Promise<void> {
  const want = [...expected].sort();
  await eventually(
    `workloads ${want.join(', ')}`,
    async () => {
      const workloads = await listWorkloads(namespace);
      return JSON.stringify(workloads) === JSON.stringify(want) ? true : undefined;
    },
    { timeoutMs },
  );
}

export { apps, batch, core, custom };
