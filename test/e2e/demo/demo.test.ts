// The README's first command, end to end: the demo must show orders reaching the warehouse, tracking and inventory
// reaching the carts, interval services run on request, a backlog building in the Merchant's status while the
// warehouse is down and draining after the fix (with the refused orders, on a retry-now request), and clean up after
// itself. One of its carts is a Shopify shop (the GraphQL stand-in).
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../cluster/local-cluster.ts';
import { kubectl } from '../support/cluster.ts';

// The demo drives the local kwok cluster itself; against another cluster (KUBECONFIG set) there is nothing to show.
describe.skipIf(process.env.KUBECONFIG !== undefined)('npm run demo', () => {
  it('moves records end to end, shows a backlog drain after a fix, and cleans up', { timeout: 300_000 }, async () => {
    const output: string[] = [];
    const demo = spawn(process.execPath, [join(repoRoot, 'demo/demo.ts')], {
      env: { ...process.env, DEMO_SECONDS: '70' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    demo.stdout.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    demo.stderr.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    const code = await new Promise<number | null>((resolve) => demo.on('exit', resolve));
    const text = output.join('');
    expect(code, text).toBe(0);

    const reports = [
      ...text.matchAll(
        /at warehouse (\d+) \(refused (\d+)\) \| tracking at carts (\d+) \| inventory updates at carts (\d+) \| acme \w+, pending (\d+), failed (\d+)/g,
      ),
    ].map((match) => match.slice(1).map(Number));
    const last = reports.at(-1);
    expect(last, text).toBeDefined();
    const [delivered, refused, tracking, inventory, pending, failed] = last!;
    expect(delivered).toBeGreaterThan(5);
    expect(refused).toBeGreaterThan(0);
    expect(tracking).toBeGreaterThan(0);
    expect(inventory).toBeGreaterThan(0);
    // While the warehouse was down, orders waited and some were refused; after the fix and retry now, none are left.
    expect(Math.max(...reports.map((report) => report[4]!)), text).toBeGreaterThan(0);
    expect(Math.max(...reports.map((report) => report[5]!)), text).toBeGreaterThan(0);
    expect(failed, text).toBe(0);
    expect(pending, text).toBeLessThanOrEqual(2);
    expect(text).toContain('switchyard.dev/retry-requested-at');
    // The Shopify cart works like the other: its orders reach the warehouse, tracking becomes fulfillments, inventory
    // is set, and the shared rate budget keeps every request within the shop's limit.
    const shopify = [...text.matchAll(/Shopify: (\d+) fulfillments, (\d+) inventory sets, (\d+) throttled/g)].at(-1);
    const [fulfillments, inventorySets, throttled] = shopify!.slice(1).map(Number);
    expect(fulfillments, text).toBeGreaterThan(0);
    expect(inventorySets, text).toBeGreaterThan(0);
    expect(throttled, text).toBe(0);
    expect(text).toContain('done');
    // What the demo made is gone (the namespace may still be terminating).
    const namespaces = await kubectl([
      'get',
      'namespace',
      'demo',
      '-o',
      'jsonpath={.status.phase}',
      '--ignore-not-found',
    ]);
    expect(['', 'Terminating']).toContain(namespaces.trim());
  });
});
