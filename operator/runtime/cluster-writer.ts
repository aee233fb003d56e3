// Every write the operator makes, each one API request: children by server-side apply under the operator's field
// manager, status under a manager of its own (the runner has a third), cleanup Jobs by create. A failure is thrown as
// a RequestError: what the API server answered, in one stable sentence, never the client's exception (headers and all).
import { randomBytes } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import { group, kinds, version, type Owner, type OwnerStatus } from '../api/v1alpha1/types.ts';
import { childKinds, type Child } from '../reconcile/child-kinds.ts';
import type { ClusterWriter, EventRecorder } from '../reconcile/reconcile.ts';
import { describeApiError, RequestError, type RequestVerb } from '../reconcile/request-error.ts';
import { EventSeries } from './event-series.ts';
import type { Metrics } from './metrics.ts';

export const operatorFieldManager = 'switchyard-operator';
export const statusFieldManager = 'switchyard-operator-status';

const isConflict = (error: unknown) => (error as { code?: number }).code === 409;
const isNotFound = (error: unknown) => (error as { code?: number }).code === 404;

/** Runs one request; its failure becomes a RequestError about `kind namespace/name`. */
async function request<T>(
  verb: RequestVerb,
  kind: string,
  namespace: string,
  name: string,
  call: () => Promise<T>,
): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw new RequestError(verb, kind, namespace, name, describeApiError(error));
  }
}

export function createClusterWriter(kubeConfig: k8s.KubeConfig, metrics: Metrics): ClusterWriter {
  const objects = k8s.KubernetesObjectApi.makeApiClient(kubeConfig);
  const custom = kubeConfig.makeApiClient(k8s.CustomObjectsApi);
  const batch = kubeConfig.makeApiClient(k8s.BatchV1Api);
  const applyHeader = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.ServerSideApply);
  return {
    async applyChild(child: Child) {
      metrics.apiWrites.inc({ verb: 'apply' });
      const { namespace, name } = child.metadata!;
      // force: the operator owns these fields; a hand edit is taken back. The reconcile has made sure the object is
      // its own (or absent) first.
      await request('apply', child.kind, namespace!, name!, () =>
        objects.patch(child, undefined, undefined, operatorFieldManager, true, k8s.PatchStrategy.ServerSideApply),
      );
    },
    async readChild(kind, namespace, name) {
      const { apiVersion } = childKinds[kind];
      try {
        return await objects.read({ apiVersion, kind, metadata: { name, namespace } });
      } catch (error) {
        if (isNotFound(error)) return undefined;
        throw new RequestError('get', kind, namespace, name, describeApiError(error));
      }
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
        if (!isNotFound(error)) throw new RequestError('delete', kind, namespace, name, describeApiError(error));
      }
    },
    async createJob(job) {
      metrics.apiWrites.inc({ verb: 'create' });
      const { namespace, name } = job.metadata!;
      try {
        await batch.createNamespacedJob({ namespace: namespace!, body: job, fieldManager: operatorFieldManager });
        return true;
      } catch (error) {
        if (isConflict(error)) return false;
        throw new RequestError('create', 'Job', namespace!, name!, describeApiError(error));
      }
    },
    async applyStatus(owner: Owner, status: OwnerStatus) {
      metrics.apiWrites.inc({ verb: 'status' });
      const { namespace, name } = owner.metadata;
      await request('write the status of', owner.kind, namespace, name, () =>
        custom.patchNamespacedCustomObjectStatus(
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
        ),
      );
    },
  };
}

/** MicroTime as the API server parses it: RFC 3339 with exactly six fractional digits. */
function microTime(time: Date): string {
  return time.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/**
 * Records Kubernetes Events (events.k8s.io) on the Merchant or Cart; an Event that cannot be written is logged, never
 * fatal. A repeat within a few minutes counts up the first Event's series instead of adding an Event.
 */
export function createEventRecorder(
  kubeConfig: k8s.KubeConfig,
  onError: (error: unknown) => void,
  component = 'switchyard-operator',
): EventRecorder {
  const events = kubeConfig.makeApiClient(k8s.EventsV1Api);
  const series = new EventSeries();
  const mergePatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
  return {
    record(owner, { type, reason, action, note }) {
      const now = new Date();
      const { namespace, name: ownerName, uid } = owner.metadata;
      const text = note.slice(0, 1024);
      const key = [uid, type, reason, action, text].join('\n');
      const next = series.occur(
        key,
        now.getTime(),
        // <object>.<unique>, as client-go names its Events.
        () => `${ownerName}.${now.getTime().toString(36)}${randomBytes(3).toString('hex')}`,
      );
      const failed = (verb: RequestVerb) => (error: unknown) => {
        series.forget(key);
        onError(new RequestError(verb, 'Event', namespace, next.name, describeApiError(error)));
      };
      if (next.kind === 'count') {
        events
          .patchNamespacedEvent(
            {
              namespace,
              name: next.name,
              body: { series: { count: next.count, lastObservedTime: microTime(now) } },
            },
            mergePatch,
          )
          .catch(failed('patch'));
        return;
      }
      events
        .createNamespacedEvent({
          namespace,
          body: {
            metadata: { name: next.name, namespace },
            eventTime: new k8s.V1MicroTime(now),
            reportingController: `${group}/${component}`,
            reportingInstance: process.env.HOSTNAME ?? component,
            action,
            reason,
            note: text,
            type,
            regarding: { apiVersion: `${group}/${version}`, kind: owner.kind, name: ownerName, namespace, uid },
          },
        })
        .catch(failed('create'));
    },
  };
}
