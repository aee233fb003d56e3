// The shared rate budget under load: Order Download, Shipment Upload and Inventory Upload as three connectors with
// pools of their own (as the CronJob pod and the watcher have), against one store restoring 100 points/second.
// Prints the figures; asserts no THROTTLED answer after the first response, and that no request was admitted with the
// bucket holding less than its cost by more than one request's cost.
import { describe, expect, it, onTestFinished } from 'vitest';
import type { CartConnector } from '../../operator/runner/connectors/connector.ts';
import { createShopifyConnector } from '../../operator/runner/connectors/shopify/shopify-connector.ts';
import { createLogger } from '../../operator/runner/log.ts';
import { createPool } from '../../operator/runner/store/database.ts';
import { startShopifyStandIn } from '../support/shopify-stand-in.ts';
import { useTestDatabase } from './support/database.ts';

const db = useTestDatabase();
const durationMs = Number(process.env.SHOPIFY_BUDGET_SECONDS ?? 8) * 1000;

describe('the shared Shopify rate budget', () => {
  it('keeps three services on one store clear of THROTTLED', { timeout: durationMs + 60_000 }, async () => {
    const skus = Array.from({ length: 20 }, (_, index) => `SKU-${index}`);
    const shopify = await startShopifyStandIn({
      restoreRate: 100,
      maximumAvailable: 1000,
      variants: skus.map((sku) => ({ sku, available: { 'Shop location': 0 } })),
    });
    onTestFinished(() => shopify.close());
    const orders = Array.from({ length: 400 }, (_, index) =>
      shopify.addOrder({ lineItems: [{ sku: skus[index % skus.length]!, quantity: 1 }] }),
    );
    const log = createLogger('silent');
    const connectorOf = (name: string): CartConnector => {
      const pool = createPool(db.url, `budget ${name}`, log);
      onTestFinished(() => pool.end());
      return createShopifyConnector(
        { url: shopify.url, apiVersion: shopify.apiVersion, token: shopify.defaultAccessToken, timeoutMs: 30_000 },
        pool,
      );
    };
    const [download, shipments, inventory] = [
      connectorOf('download'),
      connectorOf('shipments'),
      connectorOf('inventory'),
    ];
    const until = Date.now() + durationMs;
    let nextOrder = 0;
    let nextLevel = 0;
    const outcomes: string[] = [];
    const downloading = (async () => {
      let cursor: string | undefined;
      while (Date.now() < until) {
        const page = await download.listOrders(cursor, 100);
        cursor = page.hasMore ? page.nextCursor : undefined;
      }
    })();
    const writers = (connector: CartConnector, write: () => Promise<string>) =>
      Array.from({ length: connector.maxConcurrentWrites }, async () => {
        while (Date.now() < until) outcomes.push(await write());
      });
    const shipping = writers(shipments, async () => {
      const order = orders[nextOrder++ % orders.length]!;
      const outcome = await shipments.postTracking({
        recordKey: `S-${order.id}`,
        idempotencyKey: `S-${order.id}`,
        body: { id: `S-${order.id}`, orderId: String(order.id), carrier: 'UPS', trackingNumber: `1Z${order.id}` },
      });
      return outcome.kind;
    });
    const counting = writers(inventory, async () => {
      const level = nextLevel++;
      const outcome = await inventory.postInventoryLevel({
        recordKey: skus[level % skus.length]!,
        idempotencyKey: `level-${level}`,
        body: { sku: skus[level % skus.length]!, available: level, asOf: new Date().toISOString() },
      });
      return outcome.kind;
    });
    await Promise.all([downloading, ...shipping, ...counting]);

    const requests = shopify.requests;
    const firstAnswer = Math.min(...requests.map((request) => request.answeredAt));
    const throttledAfterFirst = requests.filter((request) => request.throttled && request.receivedAt > firstAnswer);
    const admitted = requests.filter((request) => !request.throttled && request.requestedQueryCost !== undefined);
    const margins = admitted.map((request) => request.availableBefore! - request.requestedQueryCost!);
    const largestCost = Math.max(...admitted.map((request) => request.requestedQueryCost!));
    const spent = admitted.reduce((sum, request) => sum + (request.actualQueryCost ?? 0), 0);
    const seconds = (Math.max(...requests.map((request) => request.answeredAt)) - requests[0]!.receivedAt) / 1000;
    const byOperation = Object.entries(
      requests.reduce<Record<string, number>>((counts, request) => {
        counts[request.operationName ?? '?'] = (counts[request.operationName ?? '?'] ?? 0) + 1;
        return counts;
      }, {}),
    );
    console.log(
      [
        `Shopify budget: ${requests.length} requests in ${seconds.toFixed(1)} s (${byOperation.map(([name, count]) => `${name} ${count}`).join(', ')})`,
        `  THROTTLED: ${requests.filter((request) => request.throttled).length} in all, ${throttledAfterFirst.length} after the first response`,
        `  bucket at admission less the requested cost: min ${Math.min(...margins).toFixed(1)} (largest request ${largestCost} points)`,
        `  lowest bucket after an answer: ${Math.min(...admitted.map((request) => request.availableAfter!)).toFixed(1)}`,
        `  actual points spent: ${spent} = ${(spent / seconds).toFixed(1)} points/s against a restore rate of 100`,
        `  write outcomes: ${Object.entries(
          outcomes.reduce<Record<string, number>>(
            (counts, kind) => ({ ...counts, [kind]: (counts[kind] ?? 0) + 1 }),
            {},
          ),
        )
          .map(([kind, count]) => `${kind} ${count}`)
          .join(', ')}`,
      ].join('\n'),
    );
    expect(throttledAfterFirst).toEqual([]);
    expect(Math.min(...margins)).toBeGreaterThanOrEqual(-largestCost);
    expect(outcomes.filter((kind) => kind !== 'delivered')).toEqual([]);
  });
});
