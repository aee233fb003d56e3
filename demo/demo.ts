// npm run demo: Switchyard end to end on this machine. A local cluster with the Helm chart installed, the operator,
// a merchant with two carts, a warehouse and two cart platforms on loopback, the hub store on PostgreSQL, and the
// runner doing the work of the pods the operator creates. Orders flow until Ctrl-C, which cleans everything up. On
// the way the warehouse goes down for a while and a refused SKU gets mapped: the backlog builds in status, and a
// retry-now request drains it.
//
// DEMO_SECONDS=N stops it by itself after N seconds.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import type { Owner } from '../operator/api/v1alpha1/types.ts';
import {
  defaultCluster,
  ensureBinaries,
  repoRoot,
  startLocalCluster,
  stopLocalCluster,
} from '../test/cluster/local-cluster.ts';
import { RunnerPods } from '../test/cluster/runner-pods.ts';
import { startFakeCart, startFakeWarehouse, type FakeCart } from '../test/support/contract-servers.ts';
import { startShopifyStandIn } from '../test/support/shopify-stand-in.ts';
import { startPostgres } from '../test/support/postgres.ts';

const run = promisify(execFile);
const namespace = 'demo';
const systemNamespace = 'switchyard-system';
const release = 'switchyard';
const skus = ['MUG-RED', 'MUG-BLUE', 'TEE-M', 'TEE-L', 'CAP'];
// The warehouse refuses this one as a person would have to fix it: it shows up in failedRecords.
const unmappedSku = 'GIFT-WRAP';

const say = (text: string) => console.log(`\x1b[1m▶\x1b[0m ${text}`);

// The processes' logs go to files; a warning or error shows here as one short line.
const logDir = join(repoRoot, '.demo-logs');
mkdirSync(logDir, { recursive: true });
const logFile = (name: string) => createWriteStream(join(logDir, `${name}.log`), { flags: 'w' });
const levelNames: Record<string, string> = { '40': 'warn', '50': 'error', '60': 'fatal' };
/** One line of a JSON log, or undefined when it is below warn. */
function warningOf(source: string, line: string): string | undefined {
  try {
    const entry = JSON.parse(line) as { level?: string | number; msg?: string };
    const level = levelNames[String(entry.level)] ?? String(entry.level);
    if (!['warn', 'error', 'fatal'].includes(level)) return undefined;
    const text = entry.msg ?? '';
    return `  ${level} ${source}: ${text.length > 110 ? `${text.slice(0, 109)}…` : text}`;
  } catch {
    return undefined;
  }
}
/** Writes a process's output to its file, and its warnings here. */
function follow(source: string, stream: Readable, file = logFile(source)): void {
  createInterface({ input: stream }).on('line', (line) => {
    file.write(`${line}\n`);
    const warning = warningOf(source, line);
    if (warning) console.log(`\x1b[2m${warning}\x1b[0m`);
  });
}
const cleanups: (() => Promise<unknown>)[] = [];

const binaries = await ensureBinaries();
const { kubeconfig, started } = await startLocalCluster(binaries);
if (started) cleanups.push(() => stopLocalCluster(binaries, defaultCluster));
const kubectl = async (...args: string[]) =>
  (await run(binaries.kubectl, ['--kubeconfig', kubeconfig, ...args], { maxBuffer: 16 << 20 })).stdout;
const kubectlApply = (yaml: string) =>
  new Promise<void>((resolve, reject) => {
    const child = spawn(binaries.kubectl, ['--kubeconfig', kubeconfig, 'apply', '-n', namespace, '-f', '-']);
    child.stdin.end(yaml);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`kubectl apply exited ${code}`))));
  });
say(`local cluster ${started ? 'started' : 'reused'}: KUBECONFIG=${kubeconfig}`);

