// A Cart on Shopify: the runner's real entry (runRunner with the pod's environment) and the hub store, against the
// loopback Shopify stand-in (test/support/shopify-stand-in.ts), which enforces Shopify's documented rules.
import { randomBytes } from 'node:crypto';
import { describe, expect, it, onTestFinished } from 'vitest';
import { runnerEnv } from '../../operator/api/runner-contract.ts';
import { parseCommandLine, parseRunnerConfig } from '../../operator/runner/config.ts';
import { createLogger } from '../../operator/runner/log.ts';
import { runRunner } from '../../operator/runner/runner.ts';
import { startFakeWarehouse } from '../support/contract-servers.ts';
import { RecordingReporter } from '../support/recording-reporter.ts';
import {
  startShopifyStandIn,
  gid,
  type ShopifyStandIn,
  type ShopifyStandInOptions,
} from '../support/shopify-stand-in.ts';
import { useTestDatabase } from './support/database.ts';
import { runnerEnvironment, type RunnerSetup } from './support/runners.ts';

const db = useTestDatabase();

async function shopifyCart(
  options: ShopifyStandInOptions = {},
  extraEnv: (shopify: ShopifyStandIn) => Record<string, string> = () => ({}),
) {
  const [shopify, warehouse] = await Promise.all([startShopifyStandIn(options), startFakeWarehouse()]);
  onTestFinished(() => Promise.all([shopify.close(), warehouse.close()]).then(() => undefined));
  const namespace = `ns-${randomBytes(3).toString('hex')}`;
  const base = { namespace, merchant: 'acme', databaseUrl: db.url };
  const setupOf = (service: RunnerSetup['service'], batchSize?: number): RunnerSetup =>
    ['orderDownload', 'shipmentUpload', 'inventoryUpload'].includes(service)
      ? {
          ...base,
          service,
          owner: 'acme-shopify',
          endpointUrl: shopify.url,
          token: shopify.defaultAccessToken,
          batchSize,
        }
      : { ...base, service, owner: 'acme', endpointUrl: warehouse.url, batchSize };
  /** One interval run of a service, as its CronJob's pod would run it. */
  async function run(service: RunnerSetup['service'], batchSize?: number) {
    const setup = setupOf(service, batchSize);
    const env = {
      ...runnerEnvironment(setup),
      ...(setup.owner === 'acme-shopify' && {
        [runnerEnv.endpointType]: 'shopify',
        [runnerEnv.endpointApiVersion]: shopify.apiVersion,
        ...extraEnv(shopify),
      }),
    };
    const commandLine = parseCommandLine(['run', '--service', service]);
    if (!commandLine.ok) throw new Error(commandLine.errors.join('; '));
    const config = parseRunnerConfig(commandLine.value, env);
    if (!config.ok) throw new Error(config.errors.join('; '));
    const reporter = new RecordingReporter();
    const exitCode = await runRunner(config.value, {
      log: createLogger(process.env.RUNNER_TEST_LOG ?? 'silent'),
      reporter,
      signal: new AbortController().signal,
    });
    return { exitCode, report: reporter.last };
  }
  async function hubOrders() {
    const { rows } = await db.pool.query<{ source_id: string; revision: string; payload: Record<string, unknown> }>(
      `SELECT source_id, revision::text, payload FROM orders WHERE namespace = $1 ORDER BY id`,
      [namespace],
    );
    return rows;
  }
  return { shopify, warehouse, run, hubOrders };
}

/** The hub's id of a stand-in order: its numeric id. */
const legacyId = (id: number) => String(id);

