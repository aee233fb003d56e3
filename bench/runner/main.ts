// npm run bench:runner — the runner's figures on this machine, loopback only, bounded in time:
//   1. baseline: the warehouse sink fed directly by a client process (no hub), records/s (a 20,000-record sample);
//   2. interval throughput: 100,000 orders cart → hub (Order Download) and hub → warehouse (Order Delivery), each an
//      interval run of the real entry point, records/s;
//   3. Automatic latency: orders land in the hub at a steady rate while a watcher runs; p50/p99 from the commit
//      that lands an order to the warehouse receiving it.
// BENCH_ORDERS, BENCH_BASELINE_ORDERS and BENCH_INFLOW_SECONDS shrink it for a quick look. Each child process is
// stopped after BENCH_PHASE_SECONDS (default 240) at the latest, and every child is stopped on the way out.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { createLogger } from '../../operator/runner/log.ts';
import { createPool } from '../../operator/runner/store/database.ts';
import { registerCart } from '../../operator/runner/store/carts.ts';
import { takeOrders } from '../../operator/runner/store/intake.ts';
import { applyMigrations } from '../../operator/runner/store/migrate.ts';
import { runnerEnvironment, type RunnerSetup } from '../../test/support/runner-environment.ts';
import { startFakeCart, startFakeWarehouse } from '../../test/support/contract-servers.ts';
import { startPostgres } from '../../test/support/postgres.ts';

const orderCount = Number(process.env.BENCH_ORDERS ?? 100_000);
const baselineCount = Math.min(orderCount, Number(process.env.BENCH_BASELINE_ORDERS ?? 20_000));
const phaseLimitMs = Number(process.env.BENCH_PHASE_SECONDS ?? 240) * 1000;
const inflowSeconds = Number(process.env.BENCH_INFLOW_SECONDS ?? 20);
const inflowPerSecond = 50;
const batchSize = 1000;
const runnerEntryPoint = fileURLToPath(new URL('../../operator/runner/main.ts', import.meta.url));
const directFeed = fileURLToPath(new URL('./direct-feed.ts', import.meta.url));

interface Child {
  readonly exited: Promise<number | null>;
  readonly output: () => string;
  stop(): void;
}

const children = new Set<ReturnType<typeof spawn>>();

function spawnNode(args: string[], env: Record<string, string> = {}): Child {
  const child = spawn(process.execPath, args, {
    env: { PATH: process.env.PATH ?? '', ...env, SWITCHYARD_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  child.on('exit', () => children.delete(child));
  const limit = setTimeout(() => child.kill('SIGKILL'), phaseLimitMs);
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      clearTimeout(limit);
      resolve(code);
    }),
  );
  return { exited, output: () => output, stop: () => child.kill('SIGTERM') };
}

async function timed(what: string, child: Child): Promise<number> {
  const started = performance.now();
  const code = await child.exited;
  if (code !== 0) throw new Error(`${what} exited with ${code}:\n${child.output()}`);
  return (performance.now() - started) / 1000;
}

