// Proves that the test cluster is a real one: the behaviours an operator relies on all happen here.
import * as k8s from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { eventually, isNotFound, kubectl, testKubeConfig, useTestNamespace } from '../support/cluster.ts';

const namespace = useTestNamespace('control-plane');
const kc = testKubeConfig();
const core = kc.makeApiClient(k8s.CoreV1Api);
const apps = kc.makeApiClient(k8s.AppsV1Api);
const batch = kc.makeApiClient(k8s.BatchV1Api);
const objects = k8s.KubernetesObjectApi.makeApiClient(kc);

describe('the test control plane', () => {
  it('answers /readyz', async () => {
    expect((await kubectl(['get', '--raw', '/readyz'])).trim()).toBe('ok');
  });

  it('garbage-collects a child whose owner is deleted (kube-controller-manager)', async () => {
    const owner = await core.createNamespacedConfigMap({
      namespace: namespace.name,
      body: { metadata: { name: 'owner' } },
    });
    await core.createNamespacedConfigMap({
      namespace: namespace.name,
      body: {
        metadata: {
          name: 'child',
          ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: owner.metadata!.uid! }],
        },
      },
    });
    await core.deleteNamespacedConfigMap({ namespace: namespace.name, name: 'owner' });
    await eventually('the child to be garbage-collected', async () => {
      try {
        await core.readNamespacedConfigMap({ namespace: namespace.name, name: 'child' });
        return undefined;
      } catch (error) {
        if (isNotFound(error)) return true;
        throw error;
      }
    });
  });

  it('runs a CronJob: the schedule creates a Job whose pod completes on a kwok node', async () => {
    await batch.createNamespacedCronJob({
      namespace: namespace.name,
      body: {
        metadata: { name: 'every-minute' },
        spec: {
          schedule: '* * * * *',
          jobTemplate: {
            spec: {
              template: {
                spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'busybox', command: ['true'] }] },
              },
            },
          },
        },
      },
    });
    const succeeded = await eventually(
      'a Job created by the CronJob to succeed',
      async () => {
        const jobs = await batch.listNamespacedJob({ namespace: namespace.name });
        return jobs.items.find((job) => (job.status?.succeeded ?? 0) >= 1);
      },
      { timeoutMs: 150_000, intervalMs: 1_000 },
    );
    expect(succeeded.metadata?.ownerReferences?.[0]?.kind).toBe('CronJob');
    const pods = await core.listNamespacedPod({
      namespace: namespace.name,
      labelSelector: `job-name=${succeeded.metadata!.name!}`,
    });
    expect(pods.items.some((pod) => pod.status?.phase === 'Succeeded' && pod.spec?.nodeName)).toBe(true);
  });

  it('makes a Deployment Available', async () => {
    const labels = { app: 'web' };
    await apps.createNamespacedDeployment({
      namespace: namespace.name,
      body: {
        metadata: { name: 'web' },
        spec: {
          replicas: 2,
          selector: { matchLabels: labels },
          template: { metadata: { labels }, spec: { containers: [{ name: 'web', image: 'nginx' }] } },
        },
      },
    });
    const deployment = await eventually('the Deployment to become Available', async () => {
      const found = await apps.readNamespacedDeployment({ namespace: namespace.name, name: 'web' });
      const available = found.status?.conditions?.find((c) => c.type === 'Available');
      return available?.status === 'True' ? found : undefined;
    });
    expect(deployment.status?.availableReplicas).toBe(2);
  });

  it('serves server-side apply and the status subresource of a custom resource', async () => {
    const crd = {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'widgets.e2e.switchyard.dev' },
      spec: {
        group: 'e2e.switchyard.dev',
        scope: 'Namespaced',
        names: { plural: 'widgets', singular: 'widget', kind: 'Widget', listKind: 'WidgetList' },
        versions: [
          {
            name: 'v1',
            served: true,
            storage: true,
            subresources: { status: {} },
            schema: {
              openAPIV3Schema: {
                type: 'object',
                properties: {
                  spec: { type: 'object', properties: { size: { type: 'integer' } } },
                  status: { type: 'object', properties: { phase: { type: 'string' } } },
                },
              },
            },
          },
        ],
      },
    };
    await objects.patch(crd, undefined, undefined, 'e2e', true, k8s.PatchStrategy.ServerSideApply);
    await kubectl(['wait', '--for=condition=Established', 'crd/widgets.e2e.switchyard.dev', '--timeout=30s']);

    const widget = {
      apiVersion: 'e2e.switchyard.dev/v1',
      kind: 'Widget',
      metadata: { name: 'w', namespace: namespace.name },
    };
    const applied = await eventually('the new API to serve apply', () =>
      objects.patch(
        { ...widget, spec: { size: 1 } } as k8s.KubernetesObject,
        undefined,
        undefined,
        'e2e',
        true,
        k8s.PatchStrategy.ServerSideApply,
      ),
    );
    expect(applied.metadata?.generation).toBe(1);

    const custom = kc.makeApiClient(k8s.CustomObjectsApi);
    const withStatus = (await custom.patchNamespacedCustomObjectStatus(
      {
        group: 'e2e.switchyard.dev',
        version: 'v1',
        namespace: namespace.name,
        plural: 'widgets',
        name: 'w',
        body: { ...widget, status: { phase: 'Ready' } },
        fieldManager: 'e2e-status',
        force: true,
      },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.ServerSideApply),
    )) as { metadata: { generation: number }; status: { phase: string } };
    // A status write is not a spec change: the generation stays.
    expect(withStatus.status.phase).toBe('Ready');
    expect(withStatus.metadata.generation).toBe(1);

    // Writes to the main resource cannot touch status.
    const respec = await objects.patch(
      { ...widget, spec: { size: 2 }, status: { phase: 'Overwritten' } } as k8s.KubernetesObject,
      undefined,
      undefined,
      'e2e',
      true,
      k8s.PatchStrategy.ServerSideApply,
    );
    expect(respec.metadata?.generation).toBe(2);
    expect((respec as unknown as { status: { phase: string } }).status.phase).toBe('Ready');
    await objects.delete(crd);
  });
});
