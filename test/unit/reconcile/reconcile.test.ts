// The reconcile's orchestration with an in-memory view of the cluster and a recording writer: which writes it makes,
// and, as important, which it does not. The same code runs against the real API server in test/e2e.
import type { KubernetesObject, V1Job, V1Pod } from '@kubernetes/client-node';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { hubSchemaVersion } from '../../../operator/api/runner-contract.ts';
import { migrateJobName } from '../../../operator/reconcile/names.ts';
import type { Cart, Owner, OwnerStatus } from '../../../operator/api/v1alpha1/types.ts';
import { noChildren, type Child } from '../../../operator/reconcile/child-kinds.ts';
import {
  nameConflictRecheckMs,
  reconcileOwner,
  type ClusterView,
  type OwnerRef,
  type ReconcileContext,
} from '../../../operator/reconcile/reconcile.ts';
import type { ServicePeriod } from '../../../operator/reconcile/health.ts';
import { RequestError } from '../../../operator/reconcile/request-error.ts';
import { scheduleSeed } from '../../../operator/reconcile/plan.ts';
import { cleanupTimesForDay } from '../../../operator/schedule/index.ts';
import { cartFixture, merchantFixture, runnerSettingsFixture } from '../../support/fixtures.ts';

/**
 * A cluster in memory: applied children become observed ones, as the informers would make them. `foreign` holds
 * objects someone else made, which the informers do not see (they carry no Switchyard labels) but a GET finds.
 */
