// The backlog and freshness gauges: their samples from cached Merchants, Carts and watcher Deployments (pure), and the
// text a scrape of the operator's registry shows.
import type { V1Deployment } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { Merchant, Owner, ServiceStatus } from '../../../operator/api/v1alpha1/types.ts';
import { judgedPeriods } from '../../../operator/reconcile/health.ts';
import { childLabels, watcherName } from '../../../operator/reconcile/names.ts';
import { planServices } from '../../../operator/reconcile/plan.ts';
import { createMetrics } from '../../../operator/runtime/metrics.ts';
import { backlogSamples, type BacklogSamples, type CachedObjects } from '../../../operator/runtime/service-metrics.ts';
import { cartFixture, merchantFixture } from '../../support/fixtures.ts';

const now = new Date('2026-03-02T12:00:00Z');
const hubStoreSecret = 'switchyard-hub-store';
const seconds = (time: string) => Date.parse(time) / 1000;

function withStatus<T extends Owner>(owner: T, services: ServiceStatus[], created = '2026-03-01T08:00:00Z'): T {
  return { ...owner, metadata: { ...owner.metadata, creationTimestamp: created }, status: { services } };
}

function watcherOf(merchant: Merchant, availableReplicas: number | undefined): V1Deployment {
  return {
    metadata: {
      name: watcherName(merchant.metadata.name),
      namespace: merchant.metadata.namespace,
      labels: childLabels('Merchant', merchant.metadata.name, undefined, 'watcher'),
    },
    status: availableReplicas === undefined ? {} : { availableReplicas },
  };
}

/** The caches, with the periods each object's reconcile would have recorded (none where it does not plan). */
function cache(owners: Owner[], deployments: V1Deployment[] = []): CachedObjects {
  const merchant = (namespace: string, name: string) =>
    owners.find(
      (owner): owner is Merchant =>
        owner.kind === 'Merchant' && owner.metadata.namespace === namespace && owner.metadata.name === name,
    );
  return {
    owners,
    merchant,
    periods: (owner) => {
      const own = owner.kind === 'Merchant' ? owner : merchant(owner.metadata.namespace, owner.spec.merchantRef.name);
      if (!own) return undefined;
      const planned = planServices(owner, own.spec.timeZone ?? 'UTC', now, hubStoreSecret);
      return planned.ok ? judgedPeriods(planned.plans) : undefined;
    },
    deployment: (namespace, name) =>
      deployments.find(
        (deployment) => deployment.metadata?.namespace === namespace && deployment.metadata.name === name,
      ),
  };
}

/** One gauge's samples as `service=value` (or `name/service=value` with `withName`), sorted. */
function values(samples: BacklogSamples[keyof BacklogSamples], withName = false): string[] {
  return samples
    .map(({ labels, value }) => {
      const service = 'service' in labels ? labels.service : '';
      const name = 'name' in labels ? labels.name : labels.merchant;
      return `${withName ? `${name}/` : ''}${service}=${value}`;
    })
    .sort();
}

