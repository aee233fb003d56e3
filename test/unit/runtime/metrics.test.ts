// The operator's metric names as a scrape shows them: Node.js's under their standard names, ours under `switchyard_`,
// build info, and the reconcile results that the controller counts.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createMetrics, readBuildInfo } from '../../../operator/runtime/metrics.ts';

const buildInfo = { version: '1.2.3', revision: '0123abc', nodejs_version: 'v24.0.0' };

/** The metric names of a scrape, from its `# TYPE` lines. */
const metricNames = (text: string) =>
  text
    .split('\n')
    .filter((line) => line.startsWith('# TYPE '))
    .map((line) => line.split(' ')[2]!);

describe("the operator's metrics", () => {
  it("name Node.js's default metrics as stock dashboards expect, and everything else switchyard_", async () => {
    const names = metricNames(await createMetrics(buildInfo).registry.metrics());
    expect(names).toEqual(
      expect.arrayContaining([
        'process_cpu_seconds_total',
        'process_resident_memory_bytes',
        'process_start_time_seconds',
        'nodejs_heap_size_used_bytes',
        'nodejs_eventloop_lag_seconds',
      ]),
    );
    expect(names.filter((name) => !/^(process|nodejs)_/.test(name) && !name.startsWith('switchyard_'))).toEqual([]);
    expect(names.filter((name) => name.includes('switchyard_operator_'))).toEqual([]);
  });

  it('export switchyard_build_info as 1 with the version, revision and Node.js version', async () => {
    const text = await createMetrics(buildInfo).registry.metrics();
    expect(text).toContain('# TYPE switchyard_build_info gauge');
    expect(text).toContain('switchyard_build_info{version="1.2.3",revision="0123abc",nodejs_version="v24.0.0"} 1');
  });

  it('read the version from package.json and the revision from SWITCHYARD_REVISION, else "unknown"', () => {
    const { version } = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    expect(readBuildInfo({ SWITCHYARD_REVISION: 'f00d' })).toEqual({
      version,
      revision: 'f00d',
      nodejs_version: process.version,
    });
    expect(readBuildInfo({}).revision).toBe('unknown');
  });

  it('start the reconcile results that are counted at 0, and no others', async () => {
    const metrics = createMetrics(buildInfo);
    const reconcileLines = (text: string) => text.split('\n').filter((line) => line.startsWith('switchyard_reconcile'));
    expect(reconcileLines(await metrics.registry.metrics()).filter((line) => !line.includes('_duration_'))).toEqual([
      'switchyard_reconcile_total{kind="Merchant",result="success"} 0',
      'switchyard_reconcile_total{kind="Merchant",result="error"} 0',
      'switchyard_reconcile_total{kind="Cart",result="success"} 0',
      'switchyard_reconcile_total{kind="Cart",result="error"} 0',
      'switchyard_reconcile_errors_total{kind="Merchant"} 0',
      'switchyard_reconcile_errors_total{kind="Cart"} 0',
    ]);
    const help = (await metrics.registry.metrics())
      .split('\n')
      .find((line) => line.startsWith('# HELP switchyard_reconcile_total '));
    expect(help).not.toMatch(/requeue|stalled/);
  });
});
