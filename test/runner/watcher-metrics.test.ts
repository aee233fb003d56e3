// A running watcher's /metrics, scraped as Prometheus would: its deliveries by outcome, the time of its writes, its
// passes and backlog, and Node.js's process metrics under their standard names.
import { randomBytes } from 'node:crypto';
import { describe, expect, it, onTestFinished } from 'vitest';
import { runnerEnv } from '../../operator/api/runner-contract.ts';
import { startFakeCart, startFakeWarehouse } from '../support/contract-servers.ts';
import { eventually } from '../support/eventually.ts';
import { freeLoopbackPort } from '../support/free-port.ts';
import { useTestDatabase } from './support/database.ts';
import { runOnce, watcherEnvironment, watchOn, type RunnerSetup } from './support/runners.ts';

const db = useTestDatabase();

/** The samples of a scrape by series (name and labels), and the metric names its `# TYPE` lines declare. */
function parseExposition(text: string) {
  const samples = new Map<string, number>();
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line.startsWith('# TYPE ')) {
      const [, , name, type] = line.split(' ');
      types.set(name!, type!);
    } else if (line && !line.startsWith('#')) {
      const at = line.lastIndexOf(' ');
      samples.set(line.slice(0, at), Number(line.slice(at + 1)));
    }
  }
  return { samples, types };
}

describe("a watcher's /metrics", () => {
  it('counts deliveries by service and outcome, times each write, and names every metric by convention', async () => {
    const [shop, warehouse] = await Promise.all([startFakeCart(), startFakeWarehouse()]);
    onTestFinished(() => Promise.all([shop.close(), warehouse.close()]).then(() => undefined));
    const merchant = `acme-${randomBytes(3).toString('hex')}`;
    const base = { namespace: `ns-${randomBytes(3).toString('hex')}`, merchant, databaseUrl: db.url };
    const delivery: RunnerSetup = { ...base, service: 'orderDelivery', owner: merchant, endpointUrl: warehouse.url };
    const download: RunnerSetup = { ...base, service: 'orderDownload', owner: 'shop', endpointUrl: shop.url };
    const port = await freeLoopbackPort();
    watchOn({ ...watcherEnvironment([delivery]), [runnerEnv.healthPort]: String(port) });
    const scrape = async () => {
      const response = await fetch(`http://127.0.0.1:${port}/metrics`);
      expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
      return parseExposition(await response.text());
    };
    const series = `kind="Merchant",name="${merchant}",service="orderDelivery"`;
    const deliveries = (outcome: string) => `switchyard_watcher_deliveries_total{${series},outcome="${outcome}"}`;

    // Before any record: every outcome of the service at 0, so that the first one is seen as an increase.
    // Ready once it listens, by when every service it sends for has its series.
    await eventually('the watcher to be ready', () =>
      fetch(`http://127.0.0.1:${port}/readyz`).then(
        (response) => response.status === 200,
        () => false,
      ),
    );
    const before = await scrape();
    for (const outcome of ['delivered', 'failed_transient', 'failed_permanent']) {
      expect(before.samples.get(deliveries(outcome))).toBe(0);
    }

    warehouse.orders.respondWith((body) =>
      body.note === 'gift' ? { status: 422, reason: 'ship method not mapped' } : undefined,
    );
    shop.orders.put(
      { id: 'M-1', lines: [{ sku: 'MUG', quantity: 1 }] },
      { id: 'M-2', lines: [{ sku: 'MUG', quantity: 2 }] },
      { id: 'M-3', lines: [{ sku: 'MUG', quantity: 3 }], note: 'gift' },
    );
    expect((await runOnce('run', download)).exitCode).toBe(0);
    await eventually('two delivered and one refused', async () => {
      const { samples } = await scrape();
      return samples.get(deliveries('delivered')) === 2 && samples.get(deliveries('failed_permanent')) === 1;
    });

    const { samples, types } = await scrape();
    expect(warehouse.orders.applied).toHaveLength(2);
    expect(samples.get(deliveries('failed_transient'))).toBe(0);
    // One observation per write, in seconds: the three writes on loopback each took well under 10 s.
    expect(samples.get(`switchyard_watcher_write_duration_seconds_count{${series}}`)).toBe(3);
    expect(samples.get(`switchyard_watcher_write_duration_seconds_bucket{${series},le="10"}`)).toBe(3);
    expect(samples.get(`switchyard_watcher_write_duration_seconds_bucket{${series},le="+Inf"}`)).toBe(3);
    expect(samples.get(`switchyard_watcher_write_duration_seconds_sum{${series}}`)).toBeLessThan(10);
    expect(samples.get(`switchyard_watcher_passes_total{${series},result="completed"}`)).toBeGreaterThanOrEqual(1);
    expect(samples.get(`switchyard_watcher_passes_total{${series},result="failed"}`)).toBe(0);
    // The refused order waits for a person, not for the watcher.
    await eventually('the backlog after the pass', async () => {
      const { samples: latest } = await scrape();
      return latest.get(`switchyard_watcher_pending_records{${series}}`) === 0;
    });

    expect(Object.fromEntries(types)).toMatchObject({
      switchyard_watcher_deliveries_total: 'counter',
      switchyard_watcher_passes_total: 'counter',
      switchyard_watcher_write_duration_seconds: 'histogram',
      switchyard_watcher_pending_records: 'gauge',
      process_cpu_seconds_total: 'counter',
      process_resident_memory_bytes: 'gauge',
      process_start_time_seconds: 'gauge',
      nodejs_heap_size_used_bytes: 'gauge',
    });
    expect([...types.keys()].filter((name) => !/^(switchyard_watcher_|process_|nodejs_)/.test(name))).toEqual([]);
    expect(samples.get('process_resident_memory_bytes')).toBeGreaterThan(10 * 2 ** 20);
  });
});