// The install a platform team makes: the chart, with its CRDs (templates, so that upgrades keep them current). A
// cluster that already has the CRDs (the test cluster installs them with kubectl) hands them over to the release.
await run(binaries.helm, [
  'upgrade',
  '--install',
  release,
  join(repoRoot, 'charts/switchyard'),
  '--kubeconfig',
  kubeconfig,
  '--namespace',
  systemNamespace,
  '--create-namespace',
  '--take-ownership',
  '--set',
  'replicaCount=1',
]);
cleanups.push(() => run(binaries.helm, ['uninstall', release, '--kubeconfig', kubeconfig, '-n', systemNamespace]));
say(`helm upgrade --install ${release} charts/switchyard -n ${systemNamespace}`);

await kubectl('delete', 'namespace', namespace, '--ignore-not-found', '--wait=true');
await kubectl('create', 'namespace', namespace);
cleanups.push(() => kubectl('delete', 'namespace', namespace, '--wait=false'));

// The systems outside the cluster: the hub store, a warehouse, a Shopify shop (a loopback stand-in of its GraphQL
// Admin API, rate limits included) and a cart that speaks Switchyard's own HTTP contract.
const postgres = await startPostgres();
cleanups.push(() => postgres.stop());
const warehouse = await startFakeWarehouse({ token: 'wms-secret' });
const shopify = await startShopifyStandIn({
  locations: [{ name: 'Chicago' }],
  variants: [...skus, unmappedSku].map((sku) => ({ sku, available: { Chicago: 0 } })),
});
const carts: Record<string, FakeCart> = { 'acme-etsy': await startFakeCart({ token: 'etsy-secret' }) };
const cartNames = ['acme-shopify', ...Object.keys(carts)];
cleanups.push(() => Promise.all([warehouse, shopify, ...Object.values(carts)].map((server) => server.close())));
say(
  `hub store ${postgres.url.replace(/:[^:@]*@/, ':***@')}; warehouse ${warehouse.url}; Shopify ${shopify.url}; ` +
    `cart ${carts['acme-etsy']!.url}`,
);

const secret = (name: string, data: Record<string, string>) =>
  `apiVersion: v1\nkind: Secret\nmetadata: { name: ${name} }\nstringData: ${JSON.stringify(data)}\n---\n`;
await kubectlApply(
  secret('switchyard-hub-store', { url: postgres.url }) +
    secret('acme-wms', { token: 'wms-secret' }) +
    secret('acme-shopify', { token: shopify.defaultAccessToken }) +
    secret('acme-etsy', { token: 'etsy-secret' }) +
    `apiVersion: switchyard.dev/v1alpha1
kind: Merchant
metadata: { name: acme }
spec:
  timeZone: America/Chicago
  warehouse: { url: "${warehouse.url}", credentialsSecretRef: { name: acme-wms } }
  services:
    orderDelivery: { schedule: Automatic }
    shippingConfirmations: { schedule: 15m }
    inventory: { schedule: 1h }
---
apiVersion: switchyard.dev/v1alpha1
kind: Cart
metadata: { name: acme-shopify }
spec:
  merchantRef: { name: acme }
  # The shop's domain; url sends the requests to the stand-in instead of https://acme-demo.myshopify.com.
  platform: { type: shopify, shop: acme-demo.myshopify.com, url: "${shopify.url}", credentialsSecretRef: { name: acme-shopify } }
  services:
    orderDownload: { schedule: 5m }
    shipmentUpload: { schedule: Automatic }
    inventoryUpload: { schedule: Automatic }
` +
    Object.entries(carts)
      .map(
        ([name, cart]) => `---
apiVersion: switchyard.dev/v1alpha1
kind: Cart
metadata: { name: ${name} }
spec:
  merchantRef: { name: acme }
  platform: { url: "${cart.url}", credentialsSecretRef: { name: ${name} } }
  services:
    orderDownload: { schedule: 5m }
    shipmentUpload: { schedule: Automatic }
    inventoryUpload: { schedule: Automatic }
`,
      )
      .join(''),
);
say('kubectl apply: Merchant acme, Carts acme-shopify (type shopify) and acme-etsy (type http), and their Secrets');

