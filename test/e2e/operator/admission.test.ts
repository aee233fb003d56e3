// Each admission rule, shown by a manifest that `kubectl apply` rejects with a message naming the field and the rule;
// and what admission cannot judge, reported by the operator as Stalled with the field named.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Merchant } from '../../../operator/api/v1alpha1/types.ts';
import { eventually, useTestNamespace } from '../support/cluster.ts';
import { startOperator, type RunningOperator } from '../support/operator.ts';
import { applyYaml, getOwner, listWorkloads } from '../support/switchyard.ts';

const namespace = useTestNamespace('admission');

function merchant(spec: string, name = 'm'): string {
  return `
apiVersion: switchyard.dev/v1alpha1
kind: Merchant
metadata: { name: ${name} }
spec:
  warehouse: { url: "https://wms.example.com" }
${spec}`;
}

function cart(services: string): string {
  return `
apiVersion: switchyard.dev/v1alpha1
kind: Cart
metadata: { name: c }
spec:
  merchantRef: { name: m }
  platform: { url: "https://cart.example.com" }
  services:
${services}`;
}

async function rejection(yaml: string): Promise<string> {
  try {
    await applyYaml(namespace.name, yaml);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('kubectl apply accepted the manifest');
}

describe('admission (the CRD schema and its CEL rules, whose messages echo the value rejected)', () => {
  it.each([
    [
      'Automatic for a pull service',
      merchant('  services:\n    shippingConfirmations: { schedule: Automatic }'),
      'spec.services.shippingConfirmations.schedule: Invalid value: "string": "Automatic": Automatic is offered only for orderDelivery, shipmentUpload and inventoryUpload',
    ],
    [
      'Automatic for Order Download',
      cart('    orderDownload: { schedule: Automatic }'),
      'spec.services.orderDownload.schedule: Invalid value: "string": "Automatic": Automatic is offered only',
    ],
    [
      'Shipping Confirmations more often than every 15 minutes',
      merchant('  services:\n    shippingConfirmations: { schedule: 10m }'),
      'spec.services.shippingConfirmations.schedule: Invalid value: "string": "10m": Shipping Confirmations runs at most every 15 minutes',
    ],
    [
      'Inventory more often than hourly',
      merchant('  services:\n    inventory: { schedule: 30m }'),
      'spec.services.inventory.schedule: Invalid value: "string": "30m": Inventory runs at most every 60 minutes',
    ],
    [
      'an interval the hub does not offer',
      cart('    orderDownload: { schedule: 7m }'),
      'spec.services.orderDownload.schedule: Invalid value: "string": "7m": must be Automatic, Disabled, an interval',
    ],
    [
      'a cron expression with a time zone prefix',
      cart('    orderDownload: { schedule: "TZ=UTC 0 * * * *" }'),
      'spec.services.orderDownload.schedule: Invalid value: "string": "TZ=UTC 0 * * * *": must be Automatic, Disabled, an interval',
    ],
    [
      'a weekly macro (every service runs at least daily)',
      merchant('  services:\n    inventory: { schedule: "@weekly" }'),
      'spec.services.inventory.schedule: Invalid value: "string": "@weekly": must be Automatic, Disabled, an interval',
    ],
    [
      'a time zone that is not an IANA name',
      merchant('  timeZone: "Central Time"'),
      'spec.timeZone: Invalid value: "string": "Central Time": must be an IANA time zone name such as UTC or America/Chicago',
    ],
    ['an unknown field', merchant('  colour: blue'), 'unknown field "spec.colour"'],
    [
      'a batch size of zero',
      merchant('  services:\n    orderDelivery: { batchSize: 0 }'),
      'spec.services.orderDelivery.batchSize: Invalid value: 0',
    ],
    [
      'a warehouse URL that is not http(s)',
      merchant('').replace('https://wms.example.com', 'ftp://wms.example.com'),
      'spec.warehouse.url: Invalid value: "string": "ftp://wms.example.com": must be an http:// or https:// URL',
    ],
    [
      'a Shopify Cart without its shop',
      cart('    orderDownload: { schedule: 15m }').replace(
        'platform: { url: "https://cart.example.com" }',
        'platform: { type: shopify }',
      ),
      'spec.platform: Invalid value: "object": shop is required when type is shopify',
    ],
    [
      'a shop that is not a myshopify.com domain',
      cart('    orderDownload: { schedule: 15m }').replace(
        'platform: { url: "https://cart.example.com" }',
        'platform: { type: shopify, shop: acme.com }',
      ),
      'spec.platform.shop: Invalid value: "string": "acme.com": must be the shop\'s myshopify.com domain',
    ],
    [
      'a Shopify API version that is no release',
      cart('    orderDownload: { schedule: 15m }').replace(
        'platform: { url: "https://cart.example.com" }',
        'platform: { type: shopify, shop: acme.myshopify.com, apiVersion: "2025-11" }',
      ),
      'spec.platform.apiVersion: Invalid value: "string": "2025-11": must be a Shopify API release',
    ],
    [
      'a shop on an http cart',
      cart('    orderDownload: { schedule: 15m }').replace(
        'platform: { url: "https://cart.example.com" }',
        'platform: { url: "https://cart.example.com", shop: acme.myshopify.com }',
      ),
      'spec.platform: Invalid value: "object": shop, apiVersion and locationId are only for type shopify',
    ],
    [
      'a Cart without a merchant',
      cart('    orderDownload: { schedule: 15m }').replace('  merchantRef: { name: m }\n', ''),
      'spec.merchantRef: Required value',
    ],
    [
      'a name longer than 63 characters',
      merchant('', 'a'.repeat(64)),
      `"${'a'.repeat(64)}" is invalid: <nil>: Invalid value: "object": metadata.name must be at most 63 characters`,
    ],
  ])('rejects %s', async (_rule, yaml, message) => {
    expect(await rejection(yaml)).toContain(message);
  });

  it('accepts a Shopify Cart by its shop alone', async () => {
    await applyYaml(
      namespace.name,
      cart('    orderDownload: { schedule: 15m }')
        .replace('name: c }', 'name: shop }')
        .replace(
          'platform: { url: "https://cart.example.com" }',
          'platform: { type: shopify, shop: acme.myshopify.com }',
        ),
    );
  });

  it('accepts an empty services block and fills in every default', async () => {
    await applyYaml(namespace.name, merchant('', 'defaults'));
    const created = (await getOwner('Merchant', namespace.name, 'defaults')) as Merchant;
    expect(created.spec.timeZone).toBe('UTC');
    expect(created.spec.services).toEqual({
      orderDelivery: { schedule: 'Automatic', suspend: false, batchSize: 100 },
      shippingConfirmations: { schedule: '30m', suspend: false, batchSize: 100 },
      inventory: { schedule: '1h', suspend: false, batchSize: 100 },
    });
  });
});

describe('what admission cannot judge', () => {
  let operator: RunningOperator;
  beforeAll(async () => {
    operator = await startOperator(namespace.name);
  });
  afterAll(async () => {
    await operator.stop();
  });

  async function waitForStalled(kind: 'Merchant' | 'Cart', name: string) {
    return eventually(`${kind} ${name} to be Stalled`, async () => {
      const owner = await getOwner(kind, namespace.name, name);
      const stalled = owner.status?.conditions?.find((condition) => condition.type === 'Stalled');
      return stalled?.status === 'True' ? { owner, stalled } : undefined;
    });
  }

  it('reports a cron expression that runs too often as Stalled, naming the field and the rule', async () => {
    await applyYaml(namespace.name, merchant('', 'm'));
    await applyYaml(namespace.name, cart('    orderDownload: { schedule: "*/2 * * * *" }'));
    const { owner, stalled } = await waitForStalled('Cart', 'c');
    expect(stalled.reason).toBe('InvalidSpec');
    expect(stalled.message).toContain('spec.services.orderDownload.schedule');
    expect(stalled.message).toContain('Order Download runs at most every 5 minutes');
    const ready = owner.status?.conditions?.find((condition) => condition.type === 'Ready');
    expect(ready).toMatchObject({ status: 'False', reason: 'InvalidSpec' });
    expect(owner.status?.observedGeneration).toBe(owner.metadata.generation);
    expect((await listWorkloads(namespace.name)).some((name) => name.includes('/c-'))).toBe(false);
  });

  it('reports a time zone that does not exist as Stalled', async () => {
    await applyYaml(namespace.name, merchant('  timeZone: Mars/Olympus_Mons', 'mars'));
    const { stalled } = await waitForStalled('Merchant', 'mars');
    expect(stalled.message).toContain('spec.timeZone: "Mars/Olympus_Mons"');
  });

  it('recovers once the spec is fixed', async () => {
    await applyYaml(namespace.name, cart('    orderDownload: { schedule: "*/5 * * * *" }'));
    await eventually('the Cart to recover', async () => {
      const owner = await getOwner('Cart', namespace.name, 'c');
      const conditions = owner.status?.conditions ?? [];
      const stalled = conditions.some((condition) => condition.type === 'Stalled');
      return !stalled && owner.status?.observedGeneration === owner.metadata.generation ? true : undefined;
    });
    expect(await listWorkloads(namespace.name)).toContain('CronJob/c-order-download');
  });
});
