// A Merchant or Cart may not name the hub store's Secret as its credentials: the runners would send the namespace's
// hub-store URL, password included, to an endpoint its author chose. The operator runs nothing for it and reports
// Stalled, naming the field and the rule, until the spec names another Secret.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Owner } from '../../../operator/api/v1alpha1/types.ts';
import { eventually, kubectl, useTestNamespace } from '../support/cluster.ts';
import { startOperator, type RunningOperator } from '../support/operator.ts';
import { applyYaml, apps, core, getOwner, listWorkloads, waitForReady } from '../support/switchyard.ts';

const shop = useTestNamespace('forbidden-secret');
const hubStoreSecret = 'switchyard-hub-store';
let operator: RunningOperator;

const merchant = (credentials: string) => `
apiVersion: switchyard.dev/v1alpha1
kind: Merchant
metadata: { name: acme }
spec:
  warehouse: { url: "https://wms.example.com/api", credentialsSecretRef: { name: ${credentials}, key: url } }
  services:
    orderDelivery: { schedule: Automatic }
    inventory: { schedule: 2h }
`;

const cart = `
apiVersion: switchyard.dev/v1alpha1
kind: Cart
metadata: { name: acme-web }
spec:
  merchantRef: { name: acme }
  platform: { url: "https://cart.example.com/api", credentialsSecretRef: { name: ${hubStoreSecret}, key: url } }
  services:
    orderDownload: { schedule: 15m }
    shipmentUpload: { schedule: Automatic }
`;

beforeAll(async () => {
  operator = await startOperator(shop.name);
});

afterAll(async () => {
  await operator?.stop();
});

function waitForStalled(kind: 'Merchant' | 'Cart', name: string) {
  return eventually(`${kind} ${name} to be Stalled`, async () => {
    const owner = await getOwner(kind, shop.name, name);
    const stalled = owner.status?.conditions?.find((condition) => condition.type === 'Stalled');
    return stalled?.status === 'True' && owner.status?.observedGeneration === owner.metadata.generation
      ? { owner, stalled }
      : undefined;
  });
}

const readyOf = (owner: Owner) => owner.status?.conditions?.find((condition) => condition.type === 'Ready');

describe("the hub store's Secret named as credentials", () => {
  it('stalls a Merchant, which then runs nothing, with a Warning Event', async () => {
    await applyYaml(shop.name, merchant(hubStoreSecret));
    const { owner, stalled } = await waitForStalled('Merchant', 'acme');
    expect(stalled.reason).toBe('ForbiddenSecret');
    expect(stalled.message).toMatch(
      /^spec\.warehouse\.credentialsSecretRef\.name: "switchyard-hub-store" is the hub store's Secret, which a Merchant may not name as its credentials/,
    );
    expect(readyOf(owner)).toMatchObject({ status: 'False', reason: 'ForbiddenSecret' });
    expect(await listWorkloads(shop.name)).toEqual([]);
    const serviceAccounts = await core.listNamespacedServiceAccount({ namespace: shop.name });
    expect(serviceAccounts.items.map((account) => account.metadata?.name)).not.toContain('acme-runner');
    const events = await kubectl(['get', 'events', '-n', shop.name, '--field-selector', 'reason=ForbiddenSecret']);
    expect(events).toContain('Warning');
  });

  it('stalls a Cart, which the merchant watcher leaves out, while its Merchant runs', async () => {
    await applyYaml(shop.name, merchant('acme-wms'));
    await applyYaml(shop.name, cart);
    await waitForReady('Merchant', shop.name, 'acme');
    const { stalled } = await waitForStalled('Cart', 'acme-web');
    expect(stalled.reason).toBe('ForbiddenSecret');
    expect(stalled.message).toMatch(/^spec\.platform\.credentialsSecretRef\.name: .*a Cart may not name/);
    expect(await listWorkloads(shop.name)).toEqual([
      'CronJob/acme-inventory',
      'CronJob/acme-shipping-confirmations',
      'Deployment/acme-watcher',
    ]);
    // The watcher's pod reads the hub store's Secret for its database URL only, never as an endpoint's credential.
    const watcher = await apps.readNamespacedDeployment({ namespace: shop.name, name: 'acme-watcher' });
    const fromHubStore = (watcher.spec?.template.spec?.containers[0]?.env ?? [])
      .filter((variable) => variable.valueFrom?.secretKeyRef?.name === hubStoreSecret)
      .map((variable) => variable.name);
    expect(fromHubStore).toEqual(['SWITCHYARD_DATABASE_URL']);
  });

  it('recovers once the spec names a Secret of its own', async () => {
    await applyYaml(shop.name, cart.replace(`name: ${hubStoreSecret}, key: url`, 'name: acme-web-api, key: token'));
    await waitForReady('Cart', shop.name, 'acme-web');
    expect(await listWorkloads(shop.name)).toContain('CronJob/acme-web-order-download');
  });
});