// The operator, run here with the chart's ServiceAccount identity (kwok's pods only stand in for it).
const { stdout: token } = await run(binaries.kubectl, [
  '--kubeconfig',
  kubeconfig,
  'create',
  'token',
  `${release}`,
  '-n',
  systemNamespace,
  '--duration=24h',
]);
const operatorKubeconfig = join(tmpdir(), 'switchyard-demo-operator.kubeconfig');
const admin = new k8s.KubeConfig();
admin.loadFromFile(kubeconfig);
const server = admin.getCurrentCluster()!;
writeFileSync(
  operatorKubeconfig,
  JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'local', cluster: { server: server.server, 'insecure-skip-tls-verify': true } }],
    users: [{ name: 'operator', user: { token: token.trim() } }],
    contexts: [{ name: 'operator', context: { cluster: 'local', user: 'operator' } }],
    'current-context': 'operator',
  }),
  { mode: 0o600 },
);
const operator: ChildProcess = spawn(process.execPath, [join(repoRoot, 'operator/main.ts')], {
  env: {
    ...process.env,
    KUBECONFIG: operatorKubeconfig,
    POD_NAMESPACE: systemNamespace,
    SWITCHYARD_HTTP_PORT: '18080',
    SWITCHYARD_LOG_LEVEL: 'info',
  },
  stdio: ['ignore', 'pipe', 'pipe'],
});
const operatorLog = logFile('operator');
follow('operator', operator.stdout!, operatorLog);
follow('operator', operator.stderr!, operatorLog);
cleanups.push(() => stopProcess(operator));
say(
  'operator started (as system:serviceaccount:switchyard-system:switchyard); metrics on http://127.0.0.1:18080/metrics',
);

const runnersLog = logFile('runners');
const runnerPods = new RunnerPods({
  kubeconfig,
  namespace,
  onOutput: (pod, line) => {
    runnersLog.write(`${pod}: ${line}\n`);
    const warning = warningOf(pod, line);
    if (warning) console.log(`\x1b[2m${warning}\x1b[0m`);
  },
});
await runnerPods.start();
cleanups.push(() => runnerPods.stop());
say("runner pods run as local processes, each as its pod's ServiceAccount");
say(
  `logs: ${join('.demo-logs', 'operator.log')} and ${join('.demo-logs', 'runners.log')}; warnings show here, one line each`,
);

function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  return exited;
}

// The world turns: shoppers order, the warehouse ships and counts stock.
const firstOrderNumber = 1000;
let orderNumber = firstOrderNumber;
function placeOrder(): void {
  const cartName = cartNames[orderNumber % cartNames.length]!;
  orderNumber += 1;
  const sku = orderNumber % 9 === 0 ? unmappedSku : skus[orderNumber % skus.length]!;
  const quantity = 1 + (orderNumber % 3);
  if (cartName === 'acme-shopify') shopify.addOrder({ name: `#${orderNumber}`, lineItems: [{ sku, quantity }] });
  else carts[cartName]!.orders.put({ id: String(orderNumber), lines: [{ sku, quantity }] });
}
warehouse.orders.respondWith((order) =>
  JSON.stringify(order).includes(unmappedSku)
    ? { status: 422, reason: `ship method not mapped for ${unmappedSku}` }
    : undefined,
);
let shipmentNumber = 0;
warehouse.orders.onApplied((write) => {
  const orderId = String(write.body.id);
  setTimeout(() => {
    shipmentNumber += 1;
    warehouse.shipments.put({
      id: `SHP-${shipmentNumber}`,
      orderId,
      carrier: 'UPS',
      trackingNumber: `1Z${orderId.replace(/\W/g, '')}`,
    });
  }, 2_000).unref();
});
const restock = () =>
  warehouse.inventory.put(...skus.map((sku) => ({ sku, quantity: 20 + Math.floor(Math.random() * 80) })));
restock();

/** Run now (or retry now): the annotation a user or Argo CD's action sets; the operator answers it with Jobs. */
async function request(kind: 'merchant' | 'cart', name: string, what: 'run' | 'retry', services?: string) {
  const annotations = [`switchyard.dev/${what}-requested-at=${new Date().toISOString()}`];
  if (services) annotations.push(`switchyard.dev/run-services=${services}`);
  await kubectl('annotate', '--overwrite', '-n', namespace, `${kind}/${name}`, ...annotations).catch(() => undefined);
}

