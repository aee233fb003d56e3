// The benchmark's baseline: a process that posts orders straight to the warehouse sink, the way the runner's http
// connector does (same client, same headers, same concurrency), with no hub in between.
// Usage: node bench/runner/direct-feed.ts <warehouse url> <count>
import { createHttpConnector } from '../../operator/runner/connectors/http-connector.ts';
import { mapWithConcurrency } from '../../operator/runner/services/concurrency.ts';

const [url, countArgument] = process.argv.slice(2);
if (!url || !countArgument) throw new Error('usage: direct-feed.ts <warehouse url> <count>');
const count = Number(countArgument);
const warehouse = createHttpConnector({ url, timeoutMs: 30_000 });
const ids = Array.from({ length: count }, (_, index) => `direct/${index}`);
const started = performance.now();
const outcomes = await mapWithConcurrency(ids, warehouse.maxConcurrentWrites, (id) =>
  warehouse.postOrder({
    recordKey: id,
    idempotencyKey: `direct-${id}`,
    body: { id, cart: 'direct', cartOrderId: id, lines: [{ sku: 'SKU-1', quantity: 1 }] },
  }),
);
const seconds = (performance.now() - started) / 1000;
const failed = outcomes.filter((outcome) => outcome.kind !== 'delivered').length;
console.log(JSON.stringify({ count, failed, seconds }));
process.exit(failed === 0 ? 0 : 1);
