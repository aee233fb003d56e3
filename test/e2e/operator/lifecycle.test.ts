// How Merchants and Carts converge through changes: schedule changes, suspend, manual edits, deletion, a Cart before
// its Merchant, and an operator that restarts mid-way. Each ends with exactly the wanted children, none orphaned.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventsV1Api } from '@kubernetes/client-node';
import { eventually, isNotFound, testKubeConfig, useTestNamespace } from '../support/cluster.ts';
import { startOperator, type RunningOperator } from '../support/operator.ts';
import {
  apps,
  applyYaml,
  batch,
  core,
  custom,
  getOwner,
  listWorkloads,
  readyCondition,
  waitForReady,
} from '../support/switchyard.ts';

const namespace = useTestNamespace('lifecycle');
let operator: RunningOperator;

beforeAll(async () => {
  operator = await startOperator(namespace.name);
});
afterAll(async () => {
  await operator.stop();
});

function merchant(name: string, services = '', extra = ''): string {
  return `
apiVersion: switchyard.dev/v1alpha1
kind: Merchant
metadata: { name: ${name} }
spec:
  warehouse: { url: "https://wms.example.com" }
${extra}
  services: {${services}}`;
}

function cart(name: string, merchantName: string, services = '', extra = ''): string {
  return `
apiVersion: switchyard.dev/v1alpha1
kind: Cart
metadata: { name: ${name} }
spec:
  merchantRef: { name: ${merchantName} }
  platform: { url: "https://cart.example.com" }
${extra}
  services: {${services}}`;
}

const eventsApi = testKubeConfig().makeApiClient(EventsV1Api);

/** The Events about one object, as `reason/action: note (×count)`, oldest first. */
async function eventsOf(kind: string, name: string): Promise<string[]> {
  const { items } = await eventsApi.listNamespacedEvent({
    namespace: namespace.name,
    fieldSelector: `regarding.kind=${kind},regarding.name=${name}`,
  });
  return items
    .sort((a, b) => String(a.eventTime).localeCompare(String(b.eventTime)))
    .map((event) => `${event.reason}/${event.action}: ${event.note}${event.series ? ` (×${event.series.count})` : ''}`);
}

const workloadsOf = async (prefix: string) =>
  (await listWorkloads(namespace.name)).filter((workload) => workload.split('/')[1]!.startsWith(`${prefix}-`));

async function waitForOwnWorkloads(prefix: string, expected: string[]) {
  await eventually(`${prefix}'s workloads to be ${expected.join(', ')}`, async () => {
    const actual = await workloadsOf(prefix);
    return JSON.stringify(actual) === JSON.stringify([...expected].sort()) ? actual : undefined;
  });
}

describe('schedule changes', () => {
  it('replace the workload when a service moves between interval, Automatic and Disabled', async () => {
    await applyYaml(namespace.name, merchant('sched', 'orderDelivery: { schedule: 10m }'));
    await waitForOwnWorkloads('sched', [
      'CronJob/sched-order-delivery',
      'CronJob/sched-shipping-confirmations',
      'CronJob/sched-inventory',
    ]);
    await applyYaml(namespace.name, merchant('sched', 'orderDelivery: { schedule: Automatic }'));
    await waitForOwnWorkloads('sched', [
      'Deployment/sched-watcher',
      'CronJob/sched-shipping-confirmations',
      'CronJob/sched-inventory',
    ]);
    await applyYaml(
      namespace.name,
      merchant('sched', 'orderDelivery: { schedule: Disabled }, inventory: { schedule: 2h }'),
    );
    // A Disabled delivery service is listed, and the watcher stays to count the orders that wait for it.
    await waitForOwnWorkloads('sched', [
      'Deployment/sched-watcher',
      'CronJob/sched-shipping-confirmations',
      'CronJob/sched-inventory',
    ]);
    const ready = await waitForReady('Merchant', namespace.name, 'sched');
    expect(ready.status?.services?.map((service) => `${service.name}: ${service.schedule}`).sort()).toEqual([
      'inventory: ' + ready.status!.services!.find((service) => service.name === 'inventory')!.schedule,
      'orderDelivery: Disabled',
      'shippingConfirmations: ' +
        ready.status!.services!.find((service) => service.name === 'shippingConfirmations')!.schedule,
    ]);
    const events = await eventsOf('Merchant', 'sched');
    expect(events).toContain('Created/Create: Created CronJob sched-order-delivery');
    // A delete that the caches have not seen yet may be made twice: the second is counted on the first's Event.
    expect(
      events.filter((event) =>
        event.startsWith('Deleted/Delete: Deleted CronJob sched-order-delivery (replaced or disabled)'),
      ),
      events.join('\n'),
    ).toHaveLength(1);
    expect(events).toContain(
      'Updated/Update: Updated CronJob sched-inventory to what the spec and its Carts now ask for',
    );
    const inventory = await batch.readNamespacedCronJob({ namespace: namespace.name, name: 'sched-inventory' });
    expect(inventory.spec?.schedule).toMatch(/^\d+ \d+(,\d+)+ \* \* \*$/);
  });
});