function fakeCluster(owners: Owner[], { watchersBecomeAvailable = true } = {}) {
  const rollout = { available: watchersBecomeAvailable };
  const lastStatusWritten = new Map<string, string>();
  const lastApplied = new Map<string, Map<string, string>>();
  const servicePeriods = new Map<string, readonly ServicePeriod[]>();
  /** While set, the informers' cache lags: reads see the statuses as they were when it was set. */
  let frozenStatuses: Map<string, OwnerStatus> | undefined;
  const children = new Map<string, Child>();
  const foreign = new Map<string, KubernetesObject>();
  const watcherPods: V1Pod[] = [];
  const events: string[] = [];
  /** Makes the next writes of these kinds fail as the writer reports failures. */
  const failures = new Map<string, Error>();
  const createdAt = new Map<string, Date>();
  const jobs: (V1Job & { kind: 'Job' })[] = [];
  const writes: string[] = [];
  const causes: string[] = [];
  const statuses = new Map<string, OwnerStatus>();
  const view: ClusterView = {
    getOwner: (ref) => {
      const owner = owners.find((candidate) => candidate.kind === ref.kind && candidate.metadata.name === ref.name);
      return owner && { ...owner, status: (frozenStatuses ?? statuses).get(`${ref.kind}/${ref.name}`) };
    },
    childrenOf: (ref) => {
      const observed = noChildren();
      const ofOwner = (labels: Record<string, string> | undefined) =>
        labels?.['switchyard.dev/owner'] === ref.name && labels['switchyard.dev/owner-kind'] === ref.kind;
      for (const child of children.values()) {
        if (!ofOwner(child.metadata?.labels)) continue;
        // Watchers roll out as soon as they are applied, as on kwok (unless told otherwise).
        if (child.kind === 'Deployment') {
          const creationTimestamp = createdAt.get(`Deployment/${child.metadata!.name!}`);
          const available = rollout.available ? 1 : 0;
          const since = creationTimestamp?.toISOString();
          observed.Deployment.push({
            ...child,
            metadata: { ...child.metadata, generation: 1, creationTimestamp },
            status: {
              observedGeneration: 1,
              replicas: 1,
              updatedReplicas: 1,
              availableReplicas: available,
              // As the Deployment controller reports a rollout that has not become available since it began.
              conditions: [
                { type: 'Available', status: available ? 'True' : 'False', lastTransitionTime: since as never },
                { type: 'Progressing', status: 'True', reason: 'ReplicaSetUpdated', lastUpdateTime: since as never },
              ],
            },
          });
        } else (observed[child.kind] as Child[]).push(child);
      }
      observed.Job = jobs.filter((job) => ofOwner(job.metadata?.labels));
      return observed;
    },
    cartsOf: (merchant) =>
      owners.filter((owner): owner is Cart => owner.kind === 'Cart' && owner.spec.merchantRef.name === merchant.name),
    getJob: (_namespace, name) => jobs.find((job) => job.metadata?.name === name),
    watcherPodsOf: () => watcherPods,
  };
  const fail = (key: string) => {
    const failure = failures.get(key);
    return failure ? Promise.reject(failure) : undefined;
  };
  const context = (now: Date): ReconcileContext => ({
    view,
    now: () => now,
    settings: runnerSettingsFixture,
    log: pino({ level: 'silent' }),
    events: { record: (_owner, { type, reason, note }) => events.push(`${type} ${reason}: ${note}`) },
    onCleanupStarted: () => undefined,
    onStatusWritten: (cause) => causes.push(cause),
    lastStatusWritten,
    lastApplied,
    servicePeriods,
    writer: {
      applyChild: (child) => {
        const key = `${child.kind}/${child.metadata!.name!}`;
        writes.push(`apply ${key}`);
        const failed = fail(`apply ${child.kind}`);
        if (failed) return failed;
        if (!children.has(key)) createdAt.set(key, now);
        children.set(key, structuredClone(child));
        return Promise.resolve();
      },
      readChild: (kind, _namespace, name) =>
        Promise.resolve(children.get(`${kind}/${name}`) ?? foreign.get(`${kind}/${name}`)),
      deleteChild: (kind, _namespace, name) => {
        writes.push(`delete ${kind}/${name}`);
        children.delete(`${kind}/${name}`);
        const job = jobs.findIndex((candidate) => kind === 'Job' && candidate.metadata?.name === name);
        if (job >= 0) jobs.splice(job, 1);
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
        const failed = fail('status');
        if (failed) return failed;
        // What the API server would then hold: the runner's fields merged with the operator's.
        statuses.set(`${owner.kind}/${owner.metadata.name}`, structuredClone(status));
        return Promise.resolve();
      },
    },
  });
  const cleanupJobs = () => jobs.filter((job) => job.metadata?.labels?.['app.kubernetes.io/component'] === 'cleanup');
  const makeWatchersAvailable = (available = true) => (rollout.available = available);
  const freezeCache = (frozen: boolean) => (frozenStatuses = frozen ? structuredClone(statuses) : undefined);
  return {
    children,
    foreign,
    watcherPods,
    events,
    failures,
    jobs,
    cleanupJobs,
    servicePeriods,
    writes,
    causes,
    statuses,
    context,
    makeWatchersAvailable,
    freezeCache,
  };
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
      'apply Deployment/acme-watcher',
      'apply Role/acme-runner',
      'apply RoleBinding/acme-runner-status',
      'apply ServiceAccount/acme-runner',
      `create Job/${migrateJobName(hubSchemaVersion)}`,
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
    expect(confirmations()).toMatchObject({ lastRunTime: dueAt });
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

  it('starts a failed migrate Job over, and leaves a running or finished one alone', async () => {
    const merchant = merchantFixture();
    const cluster = fakeCluster([merchant]);
    await reconcileOwner(ref(merchant), cluster.context(now));
    const migrate = () => cluster.jobs.find((job) => job.metadata?.name === migrateJobName(hubSchemaVersion))!;
    cluster.writes.length = 0;
    await reconcileOwner(ref(merchant), cluster.context(now));
    expect(cluster.writes.filter((write) => write.includes('migrate'))).toEqual([]);
    migrate().status = { conditions: [{ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded' }] };
    await reconcileOwner(ref(merchant), cluster.context(now));
    expect(cluster.writes.filter((write) => write.includes('migrate'))).toEqual([
      `delete Job/${migrateJobName(hubSchemaVersion)}`,
      `create Job/${migrateJobName(hubSchemaVersion)}`,
    ]);
    expect(migrate().status).toBeUndefined();
  });

  it('writes a status again when the cache still holds an older one that equals what it wants', async () => {
    const merchant = merchantFixture();
    const cluster = fakeCluster([merchant]);
    await reconcileOwner(ref(merchant), cluster.context(now));
    await reconcileOwner(ref(merchant), cluster.context(new Date(now.getTime() + 1_000)));
    const ready = () => cluster.statuses.get('Merchant/acme')?.conditions?.find((c) => c.type === 'Ready');
    expect(ready()).toMatchObject({ status: 'True', reason: 'Reconciled' });
    // The cache lags behind the two writes that follow: Reconciling while the watcher rolls, then Ready again.
    cluster.freezeCache(true);
    cluster.makeWatchersAvailable(false);
    await reconcileOwner(ref(merchant), cluster.context(new Date(now.getTime() + 2_000)));
    expect(ready()).toMatchObject({ status: 'False', reason: 'WorkloadsProgressing' });
    cluster.makeWatchersAvailable(true);
    await reconcileOwner(ref(merchant), cluster.context(new Date(now.getTime() + 3_000)));
    expect(ready()).toMatchObject({ status: 'True', reason: 'Reconciled' });
    cluster.freezeCache(false);
    cluster.writes.length = 0;
    await reconcileOwner(ref(merchant), cluster.context(new Date(now.getTime() + 4_000)));
    expect(cluster.writes).toEqual([]);
  });

  describe('delivery that has stopped', () => {
    it('is Stalled with reason DeliveryStalled once records waited three periods, and looks again when that is due', async () => {
      const merchant = merchantFixture();
      const cluster = fakeCluster([merchant]);
      await reconcileOwner(ref(merchant), cluster.context(now));
      await reconcileOwner(ref(merchant), cluster.context(now));
      const reportWaitingSince = (since: Date) => {
        const status = cluster.statuses.get('Merchant/acme')!;
        // What the watcher reports under its own field manager: records waiting for the warehouse since `since`.
        status.services = status.services!.map((service) =>
          service.name === 'orderDelivery'
            ? { ...service, pendingRecords: 4, pendingSince: since.toISOString().replace('.000Z', 'Z') }
            : service,
        );
      };
      const ready = () => cluster.statuses.get('Merchant/acme')?.conditions?.find((c) => c.type === 'Ready');

      // Waiting for ten minutes is not yet a stall (Automatic: three periods of 15 minutes); the next look is due then.
      reportWaitingSince(new Date(now.getTime() - 10 * 60_000));
      const outcome = await reconcileOwner(ref(merchant), cluster.context(now));
      expect(ready()).toMatchObject({ status: 'True', reason: 'Reconciled' });
      expect(outcome.requeueAfterMs).toBe(35 * 60_000 + 1_000);

      reportWaitingSince(new Date(now.getTime() - 50 * 60_000));
      await reconcileOwner(ref(merchant), cluster.context(now));
      expect(ready()).toMatchObject({ status: 'False', reason: 'DeliveryStalled' });
      expect(cluster.statuses.get('Merchant/acme')?.conditions?.find((c) => c.type === 'Stalled')).toMatchObject({
        status: 'True',
        reason: 'DeliveryStalled',
      });
      expect(ready()?.message).toMatch(
        /^orderDelivery has delivered nothing while records waited since .*: 4 records waiting/,
      );
    });
  });

  describe("the merchant's one watcher", () => {
    const targetsOf = (cluster: ReturnType<typeof fakeCluster>) => {
      const watcher = cluster.children.get('Deployment/acme-watcher');
      const env = watcher?.kind === 'Deployment' ? watcher.spec!.template.spec!.containers[0]!.env! : [];
      const value = env.find((entry) => entry.name === 'SWITCHYARD_WATCH_TARGETS')?.value ?? '[]';
      return (JSON.parse(value) as { kind: string; name: string; services: { name: string }[] }[]).map(
        (target) => `${target.kind}/${target.name}: ${target.services.map((service) => service.name).join(',')}`,
      );
    };
    const readyOf = (cluster: ReturnType<typeof fakeCluster>, key: string) =>
      cluster.statuses.get(key)?.conditions?.find((condition) => condition.type === 'Ready');

    it('serves the Automatic services of the Merchant and its Carts; a Cart is Ready once the watcher serves it', async () => {
      const merchant = merchantFixture();
      const shopify = cartFixture({ name: 'acme-shopify' });
      const etsy = cartFixture({ name: 'acme-etsy', uid: 'uid-etsy' });
      const cluster = fakeCluster([merchant, shopify, etsy]);
      // The Cart first: the watcher does not serve it yet, so it says it waits for it.
      await reconcileOwner(ref(shopify), cluster.context(now));
      expect(cluster.writes).toEqual(['apply CronJob/acme-shopify-order-download', 'status Cart/acme-shopify']);
      expect(readyOf(cluster, 'Cart/acme-shopify')).toMatchObject({
        status: 'False',
        reason: 'WorkloadsProgressing',
        message: "waiting for Deployment acme-watcher to serve this Cart's Automatic services",
      });
      await reconcileOwner(ref(merchant), cluster.context(now));
      expect(targetsOf(cluster)).toEqual([
        'Merchant/acme: orderDelivery',
        'Cart/acme-etsy: shipmentUpload,inventoryUpload',
        'Cart/acme-shopify: shipmentUpload,inventoryUpload',
      ]);
      await reconcileOwner(ref(shopify), cluster.context(new Date(now.getTime() + 1_000)));
      expect(readyOf(cluster, 'Cart/acme-shopify')).toMatchObject({ status: 'True', reason: 'Reconciled' });
      const shipments = cluster.statuses
        .get('Cart/acme-shopify')
        ?.services?.find((entry) => entry.name === 'shipmentUpload');
      expect(shipments?.workload).toEqual({ kind: 'Deployment', name: 'acme-watcher' });
      expect([...cluster.children.keys()].filter((key) => key.startsWith('Deployment/'))).toEqual([
        'Deployment/acme-watcher',
      ]);
    });

    it('drops a suspended service and a deleted Cart, and is removed when it serves nothing', async () => {
      const merchant = merchantFixture({
        services: { orderDelivery: { schedule: '15m', suspend: false, batchSize: 100 } },
      });
      const shopify = cartFixture({ name: 'acme-shopify' });
      const owners: Owner[] = [merchant, shopify];
      const cluster = fakeCluster(owners);
      await reconcileOwner(ref(merchant), cluster.context(now));
      expect(targetsOf(cluster)).toEqual(['Cart/acme-shopify: shipmentUpload,inventoryUpload']);
      shopify.spec.services.inventoryUpload!.suspend = true;
      await reconcileOwner(ref(merchant), cluster.context(now));
      expect(targetsOf(cluster)).toEqual(['Cart/acme-shopify: shipmentUpload']);
      await reconcileOwner(ref(shopify), cluster.context(now));
      const inventory = cluster.statuses
        .get('Cart/acme-shopify')
        ?.services?.find((entry) => entry.name === 'inventoryUpload');
      expect(inventory).toMatchObject({ schedule: 'Automatic' });
      expect(inventory).not.toHaveProperty('workload');
      owners.splice(owners.indexOf(shopify), 1);
      cluster.writes.length = 0;
      await reconcileOwner(ref(merchant), cluster.context(now));
      expect(cluster.writes).toContain('delete Deployment/acme-watcher');
    });

    it('keeps the watchers of the one-per-service shape until the new watcher serves their services', async () => {
      const merchant = merchantFixture();
      const cart = cartFixture();
      const cluster = fakeCluster([merchant, cart], { watchersBecomeAvailable: false });
      // What an operator before the one-watcher shape made: a Deployment per Automatic service.
      cluster.children.set('Deployment/acme-shopify-shipment-upload', {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: {
          name: 'acme-shopify-shipment-upload',
          namespace: 'shops',
          labels: {
            'switchyard.dev/owner-kind': 'Cart',
            'switchyard.dev/owner': 'acme-shopify',
            'app.kubernetes.io/component': 'watcher',
          },
          ownerReferences: [
            {
              apiVersion: 'switchyard.dev/v1alpha1',
              kind: 'Cart',
              name: 'acme-shopify',
              uid: 'uid-cart',
              controller: true,
            },
          ],
        },
      });
      await reconcileOwner(ref(merchant), cluster.context(now));
      await reconcileOwner(ref(cart), cluster.context(now));
      expect(cluster.writes).not.toContain('delete Deployment/acme-shopify-shipment-upload');
      cluster.makeWatchersAvailable();
      await reconcileOwner(ref(cart), cluster.context(now));
      expect(cluster.writes).toContain('delete Deployment/acme-shopify-shipment-upload');
    });
  });

  it('records the periods of the services it judges for the metrics, and forgets them once the spec does not plan', async () => {
    const merchant = merchantFixture({
      services: { shippingConfirmations: { schedule: 'Disabled', suspend: false, batchSize: 100 } },
    });
    const cluster = fakeCluster([merchant]);
    await reconcileOwner(ref(merchant), cluster.context(now));
    expect(cluster.servicePeriods.get('Merchant/shops/acme')).toEqual([
      { service: 'orderDelivery', seconds: 900 },
      { service: 'inventory', seconds: 7200 },
    ]);
    merchant.spec.services.inventory = { schedule: '*/5 * * * *', suspend: false, batchSize: 100 };
    await reconcileOwner(ref(merchant), cluster.context(now));
    expect(cluster.servicePeriods.has('Merchant/shops/acme')).toBe(false);
  });

  describe('Events', () => {
    it('tells a child created, updated for a new spec, restored after a change by someone else, and deleted', async () => {
      const merchant = merchantFixture();
      const cluster = fakeCluster([merchant]);
      await reconcileOwner(ref(merchant), cluster.context(now));
      expect(cluster.events).toContain('Normal Created: Created CronJob acme-inventory');
      // Someone edits the CronJob: what is wanted has not changed, so it is restored.
      const cronJob = cluster.children.get('CronJob/acme-inventory') as Child & { kind: 'CronJob' };
      cronJob.spec.schedule = '* * * * *';
      await reconcileOwner(ref(merchant), cluster.context(now));
      expect(cluster.events).toContain(
        'Normal Restored: Restored CronJob acme-inventory, which was changed outside Switchyard',
      );
      // The spec changes: the CronJob is updated, and the one of a service now Disabled is deleted.
      merchant.spec.services.inventory = { schedule: '0 */3 * * *', suspend: false, batchSize: 100 };
      merchant.spec.services.shippingConfirmations = { schedule: 'Disabled', suspend: false, batchSize: 100 };
      await reconcileOwner(ref(merchant), cluster.context(now));
      expect(cluster.events).toContain(
        'Normal Updated: Updated CronJob acme-inventory to what the spec and its Carts now ask for',
      );
      expect(cluster.events).toContain(
        'Normal Deleted: Deleted CronJob acme-shipping-confirmations (replaced or disabled)',
      );
    });
  });

  describe('cleanup runs', () => {
    const merchant = merchantFixture();
    const seed = scheduleSeed(merchant, 'orderDelivery');
    const [morning] = cleanupTimesForDay(seed, '2026-11-27', merchant.spec.timeZone);

    /** What a runner reports of a service with failed records. */
    const withFailures = (cluster: ReturnType<typeof fakeCluster>, ...services: string[]) =>
      cluster.statuses.set('Merchant/acme', {
        services: services.map((name) => ({ name, failedRecords: { count: 2 } })),
      });

    it('starts the cleanup Job that is due, once, and reports it', async () => {
      const cluster = fakeCluster([merchant]);
      withFailures(cluster, 'orderDelivery');
      const late = new Date(morning.getTime() + 30 * 60_000);
      await reconcileOwner(ref(merchant), cluster.context(late));
      const created = cluster.writes.filter((write) => write.startsWith('create Job/acme-order-delivery-cleanup'));
      expect(created).toHaveLength(1);
      // The next look, once the new watcher is available, reports the cleanup.
      const outcome = await reconcileOwner(ref(merchant), cluster.context(new Date(late.getTime() + 1_000)));
      expect(cluster.writes.filter((write) => write.startsWith('create Job/acme-order-delivery-cleanup'))).toHaveLength(
        1,
      );
      expect(cluster.cleanupJobs()[0]?.metadata?.annotations?.['switchyard.dev/cleanup-time']).toBe(
        morning.toISOString(),
      );
      const service = cluster.statuses.get('Merchant/acme')?.services?.find((entry) => entry.name === 'orderDelivery');
      expect(service?.cleanup?.lastTime).toBe(morning.toISOString().replace('.000Z', 'Z'));
      expect(service?.cleanup?.nextTimes).toHaveLength(2);
      // The next wake-up is the next cleanup, not sooner.
      expect(outcome.requeueAfterMs).toBeGreaterThan(60 * 60_000);

      cluster.writes.length = 0;
      await reconcileOwner(ref(merchant), cluster.context(new Date(late.getTime() + 60_000)));
      expect(cluster.writes.filter((write) => write.startsWith('create'))).toEqual([]);
    });

    it('starts no cleanup for a service without failed records, but still shows its times', async () => {
      const cluster = fakeCluster([merchant]);
      await reconcileOwner(ref(merchant), cluster.context(new Date(morning.getTime() + 60_000)));
      // The next look, once the new watcher is available, writes the status.
      await reconcileOwner(ref(merchant), cluster.context(new Date(morning.getTime() + 61_000)));
      expect(cluster.cleanupJobs()).toHaveLength(0);
      const service = cluster.statuses.get('Merchant/acme')?.services?.find((entry) => entry.name === 'orderDelivery');
      expect(service?.cleanup?.nextTimes).toHaveLength(2);
      expect(service?.cleanup?.lastTime).toBeUndefined();
    });

    it('cleans up an interval service with failed records at its own times, in cleanup mode', async () => {
      const cluster = fakeCluster([merchant]);
      withFailures(cluster, 'inventory');
      const [inventoryMorning] = cleanupTimesForDay(
        scheduleSeed(merchant, 'inventory'),
        '2026-11-27',
        merchant.spec.timeZone,
      );
      await reconcileOwner(ref(merchant), cluster.context(new Date(inventoryMorning.getTime() + 60_000)));
      await reconcileOwner(ref(merchant), cluster.context(new Date(inventoryMorning.getTime() + 61_000)));
      const jobs = cluster.cleanupJobs();
      expect(jobs.map((job) => job.metadata?.labels?.['switchyard.dev/service'])).toEqual(['inventory']);
      expect(jobs[0]?.spec?.template.spec?.containers[0]?.args).toEqual(['cleanup', '--service', 'inventory']);
      const service = cluster.statuses.get('Merchant/acme')?.services?.find((entry) => entry.name === 'inventory');
      expect(service?.cleanup?.lastTime).toBe(inventoryMorning.toISOString().replace('.000Z', 'Z'));
    });

    it('runs a cleanup missed while the operator was down only if it is less than an hour late', async () => {
      const cluster = fakeCluster([merchant]);
      withFailures(cluster, 'orderDelivery');
      await reconcileOwner(ref(merchant), cluster.context(new Date(morning.getTime() + 61 * 60_000)));
      expect(cluster.cleanupJobs()).toHaveLength(0);
    });

    it('does not count a slot that passed before the object existed as a missed cleanup', async () => {
      const newer = merchantFixture();
      newer.metadata.creationTimestamp = new Date(morning.getTime() + 60_000).toISOString();
      const cluster = fakeCluster([newer]);
      withFailures(cluster, 'orderDelivery');
      await reconcileOwner(ref(newer), cluster.context(new Date(morning.getTime() + 10 * 60_000)));
      expect(cluster.cleanupJobs()).toHaveLength(0);
    });

    it('starts no cleanup for a suspended merchant', async () => {
      const suspended = merchantFixture({ spec: { suspend: true } });
      const cluster = fakeCluster([suspended]);
      withFailures(cluster, 'orderDelivery');
      await reconcileOwner(ref(suspended), cluster.context(new Date(morning.getTime() + 60_000)));
      expect(cluster.cleanupJobs()).toHaveLength(0);
    });
  });

  describe('run-now and retry-now requests', () => {
    const requestJobs = (cluster: ReturnType<typeof fakeCluster>) =>
      cluster.jobs.filter((job) => job.metadata?.labels?.['app.kubernetes.io/component'] === 'request');
    /** Each request Job's service and command line. */
    const argsOf = (cluster: ReturnType<typeof fakeCluster>): Record<string, string> => {
      const args: Record<string, string> = {};
      for (const job of requestJobs(cluster)) {
        const service = job.metadata?.labels?.['switchyard.dev/service'] ?? '';
        args[service] = job.spec?.template.spec?.containers[0]?.args?.join(' ') ?? '';
      }
      return args;
    };

    it('runs each enabled service once per new value, and records the value handled', async () => {
      const merchant = merchantFixture({ annotations: { 'switchyard.dev/run-requested-at': 'one' } });
      const cluster = fakeCluster([merchant]);
      await reconcileOwner(ref(merchant), cluster.context(now));
      // Interval services run from their CronJob's template; the Automatic one retries everything failed.
      expect(argsOf(cluster)).toEqual({
        orderDelivery: 'cleanup --service orderDelivery',
        shippingConfirmations: 'run --service shippingConfirmations',
        inventory: 'run --service inventory',
      });
      const cronJob = cluster.children.get('CronJob/acme-inventory');
      if (cronJob?.kind !== 'CronJob') throw new Error('no CronJob acme-inventory');
      const inventoryJob = requestJobs(cluster).find((job) => job.metadata!.name!.startsWith('acme-inventory-run-'))!;
      expect(inventoryJob.spec!.template.spec).toEqual(cronJob.spec.jobTemplate.spec!.template.spec);
      expect(inventoryJob.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'Merchant', controller: true });
      expect(cluster.statuses.get('Merchant/acme')?.lastHandledRunRequest).toBe('one');
      expect(cluster.events.filter((event) => event.startsWith('Normal RunRequested'))).toHaveLength(1);

      // Handled: reconciling again starts nothing. A new value runs again.
      await reconcileOwner(ref(merchant), cluster.context(now));
      expect(requestJobs(cluster)).toHaveLength(3);
      merchant.metadata.annotations = { 'switchyard.dev/run-requested-at': 'two' };
      await reconcileOwner(ref(merchant), cluster.context(now));
      expect(requestJobs(cluster)).toHaveLength(6);
      expect(cluster.statuses.get('Merchant/acme')?.lastHandledRunRequest).toBe('two');
    });

    it('retries only failed records of the services named, skipping suspended ones', async () => {
      const merchant = merchantFixture({
        annotations: {
          'switchyard.dev/retry-requested-at': '2026-11-29T10:00:00Z',
          'switchyard.dev/run-services': 'orderDelivery, inventory',
        },
        services: { inventory: { schedule: '1h', suspend: true, batchSize: 100 } },
      });
      const cluster = fakeCluster([merchant]);
      await reconcileOwner(ref(merchant), cluster.context(now));
      expect(argsOf(cluster)).toEqual({ orderDelivery: 'cleanup --service orderDelivery' });
      expect(cluster.events.find((event) => event.startsWith('Normal RetryRequested'))).toMatch(
        /started orderDelivery \(Job acme-order-delivery-retry-[0-9a-f]{8}\); inventory skipped \(suspended\)$/,
      );
      expect(cluster.statuses.get('Merchant/acme')?.lastHandledRetryRequest).toBe('2026-11-29T10:00:00Z');
      expect(cluster.statuses.get('Merchant/acme')?.lastHandledRunRequest).toBeUndefined();
    });

    it('does not handle a request naming a service the object does not have, and says what to fix', async () => {
      const merchant = merchantFixture({
        annotations: { 'switchyard.dev/run-requested-at': 'now', 'switchyard.dev/run-services': 'orderDownload' },
      });
      const cluster = fakeCluster([merchant]);
      await reconcileOwner(ref(merchant), cluster.context(now));
      expect(requestJobs(cluster)).toHaveLength(0);
      expect(cluster.statuses.get('Merchant/acme')?.lastHandledRunRequest).toBeUndefined();
      expect(cluster.events).toContain(
        'Warning InvalidRequest: metadata.annotations[switchyard.dev/run-services]: "orderDownload" is not a service of a Merchant; expected a comma-separated list of orderDelivery, shippingConfirmations, inventory',
      );
    });
  });

  describe('when things go wrong', () => {
    const conditionsOf = (cluster: ReturnType<typeof fakeCluster>, key: string) =>
      Object.fromEntries(
        (cluster.statuses.get(key)?.conditions ?? []).map((condition) => [
          condition.type,
          `${condition.status} ${condition.reason}: ${condition.message}`,
        ]),
      );
    const at = (seconds: number) => new Date(now.getTime() + seconds * 1000);
    const immutableSelector = () =>
      new RequestError('apply', 'Deployment', 'shops', 'acme-watcher', {
        code: 422,
        reason: 'Invalid',
        message: 'Deployment.apps "acme-watcher" is invalid: spec.selector: Invalid value: {}: field is immutable',
        causes: ['FieldValueInvalid'],
      });

    it('reports a failing write once, in the API server words, and leaves the retry to the queue', async () => {
      const merchant = merchantFixture();
      const cluster = fakeCluster([merchant]);
      cluster.failures.set('apply Deployment', immutableSelector());
      await expect(reconcileOwner(ref(merchant), cluster.context(now))).rejects.toBeInstanceOf(RequestError);
      expect(conditionsOf(cluster, 'Merchant/acme')).toEqual({
        Ready:
          'False ApplyFailed: could not apply Deployment acme-watcher: 422 Invalid: Deployment.apps "acme-watcher" ' +
          'is invalid: spec.selector: Invalid value: {}: field is immutable',
        Reconciling:
          'True ApplyFailed: could not apply Deployment acme-watcher: 422 Invalid: Deployment.apps "acme-watcher" ' +
          'is invalid: spec.selector: Invalid value: {}: field is immutable',
      });
      // The same failure again (a fresh exception): the same status, so nothing is written but the failing apply.
      cluster.failures.set('apply Deployment', immutableSelector());
      cluster.writes.length = 0;
      await expect(reconcileOwner(ref(merchant), cluster.context(at(1)))).rejects.toBeInstanceOf(RequestError);
      expect(cluster.writes).toEqual(['apply Deployment/acme-watcher']);
    });

    it('stops quietly, writing no status, when the namespace is being terminated or the object is gone', async () => {
      const merchant = merchantFixture();
      const terminating = fakeCluster([merchant]);
      terminating.failures.set(
        'apply ServiceAccount',
        new RequestError('apply', 'ServiceAccount', 'shops', 'acme-runner', {
          code: 403,
          reason: 'Forbidden',
          message:
            'serviceaccounts "acme-runner" is forbidden: unable to create new content in namespace shops because it is being terminated',
          causes: ['NamespaceTerminating'],
        }),
      );
      await expect(reconcileOwner(ref(merchant), terminating.context(now))).resolves.toEqual({});
      expect(terminating.writes.filter((write) => write.startsWith('status'))).toEqual([]);

      const gone = fakeCluster([merchant]);
      gone.failures.set(
        'status',
        new RequestError('write the status of', 'Merchant', 'shops', 'acme', {
          code: 404,
          reason: 'NotFound',
          message: 'merchants.switchyard.dev "acme" not found',
          causes: [],
        }),
      );
      await reconcileOwner(ref(merchant), gone.context(now));
      await expect(reconcileOwner(ref(merchant), gone.context(at(1)))).resolves.toEqual({});
    });

    it('never adopts: a runner ServiceAccount someone else made stalls the Merchant, and nothing runs as it', async () => {
      const merchant = merchantFixture();
      const cluster = fakeCluster([merchant]);
      cluster.foreign.set('ServiceAccount/acme-runner', {
        apiVersion: 'v1',
        kind: 'ServiceAccount',
        metadata: {
          name: 'acme-runner',
          namespace: 'shops',
          managedFields: [{ manager: 'kubectl-client-side-apply', operation: 'Update' }],
        },
      });
      const outcome = await reconcileOwner(ref(merchant), cluster.context(now));
      // Neither the ServiceAccount, nor a binding to it, nor a workload or cleanup that would run as it.
      expect(cluster.writes).toEqual([`create Job/${migrateJobName(hubSchemaVersion)}`, 'status Merchant/acme']);
      const message =
        'ServiceAccount acme-runner exists and is not ours (managed by kubectl-client-side-apply); rename or delete it';
      expect(conditionsOf(cluster, 'Merchant/acme')).toEqual({
        Ready: `False NameConflict: ${message}`,
        Stalled: `True NameConflict: ${message}`,
      });
      expect(cluster.events).toContain(`Warning NameConflict: ${message}`);
      // Its deletion is not watched: the operator looks again after a few minutes.
      expect(outcome.requeueAfterMs).toBe(nameConflictRecheckMs + 1_000);
      cluster.writes.length = 0;
      cluster.events.length = 0;
      await reconcileOwner(ref(merchant), cluster.context(at(300)));
      expect(cluster.writes).toEqual([]);
      expect(cluster.events).toEqual([]);

      // Deleted by its owner: the next look creates the operator's own.
      cluster.foreign.clear();
      await reconcileOwner(ref(merchant), cluster.context(at(600)));
      expect(cluster.writes).toContain('apply ServiceAccount/acme-runner');
      expect(cluster.writes).toContain('apply Deployment/acme-watcher');
    });

    it("leaves another's watcher Deployment alone and says whose it is", async () => {
      const merchant = merchantFixture();
      const cluster = fakeCluster([merchant]);
      cluster.foreign.set('Deployment/acme-watcher', {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: {
          name: 'acme-watcher',
          namespace: 'shops',
          managedFields: [
            { manager: 'kubectl-client-side-apply', operation: 'Update' },
            { manager: 'kube-controller-manager', operation: 'Update', subresource: 'status' },
          ],
        },
      });
      await reconcileOwner(ref(merchant), cluster.context(now));
      expect(cluster.writes).not.toContain('apply Deployment/acme-watcher');
      expect(cluster.writes).toContain('apply CronJob/acme-inventory');
      expect(cluster.writes).toContain('apply ServiceAccount/acme-runner');
      const message =
        'Deployment acme-watcher exists and is not ours (managed by kubectl-client-side-apply); rename or delete it';
      expect(conditionsOf(cluster, 'Merchant/acme').Stalled).toBe(`True NameConflict: ${message}`);

      // Controlled by something else: named by its controller.
      const other = fakeCluster([merchant]);
      other.foreign.set('Deployment/acme-watcher', {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: {
          name: 'acme-watcher',
          namespace: 'shops',
          ownerReferences: [
            { apiVersion: 'example.com/v1', kind: 'Shop', name: 'acme', uid: 'uid-shop', controller: true },
          ],
        },
      });
      await reconcileOwner(ref(merchant), other.context(now));
      expect(conditionsOf(other, 'Merchant/acme').Stalled).toBe(
        'True NameConflict: Deployment acme-watcher exists and is not ours (controlled by Shop acme); rename or delete it',
      );
    });

    it('neither overwrites nor deletes an object labelled as its child that it does not control', async () => {
      const merchant = merchantFixture();
      const cluster = fakeCluster([merchant]);
      const labels = { 'switchyard.dev/owner-kind': 'Merchant', 'switchyard.dev/owner': 'acme' };
      cluster.children.set('CronJob/acme-inventory', {
        apiVersion: 'batch/v1',
        kind: 'CronJob',
        metadata: { name: 'acme-inventory', namespace: 'shops', labels },
        spec: { schedule: '0 * * * *', jobTemplate: {} },
      });
      cluster.children.set('CronJob/acme-legacy', {
        apiVersion: 'batch/v1',
        kind: 'CronJob',
        metadata: { name: 'acme-legacy', namespace: 'shops', labels },
        spec: { schedule: '0 * * * *', jobTemplate: {} },
      });
      await reconcileOwner(ref(merchant), cluster.context(now));
      expect(cluster.writes.filter((write) => write.includes('CronJob/acme-'))).toEqual([
        'apply CronJob/acme-shipping-confirmations',
      ]);
      expect(conditionsOf(cluster, 'Merchant/acme').Stalled).toBe(
        'True NameConflict: CronJob acme-inventory exists and is not ours (with no owner reference); rename or delete it',
      );
    });

    it('waits for the garbage collector to remove the children of a deleted Merchant of the same name', async () => {
      const merchant = merchantFixture();
      const cluster = fakeCluster([merchant]);
      cluster.children.set('ServiceAccount/acme-runner', {
        apiVersion: 'v1',
        kind: 'ServiceAccount',
        metadata: {
          name: 'acme-runner',
          namespace: 'shops',
          labels: { 'switchyard.dev/owner-kind': 'Merchant', 'switchyard.dev/owner': 'acme' },
          ownerReferences: [
            { apiVersion: 'switchyard.dev/v1alpha1', kind: 'Merchant', name: 'acme', uid: 'uid-old', controller: true },
          ],
        },
      });
      const outcome = await reconcileOwner(ref(merchant), cluster.context(now));
      expect(cluster.writes).not.toContain('apply ServiceAccount/acme-runner');
      expect(conditionsOf(cluster, 'Merchant/acme').Reconciling).toBe(
        'True WorkloadsProgressing: waiting for the garbage collector to remove ServiceAccount acme-runner of a deleted Merchant acme',
      );
      expect(outcome.requeueAfterMs).toBe(11_000);
    });

    it('reports a watcher that is not available after 5 minutes as Stalled, in its pod words', async () => {
      const merchant = merchantFixture();
      const cluster = fakeCluster([merchant], { watchersBecomeAvailable: false });
      await reconcileOwner(ref(merchant), cluster.context(now));
      const waiting = await reconcileOwner(ref(merchant), cluster.context(at(10)));
      expect(conditionsOf(cluster, 'Merchant/acme').Reconciling).toBe(
        "True WorkloadsProgressing: waiting for Deployment acme-watcher to serve this Merchant's Automatic services",
      );
      // It looks again when the 5 minutes are up.
      expect(waiting.requeueAfterMs).toBe(291_000);

      // The pod cannot start: said at once, still as progress (it may be fixed in time).
      cluster.watcherPods.push({
        metadata: { name: 'acme-watcher-5d8f7-x2x9k', namespace: 'shops', creationTimestamp: now },
        status: {
          phase: 'Pending',
          containerStatuses: [
            {
              name: 'runner',
              image: 'switchyard:test',
              imageID: '',
              ready: false,
              restartCount: 0,
              state: { waiting: { reason: 'CreateContainerConfigError', message: 'secret "acme-wms" not found' } },
            },
          ],
        },
      });
      const problem = 'pod acme-watcher-5d8f7-x2x9k: CreateContainerConfigError: secret "acme-wms" not found';
      await reconcileOwner(ref(merchant), cluster.context(at(60)));
      expect(conditionsOf(cluster, 'Merchant/acme').Reconciling).toBe(
        `True WorkloadsProgressing: waiting for Deployment acme-watcher to serve this Merchant's Automatic services: ${problem}`,
      );
      await reconcileOwner(ref(merchant), cluster.context(at(299)));
      expect(conditionsOf(cluster, 'Merchant/acme').Stalled).toBeUndefined();

      const stalled = await reconcileOwner(ref(merchant), cluster.context(at(300)));
      const message = `Deployment acme-watcher is not available after 5 minutes: ${problem}`;
      expect(conditionsOf(cluster, 'Merchant/acme')).toEqual({
        Ready: `False WatcherUnavailable: ${message}`,
        Stalled: `True WatcherUnavailable: ${message}`,
      });
      expect(cluster.events).toContain(`Warning WatcherUnavailable: ${message}`);
      expect(stalled.requeueAfterMs).toBeGreaterThan(60 * 60_000);
      // Unchanged, it writes nothing more.
      cluster.writes.length = 0;
      await reconcileOwner(ref(merchant), cluster.context(at(400)));
      expect(cluster.writes).toEqual([]);

      cluster.makeWatchersAvailable();
      await reconcileOwner(ref(merchant), cluster.context(at(500)));
      expect(Object.keys(conditionsOf(cluster, 'Merchant/acme'))).toEqual(['Ready']);
      expect(conditionsOf(cluster, 'Merchant/acme').Ready).toMatch(/^True Reconciled: /);
    });
  });
});
