// The real entry point as the pods run it: exit codes, what reaches stdout, and a graceful stop.
import { randomBytes } from 'node:crypto';
import { describe, expect, it, onTestFinished } from 'vitest';
import { runnerEnv } from '../../operator/api/runner-contract.ts';
import { startFakeCart, startFakeWarehouse } from '../support/contract-servers.ts';
import { useTestDatabase } from './support/database.ts';
import { eventually } from '../support/eventually.ts';
import { freeLoopbackPort } from '../support/free-port.ts';
import { runnerEnvironment, spawnRunner, watcherEnvironment, type RunnerSetup } from './support/runners.ts';

const db = useTestDatabase();
const token = `token-${randomBytes(8).toString('hex')}`;
const marker = `payload-${randomBytes(8).toString('hex')}`;

async function setups() {
  const [cart, warehouse] = await Promise.all([startFakeCart({ token }), startFakeWarehouse({ token })]);
  onTestFinished(() => Promise.all([cart.close(), warehouse.close()]).then(() => undefined));
  const base = { namespace: `ns-${randomBytes(3).toString('hex')}`, merchant: 'acme', databaseUrl: db.url, token };
  const download: RunnerSetup = { ...base, service: 'orderDownload', owner: 'web-shop', endpointUrl: cart.url };
  const delivery: RunnerSetup = { ...base, service: 'orderDelivery', owner: 'acme', endpointUrl: warehouse.url };
  return { cart, warehouse, download, delivery };
}

const verbose = (setup: RunnerSetup) => ({ ...runnerEnvironment(setup), [runnerEnv.logLevel]: 'trace' });
const logLines = (output: string) =>
  output
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { level: string; msg: string });

describe('switchyard-runner', () => {
  it('exits 2 and names the variable and the rule when the configuration is bad, without echoing secrets', async () => {
    const { delivery } = await setups();
    const runner = spawnRunner(['run', '--service', 'orderDelivery'], {
      ...runnerEnvironment(delivery),
      [runnerEnv.batchSize]: 'many',
      [runnerEnv.endpointUrl]: `ftp://${token}@wms`,
    });
    expect(await runner.exited).toBe(2);
    const [line] = logLines(runner.output());
    expect(line?.msg).toBe(
      'invalid configuration: SWITCHYARD_BATCH_SIZE must be a whole number from 1 to 10000; ' +
        'SWITCHYARD_ENDPOINT_URL must be a URL starting with http:// or https://',
    );
    expect(runner.output()).not.toContain(token);
  });

  it('exits 2 with the usage on a bad command line', async () => {
    const runner = spawnRunner(['sync'], {});
    expect(await runner.exited).toBe(2);
    expect(runner.output()).toContain('usage: switchyard-runner <run|cleanup> --service');
  });

  it('logs JSON with record ids only: no token, no database password, no record content, no reasons', async () => {
    const { cart, warehouse, download, delivery } = await setups();
    cart.orders.put(
      { id: 'LOG-1', lines: [{ sku: 'A', quantity: 1 }], note: marker },
      { id: 'LOG-2', lines: 'bad', note: marker },
    );
    warehouse.orders.respondWith((body) => ({ status: 422, reason: `cannot ship ${String(body.note)}` }));
    const runs = [];
    for (const [service, setup] of [
      ['orderDownload', download],
      ['orderDelivery', delivery],
    ] as const) {
      const run = spawnRunner(['run', '--service', service], verbose(setup));
      expect(await run.exited).toBe(0);
      runs.push(run);
    }
    expect(warehouse.orders.received).toHaveLength(1);

    const output = runs.map((run) => run.output()).join('');
    const password = new URL(db.url).password;
    expect(password).not.toBe('');
    expect(output).not.toContain(token);
    expect(output).not.toContain(password);
    expect(output).not.toContain(marker);
    const lines = logLines(output);
    expect(lines.map((line) => line.msg)).toEqual(
      expect.arrayContaining(['runner starting', 'delivery failed', 'run finished']),
    );
    expect(output).toContain('"record":"web-shop/LOG-1"');
  });

  it('serves its probes, is ready once it listens, stops watching on SIGTERM and exits 0', async () => {
    const { delivery } = await setups();
    const port = await freeLoopbackPort();
    const watcher = spawnRunner(['watch'], {
      ...watcherEnvironment([delivery]),
      [runnerEnv.logLevel]: 'trace',
      [runnerEnv.healthPort]: String(port),
    });
    const probe = (path: string) =>
      fetch(`http://127.0.0.1:${port}${path}`).then(
        (response) => response.status,
        () => 0,
      );
    await eventually('the watcher to be ready', async () => (await probe('/readyz')) === 200, { timeoutMs: 20_000 });
    expect(watcher.output()).toContain('watching for new records');
    expect(await probe('/healthz')).toBe(200);
    watcher.child.kill('SIGTERM');
    expect(await watcher.exited).toBe(0);
    expect(logLines(watcher.output()).at(-1)?.msg).toBe('stopped watching');
  });
});