const custom = admin.makeApiClient(k8s.CustomObjectsApi);
async function statusLine(plural: 'merchants' | 'carts', name: string): Promise<string> {
  const owner = (await custom.getNamespacedCustomObject({
    group: 'switchyard.dev',
    version: 'v1alpha1',
    namespace,
    plural,
    name,
  })) as Owner;
  const ready = owner.status?.conditions?.find((condition) => condition.type === 'Ready');
  const pending = (owner.status?.services ?? []).reduce((total, service) => total + (service.pendingRecords ?? 0), 0);
  return `${name} ${ready?.status === 'True' ? 'Ready' : (ready?.reason ?? 'pending')}, pending ${pending}, failed ${owner.status?.failedRecords ?? 0}`;
}

async function report(): Promise<void> {
  const placed = orderNumber - firstOrderNumber;
  // At Shopify, tracking becomes fulfillments and inventory becomes inventorySetQuantities calls.
  const setAtShopify = shopify.requests.filter(
    (request) => request.operationName === 'SwitchyardSetAvailable' && request.errorCodes.length === 0,
  ).length;
  const tracking =
    shopify.shop.fulfillments.length +
    Object.values(carts).reduce((total, cart) => total + cart.tracking.applied.length, 0);
  const inventory =
    setAtShopify + Object.values(carts).reduce((total, cart) => total + cart.inventory.applied.length, 0);
  const statuses = await Promise.all([
    statusLine('merchants', 'acme'),
    ...cartNames.map((name) => statusLine('carts', name)),
  ]).catch(() => ['status not yet written']);
  say(
    `orders placed ${placed} → at warehouse ${warehouse.orders.applied.length} (refused ${warehouse.orders.received.filter((w) => w.status >= 400).length}) | ` +
      `tracking at carts ${tracking} | inventory updates at carts ${inventory} | ${statuses.join('; ')}`,
  );
  say(
    `  Shopify: ${shopify.shop.fulfillments.length} fulfillments, ${setAtShopify} inventory sets, ` +
      `${shopify.requests.filter((request) => request.throttled).length} throttled of ${shopify.requests.length} requests`,
  );
}

let ticks = 0;
const timers = [
  setInterval(placeOrder, 2_000),
  setInterval(() => {
    ticks += 1;
    for (const cart of cartNames) void request('cart', cart, 'run', 'orderDownload');
    if (ticks % 2 === 0) restock();
    void request(
      'merchant',
      'acme',
      'run',
      ticks % 2 === 0 ? 'shippingConfirmations,inventory' : 'shippingConfirmations',
    );
  }, 10_000),
  setInterval(() => void report(), 5_000),
  // Trouble, and its fix: orders pile up in the hub while the warehouse is down; once it is back and the refused SKU
  // is mapped, retry now sends what waited and what was refused.
  setTimeout(() => {
    say('the warehouse goes down: orders wait in the hub (pending)');
    warehouse.orders.respondWith(() => ({ status: 503, reason: 'warehouse maintenance' }));
  }, 20_000),
  setTimeout(() => {
    say(`the warehouse is back and someone mapped ${unmappedSku}:`);
    say(
      '  kubectl annotate merchant/acme switchyard.dev/retry-requested-at=<now>   (Argo CD: "Retry failed records now")',
    );
    warehouse.orders.respondWith(undefined);
    void request('merchant', 'acme', 'retry');
  }, 35_000),
];
say('shoppers order every 2 s; every 10 s Order Download, Shipping Confirmations and Inventory are run now:');
say(
  '  kubectl annotate cart/acme-shopify switchyard.dev/run-requested-at=<now> switchyard.dev/run-services=orderDownload',
);
say('Ctrl-C stops the demo and removes what it made');

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  for (const timer of timers) clearTimeout(timer);
  await report();
  say('cleaning up');
  for (const cleanup of cleanups.reverse()) await cleanup().catch((error: unknown) => console.error(String(error)));
  say('done');
  process.exit(0);
}
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
if (process.env.DEMO_SECONDS) setTimeout(() => void stop(), Number(process.env.DEMO_SECONDS) * 1000);
