// The reconcile's orchestration with an in-memory view of the cluster and a recording writer: which writes it makes,
// and, as important, which it does not. The same code runs against the real API server in test/e2e.
import type { V1Job } from '@kubernetes/client-node';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { Owner, OwnerStatus } from '../../../operator/api/v1alpha1/types.ts';
import type { Child } from '../../../operator/reconcile/desired.ts';
import {
  reconcileOwner,
  type ClusterView,
  type ObservedChildren,
  type OwnerRef,
  type ReconcileContext,
} from '../../../operator/reconcile/reconcile.ts';
import { scheduleSeed } from '../../../operator/reconcile/plan.ts';
import { cleanupTimesForDay } from '../../../operator/schedule/index.ts';
import { cartFixture, merchantFixture, runnerSettingsFixture } from '../../support/fixtures.ts';

/** A cluster in memory: applied children become observed ones, as the informers would make them. */
function fakeCluster(owners: Owner[], { watchersBecomeAvailable = true } = {}) {
  const children = new Map<string, Child>();
  const createdAt = new Map<string, Date>();
  const jobs: (V1Job & { kind: 'Job' })[] = [];
  const writes: string[] = [];
  const causes: string[] = [];
  const statuses = new Map<string, OwnerStatus>();
  const empty = (): ObservedChildren => ({
    cronJobs: [],
    deployments: [],
    jobs: [],
    serviceAccounts: [],
    roleBindings: [],
  });
  const view: ClusterView = {
    getOwner: (ref) => {
      const owner = owners.find((candidate) => candidate.kind === ref.kind && candidate.metadata.name === ref.name);
      return owner && { ...owner, status: statuses.get(`${ref.kind}/${ref.name}`) };
    },
    childrenOf: (ref) => {
      const observed = empty();
      const ofOwner = (labels: Record<string, string> | undefined) =>
        labels?.['switchyard.dev/owner'] === ref.name && labels['switchyard.dev/owner-kind'] === ref.kind;
      for (const child of children.values()) {
        if (!ofOwner(child.metadata?.labels)) continue;
        // Watchers become available as soon as they exist, as on kwok (unless told otherwise).
        if (child.kind === 'Deployment') {
          const creationTimestamp = createdAt.get(`Deployment/${child.metadata!.name!}`);
          observed.deployments.push({
            ...child,
            metadata: { ...child.metadata, generation: 1, creationTimestamp },
            status: {
              observedGeneration: 1,
              conditions: [{ type: 'Available', status: watchersBecomeAvailable ? 'True' : 'False' }],
            },
          });
        } else if (child.kind === 'CronJob') observed.cronJobs.push(child);
        else if (child.kind === 'ServiceAccount') observed.serviceAccounts.push(child);
        else observed.roleBindings.push(child);
      }
      observed.jobs = jobs.filter((job) => ofOwner(job.metadata?.labels));
      return observed;
    },
  };
  const context = (now: Date): ReconcileContext => ({
    view,
    now: () => now,
    settings: runnerSettingsFixture,
    log: pino({ level: 'silent' }),
    events: { record: () => undefined },
    onCleanupStarted: () => undefined,
    onStatusWritten: (cause) => causes.push(cause),
    writer: {
      applyChild: (child) => {
        const key = `${child.kind}/${child.metadata!.name!}`;
        writes.push(`apply ${key}`);
        if (!children.has(key)) createdAt.set(key, now);
        children.set(key, structuredClone(child));
        return Promise.resolve();
      },
      deleteChild: (kind, _namespace, name) => {
        writes.push(`delete ${kind}/${name}`);
        children.delete(`${kind}/${name}`);
        return Promise.resolve();
      },
      createJob: (job) => {
        writes.push(`create Job/${job.metadata!.name!}`);
        const exists = jobs.some((existing) => existing.metadata?.name === job.metadata?.name);
        if (!exists) jobs.push(job);
        return Promise.resolve(!exists);
      },
      applyStatus: (owner, status) => {
        writes.push(`status ${owner.kind}/${owner.metadata.name}`);
        // What the API server would then hold: the runner's fields merged with the operator's.
        statuses.set(`${owner.kind}/${owner.metadata.name}`, structuredClone(status));
        return Promise.resolve();
      },
    },
  });
  return { children, jobs, writes, causes, statuses, context };
}