const percentile = (sorted: readonly number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
const rate = (count: number, seconds: number) => `${Math.round(count / seconds).toLocaleString('en-US')} records/s`;

const started = performance.now();
const postgres = await startPostgres();
const [cart, warehouse] = await Promise.all([startFakeCart(), startFakeWarehouse()]);
const log = createLogger('warn');
const pool = createPool(postgres.url, 'bench', log);
try {
  await applyMigrations(pool);
  console.log(`switchyard runner benchmark: ${orderCount.toLocaleString('en-US')} orders, batch size ${batchSize}`);

  // 1. Baseline.
  const baselineSeconds = await timed('the direct feed', spawnNode([directFeed, warehouse.url, String(baselineCount)]));
  console.log(
    `baseline, sink fed directly:            ${rate(baselineCount, baselineSeconds)} ` +
      `(${baselineCount.toLocaleString('en-US')} orders in ${baselineSeconds.toFixed(1)} s)`,
  );

  // 2. Interval throughput through the hub.
  const namespace = 'bench';
  const setup = (service: RunnerSetup['service'], owner: string, endpointUrl: string): RunnerSetup => ({
    service,
    namespace,
    owner,
    merchant: 'acme',
    endpointUrl,
    databaseUrl: postgres.url,
    batchSize,
  });
  cart.orders.put(
    ...Array.from({ length: orderCount }, (_, index) => ({
      id: `B-${index}`,
      lines: [{ sku: `SKU-${index % 500}`, quantity: 1 + (index % 3) }],
      shipTo: { name: 'Ada Lovelace', street: '12 Analytical Row', city: 'London', postalCode: 'N1 9GU' },
    })),
  );
  const download = runnerEnvironment(setup('orderDownload', 'web-shop', cart.url));
  const downloadSeconds = await timed(
    'order download',
    spawnNode([runnerEntryPoint, 'run', '--service', 'orderDownload'], download),
  );
  const delivery = runnerEnvironment(setup('orderDelivery', 'acme', warehouse.url));
  const before = warehouse.orders.applied.length;
  const deliverySeconds = await timed(
    'order delivery',
    spawnNode([runnerEntryPoint, 'run', '--service', 'orderDelivery'], delivery),
  );
  const delivered = warehouse.orders.applied.length - before;
  if (delivered !== orderCount) throw new Error(`the warehouse got ${delivered} of ${orderCount} orders`);
  console.log(
    `interval, cart → hub (Order Download):  ${rate(orderCount, downloadSeconds)} (${downloadSeconds.toFixed(1)} s)`,
  );
  console.log(
    `interval, hub → WMS (Order Delivery):   ${rate(orderCount, deliverySeconds)} (${deliverySeconds.toFixed(1)} s)`,
  );
  console.log(
    `interval, cart → hub → WMS end to end:  ${rate(orderCount, downloadSeconds + deliverySeconds)} (process start-up included)`,
  );

  // 3. Automatic latency under a steady inflow, for another merchant.
  const latencyNamespace = 'bench-latency';
  // Both ends are timed in this process; the warehouse may see an order before this process has resumed after the
  // commit, so arrivals and landings are joined at the end (such an order counts as 0 ms).
  const landedAt = new Map<string, number>();
  const arrivedAt = new Map<string, number>();
  warehouse.orders.onApplied((write) => arrivedAt.set(String(write.body.id), write.at));
  const watcher = spawnNode([runnerEntryPoint, 'watch', '--service', 'orderDelivery'], {
    ...runnerEnvironment({
      ...setup('orderDelivery', 'latency', warehouse.url),
      namespace: latencyNamespace,
      merchant: 'latency',
    }),
  });
  const cartScope = { namespace: latencyNamespace, cart: 'steady', merchant: 'latency' };
  await registerCart(pool, cartScope);
  const land = async (id: string) => {
    await takeOrders(pool, cartScope, {
      accepted: [{ id, lines: [{ sku: 'SKU-1', quantity: 1 }] }],
      rejected: [],
      readFrom: undefined,
      advanceTo: undefined,
      passId: randomUUID(),
    });
    landedAt.set(`steady/${id}`, performance.now());
  };
  // Warm-up: wait until the watcher delivers, so start-up is not measured.
  await land('warm-up');
  while (!arrivedAt.has('steady/warm-up')) await new Promise((resolve) => setTimeout(resolve, 50));
  const total = inflowSeconds * inflowPerSecond;
  const inflowStart = performance.now();
  for (let index = 0; index < total; index++) {
    const due = inflowStart + (index * 1000) / inflowPerSecond;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - performance.now())));
    await land(`S-${index}`);
  }
  const deadline = performance.now() + 10_000;
  while (arrivedAt.size < total + 1 && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  watcher.stop();
  await watcher.exited;
  const sorted = [...landedAt]
    .filter(([id]) => id !== 'steady/warm-up' && arrivedAt.has(id))
    .map(([id, landed]) => Math.max(0, arrivedAt.get(id)! - landed))
    .sort((a, b) => a - b);
  console.log(
    `Automatic latency (${sorted.length}/${total} orders at ${inflowPerSecond}/s, hub commit → WMS): ` +
      `p50 ${percentile(sorted, 50).toFixed(1)} ms, p99 ${percentile(sorted, 99).toFixed(1)} ms, max ${(sorted.at(-1) ?? Number.NaN).toFixed(1)} ms`,
  );
  console.log(`(benchmark took ${((performance.now() - started) / 1000).toFixed(0)} s)`);
} finally {
  for (const child of children) child.kill('SIGKILL');
  await pool.end();
  await Promise.all([cart.close(), warehouse.close()]);
  await postgres.stop();
}
