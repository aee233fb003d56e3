// Every write the operator makes, each one API request: children by server-side apply under the operator's field
// manager, status under a manager of its own (the runner has a third), cleanup Jobs by create.
import { randomBytes } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import { group, kinds, version, type Owner, type OwnerStatus } from '../api/v1alpha1/types.ts';
import { childKinds, type Child } from '../reconcile/child-kinds.ts';
import type { ClusterWriter, EventRecorder } from '../reconcile/reconcile.ts';
import type { Metrics } from './metrics.ts';

export const operatorFieldManager = 'switchyard-operator';
export const statusFieldManager = 'switchyard-operator-status';

const isConflict = (error: unknown) => (error as { code?: number }).code === 409;
const isNotFound = (error: unknown) => (error as { code?: number }).code === 404;

export function createClusterWriter(kubeConfig: k8s.KubeConfig, metrics: Metrics): ClusterWriter {
  const objects = k8s.KubernetesObjectApi.makeApiClient(kubeConfig);
  const custom = kubeConfig.makeApiClient(k8s.CustomObjectsApi);
  const batch = kubeConfig.makeApiClient(k8s.BatchV1Api);
  const applyHeader = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.ServerSideApply);
  return {
    async applyChild(child: Child) {
      metrics.apiWrites.inc({ verb: 'apply' });
      // force: the operator owns these fields; a hand edit is taken back.
      await objects.patch(child, undefined, undefined, operatorFieldManager, true, k8s.PatchStrategy.ServerSideApply);
    },
    async deleteChild(kind, namespace, name) {
      metrics.apiWrites.inc({ verb: 'delete' });
      const { apiVersion } = childKinds[kind];
      try {
        await objects.delete(
          { apiVersion, kind, metadata: { name, namespace } },
          undefined,
          undefined,
          undefined,
          undefined,
          'Background',
        );
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
    },
    async createJob(job) {
      metrics.apiWrites.inc({ verb: 'create' });
      try {
        await batch.createNamespacedJob({
          namespace: job.metadata!.namespace!,
          body: job,
          fieldManager: operatorFieldManager,
        });
        return true;
      } catch (error) {
        if (isConflict(error)) return false;
        throw error;
      }
    },
    async applyStatus(owner: Owner, status: OwnerStatus) {
      metrics.apiWrites.inc({ verb: 'status' });
      await custom.patchNamespacedCustomObjectStatus(
        {
          group,
          version,
          plural: kinds[owner.kind].plural,
          namespace: owner.metadata.namespace,
          name: owner.metadata.name,
          body: {
            apiVersion: `${group}/${version}`,
            kind: owner.kind,
            metadata: { name: owner.metadata.name, namespace: owner.metadata.namespace },
            status,
          },
          fieldManager: statusFieldManager,
          force: true,
        },
        applyHeader,
      );
    },
  };
}

/** Records Kubernetes Events on the Merchant or Cart; an Event that cannot be written is logged, never fatal. */
export function createEventRecorder(
  kubeConfig: k8s.KubeConfig,
  onError: (error: unknown) => void,
  component = 'switchyard-operator',
): EventRecorder {
  const events = kubeConfig.makeApiClient(k8s.EventsV1Api);
  return {
    record(owner, type, reason, message) {
      const now = new Date();
      events
        .createNamespacedEvent({
          namespace: owner.metadata.namespace,
          body: {
            // <object>.<unique>, as client-go names its Events.
            metadata: {
              name: `${owner.metadata.name}.${now.getTime().toString(36)}${randomBytes(3).toString('hex')}`,
              namespace: owner.metadata.namespace,
            },
            eventTime: new k8s.V1MicroTime(now),
            reportingController: `${group}/${component}`,
            reportingInstance: process.env.HOSTNAME ?? component,
            action: reason,
            reason,
            note: message.slice(0, 1024),
            type,
            regarding: {
              apiVersion: `${group}/${version}`,
              kind: owner.kind,
              name: owner.metadata.name,
              namespace: owner.metadata.namespace,
              uid: owner.metadata.uid,
            },
          },
        })
        .catch(onError);
    },
  };
}