const ref = (owner: Owner): OwnerRef => ({ kind: owner.kind, namespace: 'shops', name: owner.metadata.name });
const now = new Date('2026-11-27T12:00:00Z');

describe('reconcileOwner', () => {
  it('applies every child once, then writes nothing while nothing changes', async () => {
    const merchant = merchantFixture();
    const cluster = fakeCluster([merchant]);
    const first = await reconcileOwner(ref(merchant), cluster.context(now));
    expect([...cluster.writes].sort()).toEqual([
      'apply CronJob/acme-inventory',
      'apply CronJob/acme-shipping-confirmations',
      'apply Deployment/acme-order-delivery',
      'apply RoleBinding/acme-runner',
      'apply ServiceAccount/acme-runner',
    ]);
    // The watcher it just created cannot be available yet; rather than report that, it looks again shortly.
    expect(first.requeueAfterMs).toBe(11_000);
    const ready = () => cluster.statuses.get('Merchant/acme')?.conditions?.find((c) => c.type === 'Ready');
    cluster.writes.length = 0;
    await reconcileOwner(ref(merchant), cluster.context(new Date(now.getTime() + 1_000)));
    expect(cluster.writes).toEqual(['status Merchant/acme']);
    expect(cluster.causes).toEqual(['change']);
    expect(ready()).toMatchObject({ status: 'True', reason: 'Reconciled' });
    cluster.writes.length = 0;
    await reconcileOwner(ref(merchant), cluster.context(new Date(now.getTime() + 2_000)));
    expect(cluster.writes).toEqual([]);
  });

  it('reports watchers that are slow to start once their grace is over', async () => {
    const merchant = merchantFixture();
    const cluster = fakeCluster([merchant], { watchersBecomeAvailable: false });
    await reconcileOwner(ref(merchant), cluster.context(now));
    const later = (seconds: number) => cluster.context(new Date(now.getTime() + seconds * 1000));
    const outcome = await reconcileOwner(ref(merchant), later(4));
    expect(cluster.writes.filter((write) => write.startsWith('status'))).toEqual([]);
    expect(outcome.requeueAfterMs).toBe(7_000);
    await reconcileOwner(ref(merchant), later(10));
    const ready = cluster.statuses.get('Merchant/acme')?.conditions?.find((condition) => condition.type === 'Ready');
    expect(ready).toMatchObject({ status: 'False', reason: 'WorkloadsProgressing' });
  });

  it('reports a CronJob run in one status write, when the run ends', async () => {
    const merchant = merchantFixture();
    const cluster = fakeCluster([merchant]);
    await reconcileOwner(ref(merchant), cluster.context(now));
    await reconcileOwner(ref(merchant), cluster.context(now));
    const confirmations = () =>
      cluster.statuses.get('Merchant/acme')?.services?.find((s) => s.name === 'shippingConfirmations');
    // The first run of every 30 minutes, staggered: the other services' runs are further off.
    const dueAt = confirmations()!.nextRunTime!;
    const cronJob = cluster.children.get('CronJob/acme-shipping-confirmations') as Child & { kind: 'CronJob' };
    const at = (offsetSeconds: number) => new Date(Date.parse(dueAt) + offsetSeconds * 1000);

    // The CronJob controller starts a Job: the run is in progress, and nothing is written yet.
    cronJob.status = { lastScheduleTime: at(0), active: [{ name: 'acme-shipping-confirmations-1' }] };
    cluster.writes.length = 0;
    await reconcileOwner(ref(merchant), cluster.context(at(5)));
    expect(cluster.writes).toEqual([]);
    expect(confirmations()?.nextRunTime).toBe(dueAt);

    // The run ends: its start, its success and the next run, in one write.
    cronJob.status = { lastScheduleTime: at(0), lastSuccessfulTime: at(40) };
    await reconcileOwner(ref(merchant), cluster.context(at(41)));
    expect(cluster.writes).toEqual(['status Merchant/acme']);
    expect(cluster.causes.at(-1)).toBe('schedule');
    expect(confirmations()).toMatchObject({
      lastRunTime: dueAt,
      lastSuccessTime: at(40).toISOString().replace('.000Z', 'Z'),
    });
    expect(Date.parse(confirmations()!.nextRunTime!)).toBeGreaterThan(Date.parse(dueAt));
  });

  it('deletes the workload of a service that was disabled', async () => {
    const merchant = merchantFixture();
    const cluster = fakeCluster([merchant]);
    await reconcileOwner(ref(merchant), cluster.context(now));
    merchant.spec.services.inventory = { schedule: 'Disabled', suspend: false, batchSize: 100 };
    cluster.writes.length = 0;
    await reconcileOwner(ref(merchant), cluster.context(now));
    expect(cluster.writes).toEqual(['delete CronJob/acme-inventory', 'status Merchant/acme']);
  });

  it('waits for the Merchant without creating anything', async () => {
    const cart = cartFixture();
    const cluster = fakeCluster([cart]);
    await reconcileOwner(ref(cart), cluster.context(now));
    expect(cluster.writes).toEqual(['status Cart/acme-shopify']);
    const ready = cluster.statuses
      .get('Cart/acme-shopify')
      ?.conditions?.find((condition) => condition.type === 'Ready');
    expect(ready).toMatchObject({ status: 'False', reason: 'MerchantNotFound' });
  });

  describe('cleanup runs', () => {
    const merchant = merchantFixture();
    const seed = scheduleSeed(merchant, 'orderDelivery');
    const [morning] = cleanupTimesForDay(seed, '2026-11-27', merchant.spec.timeZone);

    it('starts the cleanup Job that is due, once, and reports it', async () => {
      const cluster = fakeCluster([merchant]);
      const late = new Date(morning.getTime() + 30 * 60_000);
      await reconcileOwner(ref(merchant), cluster.context(late));
      const created = cluster.writes.filter((write) => write.startsWith('create'));
      expect(created).toHaveLength(1);
      // The next look, once the new watcher is available, reports the cleanup.
      const outcome = await reconcileOwner(ref(merchant), cluster.context(new Date(late.getTime() + 1_000)));
      expect(cluster.writes.filter((write) => write.startsWith('create'))).toHaveLength(1);
      expect(cluster.jobs[0]?.metadata?.annotations?.['switchyard.dev/cleanup-time']).toBe(morning.toISOString());
      const service = cluster.statuses.get('Merchant/acme')?.services?.find((entry) => entry.name === 'orderDelivery');
      expect(service?.cleanup?.lastTime).toBe(morning.toISOString().replace('.000Z', 'Z'));
      expect(service?.cleanup?.nextTimes).toHaveLength(2);
      // The next wake-up is the next cleanup, not sooner.
      expect(outcome.requeueAfterMs).toBeGreaterThan(60 * 60_000);

      cluster.writes.length = 0;
      await reconcileOwner(ref(merchant), cluster.context(new Date(late.getTime() + 60_000)));
      expect(cluster.writes.filter((write) => write.startsWith('create'))).toEqual([]);
    });

    it('runs a cleanup missed while the operator was down only if it is less than an hour late', async () => {
      const cluster = fakeCluster([merchant]);
      await reconcileOwner(ref(merchant), cluster.context(new Date(morning.getTime() + 61 * 60_000)));
      expect(cluster.jobs).toHaveLength(0);
    });

    it('does not count a slot that passed before the object existed as a missed cleanup', async () => {
      const newer = merchantFixture();
      newer.metadata.creationTimestamp = new Date(morning.getTime() + 60_000).toISOString();
      const cluster = fakeCluster([newer]);
      await reconcileOwner(ref(newer), cluster.context(new Date(morning.getTime() + 10 * 60_000)));
      expect(cluster.jobs).toHaveLength(0);
    });

    it('starts no cleanup for a suspended merchant', async () => {
      const suspended = merchantFixture({ spec: { suspend: true } });
      const cluster = fakeCluster([suspended]);
      await reconcileOwner(ref(suspended), cluster.context(new Date(morning.getTime() + 60_000)));
      expect(cluster.jobs).toHaveLength(0);
    });
  });
});