describe('Order Download from Shopify', () => {
  it('reads every order across pages, and an edit arrives as a new revision of that order only', async () => {
    const { shopify, run, hubOrders } = await shopifyCart({
      variants: [{ sku: 'MUG', available: { 'Shop location': 9 } }],
    });
    const orders = Array.from({ length: 5 }, (_, index) =>
      shopify.addOrder({
        email: `shopper${index}@example.com`,
        shippingAddress: { name: 'Ada', city: 'Chicago', countryCodeV2: 'US' },
        lineItems: [{ sku: 'MUG', quantity: index + 1 }],
      }),
    );
    const first = await run('orderDownload', 2);
    expect(first.exitCode).toBe(0);
    expect(first.report?.lastResult).toMatchObject({ outcome: 'Succeeded', processed: 5, failed: 0 });
    expect((await hubOrders()).map((order) => order.source_id)).toEqual(orders.map((order) => legacyId(order.id)));
    expect((await hubOrders())[0]?.payload).toMatchObject({
      id: legacyId(orders[0]!.id),
      name: orders[0]!.name,
      email: 'shopper0@example.com',
      shippingAddress: { name: 'Ada', city: 'Chicago', countryCodeV2: 'US' },
      lines: [{ sku: 'MUG', quantity: 1 }],
    });
    // Pages of at most the batch size, by Shopify's cursor.
    expect(shopify.requests.filter((request) => request.operationName === 'SwitchyardOrders')).toHaveLength(3);

    shopify.updateOrder(gid('Order', orders[2]!.id), { currentQuantities: { MUG: 1 } });
    shopify.updateOrder(gid('Order', orders[4]!.id), { cancelled: true });
    const second = await run('orderDownload', 2);
    expect(second.exitCode).toBe(0);
    const after = await hubOrders();
    expect(after.map((order) => order.revision)).toEqual(['1', '1', '2', '1', '2']);
    expect(after[2]?.payload).toMatchObject({ lines: [{ sku: 'MUG', quantity: 1 }] });
    expect(after[4]?.payload).toMatchObject({ cancelled: true, lines: [{ sku: 'MUG', quantity: 5 }] });
  });
});

describe('Shipment Upload to Shopify', () => {
  it('fulfils an order split across locations once per location, and a repeat of a partial shipment fulfils nothing more', async () => {
    const { shopify, warehouse, run } = await shopifyCart({
      locations: [{ name: 'Chicago' }, { name: 'Reno', fulfillmentServiceHandle: 'reno-3pl' }],
      variants: [
        { sku: 'MUG', available: { Chicago: 5 } },
        { sku: 'TEE', available: { Reno: 5 } },
      ],
    });
    const order = shopify.addOrder({
      lineItems: [
        { sku: 'MUG', quantity: 2, location: 'Chicago' },
        { sku: 'TEE', quantity: 1, location: 'Reno' },
      ],
    });
    expect((await run('orderDownload')).exitCode).toBe(0);
    expect((await run('orderDelivery')).exitCode).toBe(0);
    warehouse.shipments.put({
      id: 'S-1',
      orderId: `acme-shopify/${legacyId(order.id)}`,
      carrier: 'UPS',
      trackingNumber: '1Z999',
      // One of the two mugs: a partial shipment, so that a repeat would find a mug left to fulfil.
      lines: [
        { sku: 'MUG', quantity: 1 },
        { sku: 'TEE', quantity: 1 },
      ],
    });
    expect((await run('shippingConfirmations')).exitCode).toBe(0);
    const upload = await run('shipmentUpload');
    expect(upload.report?.lastResult).toMatchObject({ outcome: 'Succeeded', processed: 1, failed: 0 });
    const fulfillments = shopify.fulfillmentsOf(gid('Order', order.id));
    expect(fulfillments).toHaveLength(2);
    expect(fulfillments.map((fulfillment) => fulfillment.trackingInfo[0]?.number)).toEqual(['1Z999', '1Z999']);
    expect(shopify.requests.flatMap((request) => request.errorCodes)).toEqual([]);

    // The warehouse sends the shipment again, changed: the hub delivers the new revision; Shopify gets no new fulfillment.
    warehouse.shipments.put({
      id: 'S-1',
      orderId: `acme-shopify/${legacyId(order.id)}`,
      carrier: 'UPS',
      trackingNumber: '1Z999',
      lines: [
        { sku: 'MUG', quantity: 1 },
        { sku: 'TEE', quantity: 1 },
      ],
      note: 'resent',
    });
    expect((await run('shippingConfirmations')).exitCode).toBe(0);
    const again = await run('shipmentUpload');
    expect(again.report?.lastResult).toMatchObject({ outcome: 'Succeeded', processed: 1, failed: 0 });
    expect(shopify.fulfillmentsOf(gid('Order', order.id))).toHaveLength(2);
    expect(
      shopify
        .fulfillmentOrdersOf(gid('Order', order.id))
        .flatMap((fo) => fo.lineItems.map((line) => line.remainingQuantity)),
    ).toEqual([1, 0]);
  });
});

