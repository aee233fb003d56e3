// One watcher per Merchant, on the local cluster with its pods' runners run as real processes (test/cluster/
// runner-pods.ts), a real PostgreSQL and loopback warehouse and carts: the watcher serves the Merchant's and its Carts'
// Automatic services; Carts come and go and a service is suspended while orders flow, and nothing is lost or sent
// twice; the watchers of the one-per-service shape are removed on upgrade.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { createLogger } from '../../../operator/runner/log.ts';
import { createPool, type Pool } from '../../../operator/runner/store/database.ts';
import { takeOrders, takeShipments } from '../../../operator/runner/store/intake.ts';
import { hubSchemaVersion } from '../../../operator/api/runner-contract.ts';
import { checkSchema } from '../../../operator/runner/store/readiness.ts';
import { RunnerPods } from '../../cluster/runner-pods.ts';
import {
  startFakeCart,
  startFakeWarehouse,
  type FakeCart,
  type FakeWarehouse,
} from '../../support/contract-servers.ts';
import { startPostgres, type PostgresServer } from '../../support/postgres.ts';
import { eventually, useTestNamespace } from '../support/cluster.ts';
import { startOperator, type RunningOperator } from '../support/operator.ts';
import {
  apps,
  applyYaml,
  batch,
  custom,
  getOwner,
  listWorkloads,
  waitForReady,
  waitForWorkloads,
} from '../support/switchyard.ts';

const namespace = useTestNamespace('watcher');
let operator: RunningOperator;
let postgres: PostgresServer;
let pool: Pool;
let runnerPods: RunnerPods;
let warehouse: FakeWarehouse;
const carts: Record<string, FakeCart> = {};
const runnerOutput: string[] = [];

beforeAll(async () => {
  postgres = await startPostgres();
  pool = createPool(postgres.url, 'e2e', createLogger('silent'), 2);
  warehouse = await startFakeWarehouse();
  for (const name of ['flow-a', 'flow-b', 'flow-c']) carts[name] = await startFakeCart();
  await applyYaml(
    namespace.name,
    `apiVersion: v1\nkind: Secret\nmetadata: { name: switchyard-hub-store }\nstringData: { url: "${postgres.url}" }`,
  );
  operator = await startOperator(namespace.name);
  runnerPods = new RunnerPods({
    kubeconfig: inject('kubeconfig'),
    namespace: namespace.name,
    extraEnv: { SWITCHYARD_SWEEP_SECONDS: '2' },
    onOutput: (pod, line) => runnerOutput.push(`${pod}: ${line}`),
  });
  await runnerPods.start();
});
afterAll(async () => {
  await runnerPods?.stop();
  await operator?.stop();
  await pool?.end();
  await Promise.all([warehouse, ...Object.values(carts)].map((server) => server?.close()));
  await postgres?.stop();
});

function merchant(name: string, services: string): string {
  return `apiVersion: switchyard.dev/v1alpha1
kind: Merchant
metadata: { name: ${name} }
spec:
  warehouse: { url: "${warehouse.url}" }
  services: { ${services} }`;
}

function cart(name: string, merchantName: string, services = ''): string {
  return `apiVersion: switchyard.dev/v1alpha1
kind: Cart
metadata: { name: ${name} }
spec:
  merchantRef: { name: ${merchantName} }
  platform: { url: "${carts[name]?.url ?? 'https://cart.example.com'}" }
  services: { orderDownload: { schedule: 1h }, ${services} }`;
}

/** The targets the watcher Deployment's pod template gives its runner, as `Kind/name: services`. */
async function servedBy(watcher: string): Promise<string[]> {
  const deployment = await apps.readNamespacedDeployment({ namespace: namespace.name, name: watcher });
  const env = deployment.spec?.template.spec?.containers[0]?.env ?? [];
  const targets = JSON.parse(env.find((entry) => entry.name === 'SWITCHYARD_WATCH_TARGETS')?.value ?? '[]') as {
    kind: string;
    name: string;
    services: { name: string }[];
  }[];
  return targets.map((target) => `${target.kind}/${target.name}: ${target.services.map((s) => s.name).join(',')}`);
}

