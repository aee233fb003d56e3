// The backlog and freshness gauges, as samples: pure, from the Merchants, Carts and watcher Deployments the informers
// hold, and the time. Per service what its runner reported in status.services[] (records waiting and failed, when the
// oldest waiting record began to wait, the last success) and the period the operator's stall judgement uses; per
// object when it was created (so a service that never succeeded is judged from then); per Merchant whether its
// watcher is up. The alerts of the chart's PrometheusRule (docs/monitoring.md) read these.
import type { V1Deployment } from '@kubernetes/client-node';
import { serviceCatalogue, isServiceName, type OwnerKind } from '../api/v1alpha1/services.ts';
import type { Merchant, Owner, ServiceStatus } from '../api/v1alpha1/types.ts';
import { deliveryPeriodMs } from '../reconcile/health.ts';
import { ownerKindLabel, ownerNameLabel, watcherName } from '../reconcile/names.ts';
import { planServices } from '../reconcile/plan.ts';

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

interface ServicePeriod {
  service: string;
  seconds: number;
}

/**
 * The periods of the last scrape, by object, with what they were computed from. Planning an object costs a schema
 * parse, a hash per service and a time zone check (about a millisecond; seconds for a fleet of thousands, at every
 * scrape): a scrape reuses the last one's periods of an object whose spec and Merchant's time zone are unchanged.
 */
export type PeriodMemo = Map<string, { basis: string; periods: ServicePeriod[] }>;

/**
 * The period of each service the operator judges, as health.ts's deliveryPeriodMs from the object's plans. None for a
 * Cart whose Merchant is missing or an object whose spec does not plan: the operator judges neither.
 */
function servicePeriods(owner: Owner, merchant: Merchant | undefined, hubStoreSecret: string, now: Date) {
  if (!merchant) return [];
  const planned = planServices(owner, merchant.spec.timeZone ?? 'UTC', now, hubStoreSecret);
  if (!planned.ok) return [];
  return planned.plans.flatMap((plan): ServicePeriod[] => {
    if (plan.mode === 'disabled' || plan.suspended) return [];
    return [{ service: plan.service, seconds: deliveryPeriodMs(plan)! / 1000 }];
  });
}

const memoKey = (owner: Owner) => `${owner.kind}/${owner.metadata.namespace}/${owner.metadata.name}`;

function memoizedPeriods(owner: Owner, objects: CachedObjects, hubStoreSecret: string, now: Date, memo: PeriodMemo) {
  const { namespace, uid, generation, resourceVersion } = owner.metadata;
  const merchant = owner.kind === 'Merchant' ? owner : objects.merchant(namespace, owner.spec.merchantRef.name);
  // The spec changes with the generation (the resource version where there is none).
  const basis = JSON.stringify([uid, generation ?? resourceVersion, merchant?.spec.timeZone ?? null, hubStoreSecret]);
  const key = memoKey(owner);
  const known = memo.get(key);
  if (known?.basis === basis) return known.periods;
  const periods = servicePeriods(owner, merchant, hubStoreSecret, now);
  memo.set(key, { basis, periods });
  return periods;
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

/**
 * Every sample of every backlog gauge. Objects being deleted have none: their series end with them. `memo` is the
 * last scrape's periods, brought up to date (pure apart from it).
 */
export function backlogSamples(
  objects: CachedObjects,
  hubStoreSecret: string,
  now: Date,
  memo: PeriodMemo = new Map(),
): BacklogSamples {
  const samples: BacklogSamples = {
    pendingRecords: [],
    failedRecords: [],
    lastSuccessTime: [],
    oldestPendingTime: [],
    periodSeconds: [],
    ownerCreationTime: [],
    watcherUp: [],
  };
  const present = new Set<string>();
  for (const owner of objects.owners) {
    if (owner.metadata.deletionTimestamp) continue;
    present.add(memoKey(owner));
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
    for (const { service, seconds } of memoizedPeriods(owner, objects, hubStoreSecret, now, memo)) {
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
  for (const key of memo.keys()) if (!present.has(key)) memo.delete(key);
  return samples;
}