/** A cart whose warehouse counted `skus`, after one Inventory Upload run. */
async function levelsFor(
  skus: Record<string, number>,
  options: ShopifyStandInOptions,
  env?: (shopify: ShopifyStandIn) => Record<string, string>,
) {
  const cart = await shopifyCart(options, env);
  // Register the cart (any of its runs does), then count at the warehouse and upload.
  expect((await cart.run('inventoryUpload')).exitCode).toBe(0);
  cart.warehouse.inventory.put(...Object.entries(skus).map(([sku, quantity]) => ({ sku, quantity })));
  expect((await cart.run('inventory')).exitCode).toBe(0);
  return { ...cart, upload: await cart.run('inventoryUpload') };
}

describe('Inventory Upload to Shopify', () => {
  it("sets the available count at the Cart's location; a SKU the shop does not know fails with a reason", async () => {
    const { shopify, upload } = await levelsFor(
      { MUG: 7, GHOST: 3 },
      {
        locations: [{ name: 'Chicago' }, { name: 'Reno' }],
        variants: [{ sku: 'MUG', available: { Chicago: 1, Reno: 1 } }],
      },
      (shopify) => ({
        [runnerEnv.endpointLocation]: gid(
          'Location',
          shopify.shop.locations.find((location) => location.name === 'Reno')!.id,
        ),
      }),
    );
    expect(shopify.available('MUG', 'Reno')).toBe(7);
    expect(shopify.available('MUG', 'Chicago')).toBe(1);
    expect(upload.report?.lastResult).toMatchObject({ processed: 2, failed: 1 });
    expect(upload.report?.failedRecords?.sample[0]?.reason).toMatch(/SKU GHOST is not in the shop/);
  });

  it('asks for spec.platform.locationId when the shop has several active locations', async () => {
    const { upload } = await levelsFor(
      { MUG: 7 },
      { locations: [{ name: 'Chicago' }, { name: 'Reno' }], variants: [{ sku: 'MUG', available: { Chicago: 1 } }] },
    );
    expect(upload.report?.failedRecords?.sample[0]?.reason).toMatch(
      /2 active locations .*set spec\.platform\.locationId/,
    );
  });

  it("reports Shopify's userErrors in its own words", async () => {
    const { upload } = await levelsFor({ MUG: 7 }, { variants: [{ sku: 'MUG', available: {} }] });
    expect(upload.report?.failedRecords?.sample[0]?.reason).toMatch(/^SKU MUG: .+/);
  });
});

describe("Shopify's refusals", () => {
  it('a missing access scope fails the download naming the scope', async () => {
    const { shopify, run } = await shopifyCart();
    shopify.setScopes(shopify.defaultAccessToken, ['read_products']);
    const result = await run('orderDownload');
    expect(result.exitCode).not.toBe(0);
    expect(JSON.stringify(result.report)).toMatch(/Access denied for orders field.*read_orders/);
  });

  it.each([
    { refusal: 'a removed app', act: 'uninstall', reason: /HTTP 401.*the app was uninstalled or the token/ },
    { refusal: 'a frozen shop', act: 'freeze', reason: /HTTP 402.*frozen.*outstanding balance/ },
  ] as const)('$refusal fails uploads as needing a person, with the reason', async ({ act, reason }) => {
    const { shopify, run, warehouse } = await shopifyCart({
      variants: [{ sku: 'MUG', available: { 'Shop location': 1 } }],
    });
    expect((await run('inventoryUpload')).exitCode).toBe(0);
    if (act === 'uninstall') shopify.uninstallApp(shopify.defaultAccessToken);
    else shopify.setShopState('frozen');
    warehouse.inventory.put({ sku: 'MUG', quantity: 4 });
    expect((await run('inventory')).exitCode).toBe(0);
    const upload = await run('inventoryUpload');
    expect(upload.report?.lastResult).toMatchObject({ processed: 1, failed: 1 });
    expect(upload.report?.failedRecords?.sample[0]?.reason).toMatch(reason);
    expect(shopify.available('MUG', 'Shop location')).toBe(1);
  });
});