describe("a merchant's one watcher", () => {
  it('serves the Merchant and its Carts while Carts come and go and a service is suspended, losing and repeating nothing', async () => {
    const merchantName = 'flow';
    await applyYaml(
      namespace.name,
      [
        merchant(merchantName, 'shippingConfirmations: { schedule: 1h }, inventory: { schedule: 1h }'),
        cart('flow-a', merchantName),
        cart('flow-b', merchantName),
      ].join('\n---\n'),
    );
    // The hub store is empty: the operator's migrate Job brings it to the schema the runners wait for.
    await eventually(
      'the migrate Job to migrate the hub store',
      async () => {
        const { current } = await checkSchema(pool);
        return current === hubSchemaVersion ? true : undefined;
      },
      { timeoutMs: 60_000 },
    );
    const job = await batch.readNamespacedJob({
      namespace: namespace.name,
      name: `switchyard-migrate-v${hubSchemaVersion}`,
    });
    expect(job.spec?.template.spec?.containers[0]?.args).toEqual(['migrate']);
    await waitForReady('Merchant', namespace.name, merchantName);
    await waitForReady('Cart', namespace.name, 'flow-a');
    expect(await servedBy('flow-watcher')).toEqual([
      'Merchant/flow: orderDelivery',
      'Cart/flow-a: shipmentUpload,inventoryUpload',
      'Cart/flow-b: shipmentUpload,inventoryUpload',
    ]);
    expect((await listWorkloads(namespace.name)).filter((name) => name.startsWith('Deployment/'))).toEqual([
      'Deployment/flow-watcher',
    ]);

    // Orders land in the hub (as Order Download would load them) every 50 ms, from the carts that exist.
    const committedAt = new Map<string, number>();
    const orderCarts = ['flow-a', 'flow-b'];
    let sequence = 0;
    let flowing = true;
    const inflow = (async () => {
      while (flowing) {
        const cartName = orderCarts[sequence % orderCarts.length]!;
        const id = `O-${++sequence}`;
        await takeOrders(
          pool,
          { namespace: namespace.name, cart: cartName, merchant: merchantName },
          {
            accepted: [{ id, lines: [{ sku: 'MUG', quantity: 1 }] }],
            rejected: [],
            readFrom: undefined,
            advanceTo: undefined,
            passId: randomBytes(4).toString('hex'),
          },
        );
        committedAt.set(`${cartName}/${id}`, performance.now());
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    const delivered = () => new Set(warehouse.orders.applied.map((write) => String(write.body.id)));
    await eventually('orders to reach the warehouse', () => delivered().size >= 10, { timeoutMs: 30_000 });

    // A Cart joins: the watcher's pod rolls to serve it too.
    await applyYaml(namespace.name, cart('flow-c', merchantName));
    await waitForReady('Cart', namespace.name, 'flow-c');
    orderCarts.push('flow-c');
    // A Cart leaves, and one service of another is suspended.
    await custom.deleteNamespacedCustomObject({
      group: 'switchyard.dev',
      version: 'v1alpha1',
      namespace: namespace.name,
      plural: 'carts',
      name: 'flow-b',
    });
    orderCarts.splice(orderCarts.indexOf('flow-b'), 1);
    await applyYaml(
      namespace.name,
      cart('flow-a', merchantName, 'shipmentUpload: { schedule: Automatic, suspend: true }'),
    );
    await eventually('the watcher to serve its new set', async () => {
      const served = await servedBy('flow-watcher');
      return JSON.stringify(served) ===
        JSON.stringify([
          'Merchant/flow: orderDelivery',
          'Cart/flow-a: inventoryUpload',
          'Cart/flow-c: shipmentUpload,inventoryUpload',
        ])
        ? served
        : undefined;
    });
    await waitForReady('Cart', namespace.name, 'flow-a');
    const flowA = await getOwner('Cart', namespace.name, 'flow-a');
    const suspended = flowA.status?.services?.find((service) => service.name === 'shipmentUpload');
    expect(suspended).toMatchObject({ schedule: 'Automatic' });
    expect(suspended).not.toHaveProperty('workload');

    await new Promise((resolve) => setTimeout(resolve, 3_000));
    flowing = false;
    await inflow;
    await eventually('every order at the warehouse', () => delivered().size === committedAt.size, {
      timeoutMs: 60_000,
    });

    // Nothing lost, nothing applied twice; and the longest an order waited across the pod rolls.
    expect([...delivered()].sort()).toEqual([...committedAt.keys()].sort());
    expect(warehouse.orders.applied).toHaveLength(committedAt.size);
    const waits = warehouse.orders.applied.map((write) => write.at - committedAt.get(String(write.body.id))!);
    const repeats = warehouse.orders.received.filter((write) => write.replayed).length;
    console.log(
      `[watcher] ${committedAt.size} orders across two rollouts of the watcher: longest wait ${Math.round(Math.max(...waits))} ms, ` +
        `median ${Math.round(waits.sort((a, b) => a - b)[Math.floor(waits.length / 2)]!)} ms; repeats answered idempotently: ${repeats}`,
    );

    // The deleted Cart left the hub too: the new watcher, told the Merchant's Carts, retired flow-b at its start.
    const registered = async () =>
      (
        await pool.query<{ cart: string }>('SELECT cart FROM carts WHERE namespace = $1 ORDER BY cart', [
          namespace.name,
        ])
      ).rows.map((row) => row.cart);
    await eventually('flow-b to be retired from the hub', async () =>
      (await registered()).includes('flow-b') ? undefined : true,
    );
    expect(await registered()).toEqual(['flow-a', 'flow-c']);
    const { rows: toDeleted } = await pool.query(
      "SELECT 1 FROM deliveries WHERE namespace = $1 AND destination = 'flow-b' AND state <> 'delivered'",
      [namespace.name],
    );
    expect(toDeleted).toEqual([]);

    // Tracking reaches the carts whose shipment upload runs, and waits for the suspended one.
    const shipment = (id: string, orderId: string) => ({ id, orderId, carrier: 'UPS', trackingNumber: `1Z-${id}` });
    const orderOf = (cartName: string) => [...committedAt.keys()].find((key) => key.startsWith(`${cartName}/`))!;
    await takeShipments(
      pool,
      { namespace: namespace.name, merchant: merchantName },
      {
        accepted: [shipment('S-A', orderOf('flow-a')), shipment('S-C', orderOf('flow-c'))],
        rejected: [],
        readFrom: undefined,
        advanceTo: undefined,
        passId: 'e2e',
      },
    );
    await eventually('tracking at flow-c', () => carts['flow-c']!.tracking.appliedFor('S-C').length === 1, {
      timeoutMs: 30_000,
    });
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect(carts['flow-a']!.tracking.received).toEqual([]);
    await applyYaml(namespace.name, cart('flow-a', merchantName));
    await eventually(
      'tracking at flow-a once resumed',
      () => carts['flow-a']!.tracking.appliedFor('S-A').length === 1,
      {
        timeoutMs: 30_000,
      },
    );
  });

  it('replaces the watchers of the one-per-service shape on upgrade', async () => {
    // The upgrade: the operator stops, and the new one starts to find what 0.1 made for a Merchant and a Cart.
    await operator.stop();
    await applyYaml(namespace.name, [merchant('old', ''), cart('old-web', 'old')].join('\n---\n'));
    const uids = {
      Merchant: (await getOwner('Merchant', namespace.name, 'old')).metadata.uid,
      Cart: (await getOwner('Cart', namespace.name, 'old-web')).metadata.uid,
    };
    // What the operator made before: a Deployment per Automatic service, labelled as its children and controlled by
    // their owner.
    const legacy = (name: string, ownerKind: 'Merchant' | 'Cart', owner: string, service: string) => {
      const labels = {
        'app.kubernetes.io/managed-by': 'switchyard',
        'app.kubernetes.io/name': 'switchyard-runner',
        'app.kubernetes.io/component': 'watcher',
        'switchyard.dev/service': service,
        'switchyard.dev/owner-kind': ownerKind,
        'switchyard.dev/owner': owner,
      };
      return apps.createNamespacedDeployment({
        namespace: namespace.name,
        body: {
          metadata: {
            name,
            labels,
            ownerReferences: [
              {
                apiVersion: 'switchyard.dev/v1alpha1',
                kind: ownerKind,
                name: owner,
                uid: uids[ownerKind],
                controller: true,
                blockOwnerDeletion: true,
              },
            ],
          },
          spec: {
            selector: { matchLabels: labels },
            template: {
              metadata: { labels },
              spec: {
                containers: [{ name: 'runner', image: 'switchyard:0.1.0', args: ['watch', '--service', service] }],
              },
            },
          },
        },
      });
    };
    await legacy('old-order-delivery', 'Merchant', 'old', 'orderDelivery');
    await legacy('old-web-shipment-upload', 'Cart', 'old-web', 'shipmentUpload');
    await legacy('old-web-inventory-upload', 'Cart', 'old-web', 'inventoryUpload');
    operator = await startOperator(namespace.name);
    await waitForWorkloads(namespace.name, [
      ...(await listWorkloads(namespace.name)).filter((name) => !name.includes('/old')),
      'Deployment/old-watcher',
      'CronJob/old-shipping-confirmations',
      'CronJob/old-inventory',
      'CronJob/old-web-order-download',
    ]);
    await waitForReady('Cart', namespace.name, 'old-web');
  });
});