describe('backlogSamples', () => {
  it('exports what each runner reported, only where it reported it, with times as Unix seconds', () => {
    const merchant = withStatus(merchantFixture(), [
      {
        name: 'orderDelivery',
        pendingRecords: 7,
        oldestPendingTime: '2026-03-02T11:00:00Z',
        failedRecords: { count: 3 },
        lastSuccessTime: '2026-03-02T11:58:30Z',
      },
      // A pull service: no records wait for it, and it has not failed any.
      { name: 'inventory', lastSuccessTime: '2026-03-02T10:00:00Z' },
      // Operator fields alone: nothing to export.
      { name: 'shippingConfirmations', schedule: '7,37 * * * *' },
    ]);
    const samples = backlogSamples(cache([merchant]));
    expect(samples.pendingRecords).toEqual([
      { labels: { namespace: 'shops', kind: 'Merchant', name: 'acme', service: 'orderDelivery' }, value: 7 },
    ]);
    expect(values(samples.failedRecords)).toEqual(['orderDelivery=3']);
    expect(values(samples.oldestPendingTime)).toEqual([`orderDelivery=${seconds('2026-03-02T11:00:00Z')}`]);
    expect(values(samples.lastSuccessTime)).toEqual([
      `inventory=${seconds('2026-03-02T10:00:00Z')}`,
      `orderDelivery=${seconds('2026-03-02T11:58:30Z')}`,
    ]);
    expect(samples.ownerCreationTime).toEqual([
      { labels: { namespace: 'shops', kind: 'Merchant', name: 'acme' }, value: seconds('2026-03-01T08:00:00Z') },
    ]);
  });

  it('gives each service the period the stall judgement uses, and none to a disabled or suspended one', () => {
    const merchant = withStatus(
      merchantFixture({
        services: {
          orderDelivery: { schedule: 'Automatic', suspend: false, batchSize: 100 },
          shippingConfirmations: { schedule: '30m', suspend: false, batchSize: 100 },
          inventory: { schedule: '0 9,17 * * *', suspend: false, batchSize: 100 },
        },
      }),
      [],
    );
    const cart = withStatus(
      cartFixture({
        services: {
          orderDownload: { schedule: 'Disabled', suspend: false, batchSize: 100 },
          shipmentUpload: { schedule: '15m', suspend: true, batchSize: 100 },
          inventoryUpload: { schedule: '0 */2 * * *', suspend: false, batchSize: 100 },
        },
      }),
      [],
    );
    const samples = backlogSamples(cache([merchant, cart]));
    expect(values(samples.periodSeconds, true)).toEqual(
      [
        'acme-shopify/inventoryUpload=7200',
        // Automatic: automaticPeriodMs.
        'acme/orderDelivery=900',
        // The longest gap: 17:00 to 09:00.
        'acme/inventory=57600',
        // `30m`, staggered.
        'acme/shippingConfirmations=1800',
      ].sort(),
    );

    const suspended = { ...merchant, spec: { ...merchant.spec, suspend: true } };
    expect(backlogSamples(cache([suspended])).periodSeconds).toEqual([]);
  });

  it('judges no period where the operator judges none: a Cart without its Merchant, a spec that does not plan', () => {
    const orphan = withStatus(cartFixture({ spec: { merchantRef: { name: 'gone' } } }), [
      { name: 'shipmentUpload', pendingRecords: 2 },
    ]);
    const invalid = withStatus(
      merchantFixture({
        name: 'bad',
        services: { inventory: { schedule: '*/5 * * * *', suspend: false, batchSize: 1 } },
      }),
      [],
    );
    const samples = backlogSamples(cache([orphan, invalid]));
    expect(samples.periodSeconds).toEqual([]);
    // What the runner reported still shows.
    expect(values(samples.pendingRecords, true)).toEqual(['acme-shopify/shipmentUpload=2']);
  });

  it("leaves out status entries that are not the kind's services, and objects being deleted", () => {
    const merchant = withStatus(merchantFixture(), [
      { name: 'shipmentUpload', pendingRecords: 1 },
      { name: 'somethingElse', pendingRecords: 1 },
      { name: 'orderDelivery', pendingRecords: 4, lastSuccessTime: 'not a time' },
    ]);
    const samples = backlogSamples(cache([merchant]));
    expect(values(samples.pendingRecords)).toEqual(['orderDelivery=4']);
    expect(samples.lastSuccessTime).toEqual([]);

    const deleting = { ...merchant, metadata: { ...merchant.metadata, deletionTimestamp: '2026-03-02T11:59:00Z' } };
    const gone = backlogSamples(cache([deleting], [watcherOf(deleting, 1)]));
    expect(Object.values(gone).flat()).toEqual([]);
  });

  it("says whether each Merchant's watcher has an available replica, and nothing of a Merchant without one", () => {
    const up = withStatus(merchantFixture({ name: 'up' }), []);
    const rolling = withStatus(merchantFixture({ name: 'rolling' }), []);
    const starting = withStatus(merchantFixture({ name: 'starting' }), []);
    const none = withStatus(merchantFixture({ name: 'none' }), []);
    const samples = backlogSamples(
      cache([up, rolling, starting, none], [watcherOf(up, 1), watcherOf(rolling, 0), watcherOf(starting, undefined)]),
    );
    expect(samples.watcherUp).toEqual([
      { labels: { namespace: 'shops', merchant: 'up' }, value: 1 },
      { labels: { namespace: 'shops', merchant: 'rolling' }, value: 0 },
      { labels: { namespace: 'shops', merchant: 'starting' }, value: 0 },
    ]);
  });

  it("does not take another's Deployment of the watcher's name for the watcher", () => {
    const merchant = withStatus(merchantFixture(), []);
    const foreign = watcherOf(merchant, 1);
    foreign.metadata!.labels = childLabels('Merchant', 'someone-else', undefined, 'watcher');
    expect(backlogSamples(cache([merchant], [foreign])).watcherUp).toEqual([]);
  });
});

describe('the backlog gauges of the registry', () => {
  /** The samples of the backlog gauges in a scrape's text. */
  const lines = (text: string) => text.split('\n').filter((line) => /^switchyard_(service|owner|watcher)_/.test(line));

  it('export nothing until they have something to read, then what it returns at each scrape', async () => {
    const metrics = createMetrics();
    expect(lines(await metrics.registry.metrics())).toEqual([]);

    let pending = 7;
    let reads = 0;
    metrics.readBacklogFrom(() => {
      reads += 1;
      const merchant = withStatus(merchantFixture(), [{ name: 'orderDelivery', pendingRecords: pending }]);
      return backlogSamples(cache([merchant], [watcherOf(merchant, 1)]));
    });
    const first = lines(await metrics.registry.metrics());
    expect(first).toContain(
      'switchyard_service_pending_records{namespace="shops",kind="Merchant",name="acme",service="orderDelivery"} 7',
    );
    expect(first).toContain(
      'switchyard_service_period_seconds{namespace="shops",kind="Merchant",name="acme",service="orderDelivery"} 900',
    );
    expect(first).toContain('switchyard_watcher_up{namespace="shops",merchant="acme"} 1');
    expect(first).toContain(
      `switchyard_owner_created_timestamp_seconds{namespace="shops",kind="Merchant",name="acme"} ${seconds('2026-03-01T08:00:00Z')}`,
    );
    // One read serves every gauge of a scrape.
    expect(reads).toBe(1);

    pending = 0;
    const second = lines(await metrics.registry.metrics());
    expect(reads).toBe(2);
    expect(second).toContain(
      'switchyard_service_pending_records{namespace="shops",kind="Merchant",name="acme",service="orderDelivery"} 0',
    );
    expect(second).not.toContain(
      'switchyard_service_pending_records{namespace="shops",kind="Merchant",name="acme",service="orderDelivery"} 7',
    );
  });

  it('drop the series of an object that is gone', async () => {
    const metrics = createMetrics();
    let owners: Owner[] = [withStatus(merchantFixture(), [{ name: 'orderDelivery', failedRecords: { count: 2 } }])];
    metrics.readBacklogFrom(() => backlogSamples(cache(owners)));
    expect((await metrics.registry.metrics()).includes('switchyard_service_failed_records{')).toBe(true);
    owners = [];
    expect((await metrics.registry.metrics()).includes('switchyard_service_failed_records{')).toBe(false);
  });
});
