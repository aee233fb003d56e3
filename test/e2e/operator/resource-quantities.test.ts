// Runner resources configured in a spelling the API server rewrites (1024Mi is stored as 1Gi, 0.5 as 500m) must not
// make the operator apply every child again at every reconcile: once Ready, reconciles write nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestNamespace } from '../support/cluster.ts';
import { startOperator, type RunningOperator } from '../support/operator.ts';
import { applyYaml, cartYaml, merchantYaml, apps, waitForReady, waitForWorkloads } from '../support/switchyard.ts';

const shop = useTestNamespace('quantities');
let operator: RunningOperator;

const merchantAndCart = [
  merchantYaml('acme', { orderDelivery: 'Automatic', inventory: '2h' }),
  cartYaml('acme-web', 'acme', { orderDownload: '15m' }),
].join('---\n');

beforeAll(async () => {
  operator = await startOperator(shop.name, {
    SWITCHYARD_RUNNER_MEMORY_REQUEST: '1024Mi',
    SWITCHYARD_RUNNER_MEMORY_LIMIT: '2048Mi',
    SWITCHYARD_RUNNER_CPU_REQUEST: '0.5',
    SWITCHYARD_RUNNER_CPU_LIMIT: '1000m',
    // Every object is reconciled again at least once in the window below.
    SWITCHYARD_RESYNC_SECONDS: '10',
  });
});

afterAll(async () => {
  await operator?.stop();
});

/** A counter of the operator's /metrics, summed over the series whose labels contain `labels`. */
async function counter(name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${operator.port}/metrics`)).text();
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`) && line.includes(labels))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

describe('runner resources configured as 1024Mi, 2048Mi, 0.5 and 1000m', () => {
  it('reach the pods in the form the API server stores', async () => {
    await applyYaml(shop.name, merchantAndCart);
    await waitForWorkloads(shop.name, [
      'CronJob/acme-shipping-confirmations',
      'CronJob/acme-inventory',
      'CronJob/acme-web-order-download',
      'Deployment/acme-watcher',
    ]);
    await waitForReady('Merchant', shop.name, 'acme');
    await waitForReady('Cart', shop.name, 'acme-web');
    const watcher = await apps.readNamespacedDeployment({ namespace: shop.name, name: 'acme-watcher' });
    expect(watcher.spec?.template.spec?.containers[0]?.resources).toEqual({
      requests: { cpu: '500m', memory: '1Gi' },
      limits: { cpu: '1', memory: '2Gi' },
    });
  });

  it('are not applied again when nothing changed: reconciles write nothing', async () => {
    // Whatever followed Ready (a Cart's status, the watcher's rollout) has settled.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const appliesBefore = await counter('switchyard_api_writes_total', 'verb="apply"');
    const reconcilesBefore = await counter('switchyard_reconcile_total');
    await new Promise((resolve) => setTimeout(resolve, 15_000));
    const reconciles = (await counter('switchyard_reconcile_total')) - reconcilesBefore;
    const applies = (await counter('switchyard_api_writes_total', 'verb="apply"')) - appliesBefore;
    // Both objects were resynced (10 s ± 10%) at least once.
    expect(reconciles).toBeGreaterThanOrEqual(2);
    expect(applies).toBe(0);
  });
});
