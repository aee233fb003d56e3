// The backlog and freshness gauges in a running operator's /metrics, against the local cluster: a Merchant and a Cart
// whose status carries what their runners report (applied to /status as the runner does), the periods of their
// services, their creation, and the Merchant's watcher. A report shows at the next scrape; a standby replica exports
// none of it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, kubectl, useTestNamespace } from '../support/cluster.ts';
import { startOperator, type RunningOperator } from '../support/operator.ts';
import { applyYaml, cartYaml, getOwner, merchantYaml, waitForReady } from '../support/switchyard.ts';

const namespace = useTestNamespace('metrics');
let leader: RunningOperator;
let standby: RunningOperator | undefined;

beforeAll(async () => {
  leader = await startOperator(namespace.name);
});
afterAll(async () => {
  await standby?.stop();
  await leader?.stop();
});

/** Reports one service's fields to the object's /status as its runner does: server-side apply, its own manager. */
async function reportAsRunner(kind: 'Merchant' | 'Cart', name: string, service: Record<string, unknown>) {
  await kubectl(
    [
      'apply',
      '--server-side',
      '--force-conflicts',
      '--subresource=status',
      `--field-manager=switchyard-runner/${String(service.name)}`,
      '-n',
      namespace.name,
      '-f',
      '-',
    ],
    JSON.stringify({
      apiVersion: 'switchyard.dev/v1alpha1',
      kind,
      metadata: { name },
      status: { services: [service] },
    }),
  );
}

/** The backlog gauges' samples in a scrape of `operator`, as `name{labels} value` lines. */
async function backlogLines(operator: RunningOperator): Promise<string[]> {
  const text = await (await fetch(`http://127.0.0.1:${operator.port}/metrics`)).text();
  return text.split('\n').filter((line) => /^switchyard_(service|owner|watcher)_/.test(line));
}

/** Waits until a scrape holds every one of `expected` (and none of `absent`); returns that scrape. */
function scrapeHolding(operator: RunningOperator, expected: string[], absent: string[] = []) {
  return eventually(`/metrics with ${expected.join(', ')}`, async () => {
    const lines = await backlogLines(operator);
    const holds = expected.every((line) => lines.includes(line)) && !absent.some((line) => lines.includes(line));
    return holds ? lines : undefined;
  });
}

const epochSeconds = (time: string) => String(Date.parse(time) / 1000);
/** A time as the runner writes it: RFC 3339 to the second, `minutes` ago. */
const minutesAgo = (minutes: number) => new Date(Date.now() - minutes * 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z');

describe('the backlog and freshness metrics', () => {
  it("show what the runners reported, each service's period and the watcher, from the leader only", async () => {
    const ns = namespace.name;
    await applyYaml(
      ns,
      merchantYaml('acme', { orderDelivery: 'Automatic', shippingConfirmations: '30m', inventory: 'Disabled' }),
    );
    await applyYaml(
      ns,
      cartYaml('acme-shop', 'acme', {
        orderDownload: '15m',
        shipmentUpload: 'Automatic',
        inventoryUpload: 'Automatic',
      }),
    );
    // Ready: the watcher serves the Automatic services.
    await waitForReady('Merchant', ns, 'acme');

    const oldestPending = minutesAgo(40);
    const lastSuccess = minutesAgo(50);
    const downloaded = minutesAgo(7);
    await reportAsRunner('Merchant', 'acme', {
      name: 'orderDelivery',
      pendingRecords: 4,
      oldestPendingTime: oldestPending,
      lastSuccessTime: lastSuccess,
      failedRecords: { count: 2 },
    });
    await reportAsRunner('Cart', 'acme-shop', { name: 'orderDownload', lastSuccessTime: downloaded });

    const merchant = await getOwner('Merchant', ns, 'acme');
    const cart = await getOwner('Cart', ns, 'acme-shop');
    const delivery = `namespace="${ns}",kind="Merchant",name="acme",service="orderDelivery"`;
    const merchantService = (service: string) => `namespace="${ns}",kind="Merchant",name="acme",service="${service}"`;
    const cartService = (service: string) => `namespace="${ns}",kind="Cart",name="acme-shop",service="${service}"`;
    const lines = await scrapeHolding(leader, [
      `switchyard_service_pending_records{${delivery}} 4`,
      `switchyard_service_failed_records{${delivery}} 2`,
      `switchyard_service_oldest_pending_timestamp_seconds{${delivery}} ${epochSeconds(oldestPending)}`,
      `switchyard_service_last_success_timestamp_seconds{${delivery}} ${epochSeconds(lastSuccess)}`,
      `switchyard_service_last_success_timestamp_seconds{${cartService('orderDownload')}} ${epochSeconds(downloaded)}`,
      `switchyard_owner_created_timestamp_seconds{namespace="${ns}",kind="Merchant",name="acme"} ${epochSeconds(merchant.metadata.creationTimestamp!)}`,
      `switchyard_owner_created_timestamp_seconds{namespace="${ns}",kind="Cart",name="acme-shop"} ${epochSeconds(cart.metadata.creationTimestamp!)}`,
      `switchyard_watcher_up{namespace="${ns}",merchant="acme"} 1`,
    ]);
    // The periods the stall judgement uses; a Disabled service has none.
    expect(lines.filter((line) => line.startsWith('switchyard_service_period_seconds')).sort()).toEqual(
      [
        `switchyard_service_period_seconds{${merchantService('orderDelivery')}} 900`,
        `switchyard_service_period_seconds{${merchantService('shippingConfirmations')}} 1800`,
        `switchyard_service_period_seconds{${cartService('orderDownload')}} 900`,
        `switchyard_service_period_seconds{${cartService('shipmentUpload')}} 900`,
        `switchyard_service_period_seconds{${cartService('inventoryUpload')}} 900`,
      ].sort(),
    );
    // Only what a runner reported: no pending count for a service that reported none.
    expect(lines.filter((line) => line.startsWith('switchyard_service_pending_records'))).toEqual([
      `switchyard_service_pending_records{${delivery}} 4`,
    ]);

    // The next report shows at the next scrape, read from the caches.
    await reportAsRunner('Merchant', 'acme', {
      name: 'orderDelivery',
      pendingRecords: 0,
      lastSuccessTime: minutesAgo(0),
      failedRecords: { count: 2 },
    });
    await scrapeHolding(
      leader,
      [`switchyard_service_pending_records{${delivery}} 0`],
      [`switchyard_service_oldest_pending_timestamp_seconds{${delivery}} ${epochSeconds(oldestPending)}`],
    );

    // Beside them, Node.js's own metrics under their standard names (stock dashboards read them), and the build.
    const all = await (await fetch(`http://127.0.0.1:${leader.port}/metrics`)).text();
    for (const name of ['process_resident_memory_bytes', 'process_cpu_seconds_total', 'nodejs_heap_size_used_bytes']) {
      expect(all).toMatch(new RegExp(`^${name} `, 'm'));
    }
    expect(all).toMatch(/^switchyard_build_info\{version="[^"]+",revision="[^"]+",nodejs_version="v24\.[^"]+"\} 1$/m);
    expect(all).not.toMatch(/^switchyard_operator_/m);

    // A second replica stands by: its caches are not started, and it exports none of these.
    standby = await startOperator(ns, {}, { waitFor: 'listening' });
    expect(await backlogLines(standby)).toEqual([]);
  });
});