describe('suspend', () => {
  it('suspends CronJobs and takes the services off the watcher, which goes when it serves nothing, and resumes', async () => {
    await applyYaml(namespace.name, merchant('paused', '', '  suspend: true'));
    await waitForOwnWorkloads('paused', ['CronJob/paused-shipping-confirmations', 'CronJob/paused-inventory']);
    const suspended = await waitForReady('Merchant', namespace.name, 'paused');
    expect(readyCondition(suspended)?.reason).toBe('Suspended');
    expect(
      (await batch.readNamespacedCronJob({ namespace: namespace.name, name: 'paused-inventory' })).spec?.suspend,
    ).toBe(true);
    const orderDelivery = suspended.status?.services?.find((service) => service.name === 'orderDelivery');
    expect(orderDelivery).toMatchObject({ schedule: 'Automatic' });
    expect(orderDelivery).not.toHaveProperty('workload');

    await applyYaml(namespace.name, merchant('paused', '', '  suspend: false'));
    await waitForOwnWorkloads('paused', [
      'Deployment/paused-watcher',
      'CronJob/paused-shipping-confirmations',
      'CronJob/paused-inventory',
    ]);
    const resumed = await waitForReady('Merchant', namespace.name, 'paused');
    expect(readyCondition(resumed)?.reason).toBe('Reconciled');
  });
});

describe('children changed by hand', () => {
  it('restores a CronJob edited by hand and a Deployment deleted by hand', async () => {
    await applyYaml(namespace.name, merchant('manual'));
    await waitForReady('Merchant', namespace.name, 'manual');
    const before = await batch.readNamespacedCronJob({ namespace: namespace.name, name: 'manual-inventory' });
    await batch.patchNamespacedCronJob({
      namespace: namespace.name,
      name: 'manual-inventory',
      body: [{ op: 'replace', path: '/spec/schedule', value: '* * * * *' }],
    });
    await apps.deleteNamespacedDeployment({ namespace: namespace.name, name: 'manual-watcher' });
    await eventually('the schedule to be restored', async () => {
      const cronJob = await batch.readNamespacedCronJob({ namespace: namespace.name, name: 'manual-inventory' });
      return cronJob.spec?.schedule === before.spec?.schedule ? true : undefined;
    });
    await eventually('the Deployment to be recreated', () =>
      apps.readNamespacedDeployment({ namespace: namespace.name, name: 'manual-watcher' }),
    );
    // Edited again: the same Event, counted up rather than repeated.
    await batch.patchNamespacedCronJob({
      namespace: namespace.name,
      name: 'manual-inventory',
      body: [{ op: 'replace', path: '/spec/schedule', value: '* * * * *' }],
    });
    const restored = 'Restored/Update: Restored CronJob manual-inventory, which was changed outside Switchyard';
    const events = await eventually('the second restore to be counted', async () => {
      const found = await eventsOf('Merchant', 'manual');
      return found.includes(`${restored} (×2)`) ? found : undefined;
    });
    expect(events.filter((event) => event.startsWith(restored))).toHaveLength(1);
    // Deleted by hand, it was created again.
    expect(events, events.join('\n')).toContain('Created/Create: Created Deployment manual-watcher (×2)');
  });
});

describe('deletion', () => {
  it('garbage-collects every child of a deleted Merchant', async () => {
    await applyYaml(namespace.name, merchant('gone'));
    await waitForReady('Merchant', namespace.name, 'gone');
    expect((await workloadsOf('gone')).length).toBe(3);
    await custom.deleteNamespacedCustomObject({
      group: 'switchyard.dev',
      version: 'v1alpha1',
      namespace: namespace.name,
      plural: 'merchants',
      name: 'gone',
    });
    await waitForOwnWorkloads('gone', []);
    await eventually('the runner identity to be collected', async () => {
      try {
        await core.readNamespacedServiceAccount({ namespace: namespace.name, name: 'gone-runner' });
        return undefined;
      } catch (error) {
        return isNotFound(error) ? true : undefined;
      }
    });
  });
});

describe('a Cart before its Merchant', () => {
  it('waits as MerchantNotFound and becomes Ready by itself once the Merchant appears', async () => {
    await applyYaml(namespace.name, cart('early-cart', 'late'));
    const waiting = await eventually('the Cart to report MerchantNotFound', async () => {
      const owner = await getOwner('Cart', namespace.name, 'early-cart');
      return readyCondition(owner)?.reason === 'MerchantNotFound' ? owner : undefined;
    });
    expect(readyCondition(waiting)?.status).toBe('False');
    expect(waiting.status?.conditions?.find((condition) => condition.type === 'Reconciling')?.status).toBe('True');
    expect(await workloadsOf('early-cart')).toEqual([]);

    await applyYaml(namespace.name, merchant('late'));
    await waitForReady('Cart', namespace.name, 'early-cart');
    // Its Automatic services run on its Merchant's watcher.
    await waitForOwnWorkloads('early-cart', ['CronJob/early-cart-order-download']);
    await waitForOwnWorkloads('late', [
      'Deployment/late-watcher',
      'CronJob/late-shipping-confirmations',
      'CronJob/late-inventory',
    ]);
  });
});

describe('an operator restart mid-way', () => {
  it('converges with no duplicate or orphaned children', async () => {
    const carts = Array.from({ length: 12 }, (_, index) => cart(`busy-${index}`, 'busy'));
    await applyYaml(namespace.name, [merchant('busy'), ...carts].join('\n---\n'));
    // Killed (no graceful shutdown) while it works through them; a new process takes over the expired lease.
    await operator.kill();
    operator = await startOperator(namespace.name);
    for (let index = 0; index < 12; index += 1) await waitForReady('Cart', namespace.name, `busy-${index}`);
    const expected = [
      'Deployment/busy-watcher',
      'CronJob/busy-shipping-confirmations',
      'CronJob/busy-inventory',
      ...Array.from({ length: 12 }, (_, index) => `CronJob/busy-${index}-order-download`),
    ];
    // Exactly these: a duplicate or an orphan would show up as an extra name.
    await waitForOwnWorkloads('busy', expected);
  });
});
