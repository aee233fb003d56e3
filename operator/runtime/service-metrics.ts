// The backlog and freshness gauges, as samples: pure, from the Merchants, Carts and watcher Deployments the informers
// hold, and the time. Per service what its runner reported in status.services[] (records waiting and failed, when the
// oldest waiting record began to wait, the last success) and the period the operator's stall judgement uses (as the
// reconcile last planned it: planning at every scrape cost seconds and tens of MiB for a fleet); per
// object when it was created (so a service that never succeeded is judged from then); per Merchant whether its
// watcher is up. The alerts of the chart's PrometheusRule (docs/monitoring.md) read these.
import type { V1Deployment } from '@kubernetes/client-node';
import { serviceCatalogue, isServiceName, type OwnerKind } from '../api/v1alpha1/services.ts';
import type { Merchant, Owner, ServiceStatus } from '../api/v1alpha1/types.ts';
import type { ServicePeriod } from '../reconcile/health.ts';
import { ownerKindLabel, ownerNameLabel, watcherName } from '../reconcile/names.ts';

export interface OwnerLabels {
  namespace: string;
  kind: OwnerKind;
  name: string;
}
export interface ServiceLabels extends OwnerLabels {
  service: string;
}
export interface WatcherLabels {
  namespace: string;
  merchant: string;
}

export interface Sample<Labels> {
  labels: Labels;
  value: number;
}

/** One array per gauge (see metrics.ts). Times are seconds since the Unix epoch, periods seconds. */
export interface BacklogSamples {
  /** Delivery services whose runner reported pendingRecords. */
  pendingRecords: Sample<ServiceLabels>[];
  /** Services whose runner reported failedRecords.count. */
  failedRecords: Sample<ServiceLabels>[];
  lastSuccessTime: Sample<ServiceLabels>[];
  oldestPendingTime: Sample<ServiceLabels>[];
  /** Services the operator judges: neither disabled nor suspended, of an object whose spec plans. */
  periodSeconds: Sample<ServiceLabels>[];
  ownerCreationTime: Sample<OwnerLabels>[];
  /** 1 when the Merchant's watcher Deployment has an available replica, else 0; Merchants without one have none. */
  watcherUp: Sample<WatcherLabels>[];
}

/** What the caches hold, as the samples need it. */
export interface CachedObjects {
  /** Every Merchant and Cart. */
  owners: readonly Owner[];
  merchant(namespace: string, name: string): Merchant | undefined;
  /** A Deployment the operator manages. */
  deployment(namespace: string, name: string): V1Deployment | undefined;
  /** The periods of the object's judged services as its last reconcile planned them (none if it does not plan). */
  periods(owner: Owner): readonly ServicePeriod[] | undefined;
}

function epochSeconds(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms / 1000;
}

/** The entries of status.services that name a service of the object's kind: status is anyone's to write. */
function reportedServices(owner: Owner): ServiceStatus[] {
  return (owner.status?.services ?? []).filter(
    (entry) => isServiceName(entry.name) && serviceCatalogue[entry.name].owner === owner.kind,
  );
}

/** 1 or 0 for the Merchant's own watcher Deployment (by name and owner labels), undefined when it has none. */
function watcherUp(merchant: Merchant, objects: CachedObjects): number | undefined {
  const { namespace, name } = merchant.metadata;
  const deployment = objects.deployment(namespace, watcherName(name));
  const labels = deployment?.metadata?.labels ?? {};
  if (!deployment || deployment.metadata?.deletionTimestamp) return undefined;
  if (labels[ownerKindLabel] !== 'Merchant' || labels[ownerNameLabel] !== name) return undefined;
  return (deployment.status?.availableReplicas ?? 0) > 0 ? 1 : 0;
}

/** Every sample of every backlog gauge. Objects being deleted have none: their series end with them. */
export function backlogSamples(objects: CachedObjects): BacklogSamples {
  const samples: BacklogSamples = {
    pendingRecords: [],
    failedRecords: [],
    lastSuccessTime: [],
    oldestPendingTime: [],
    periodSeconds: [],
    ownerCreationTime: [],
    watcherUp: [],
  };
  for (const owner of objects.owners) {
    if (owner.metadata.deletionTimestamp) continue;
    const ownerLabels: OwnerLabels = {
      namespace: owner.metadata.namespace,
      kind: owner.kind,
      name: owner.metadata.name,
    };
    const created = epochSeconds(owner.metadata.creationTimestamp);
    if (created !== undefined) samples.ownerCreationTime.push({ labels: ownerLabels, value: created });
    for (const entry of reportedServices(owner)) {
      const labels = { ...ownerLabels, service: entry.name };
      const add = (into: Sample<ServiceLabels>[], value: number | undefined) => {
        if (value !== undefined) into.push({ labels, value });
      };
      add(samples.pendingRecords, entry.pendingRecords);
      add(samples.failedRecords, entry.failedRecords?.count);
      add(samples.lastSuccessTime, epochSeconds(entry.lastSuccessTime));
      add(samples.oldestPendingTime, epochSeconds(entry.oldestPendingTime));
    }
    for (const { service, seconds } of objects.periods(owner) ?? []) {
      samples.periodSeconds.push({ labels: { ...ownerLabels, service }, value: seconds });
    }
    if (owner.kind === 'Merchant') {
      const up = watcherUp(owner, objects);
      if (up !== undefined) {
        samples.watcherUp.push({
          labels: { namespace: ownerLabels.namespace, merchant: owner.metadata.name },
          value: up,
        });
      }
    }
  }
  return samples;
}
