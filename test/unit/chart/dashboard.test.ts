// The chart's Grafana dashboard (files/dashboard.json) queries only metrics Switchyard exports: each name its PromQL
// mentions is one the operator's registry (operator/runtime/metrics.ts) serves, Node.js's default metrics under their
// standard names included, or one a watcher's /metrics serves (operator/runner/services/watcher-metrics.ts).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { WatcherMetrics } from '../../../operator/runner/services/watcher-metrics.ts';
import { createMetrics } from '../../../operator/runtime/metrics.ts';
import { chartDir } from '../../../scripts/chart-docs.ts';

interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  gridPos: { h: number; w: number; x: number; y: number };
  targets?: { expr: string; datasource: { uid: string } }[];
}
interface Dashboard {
  uid: string;
  panels: Panel[];
  templating: { list: { name: string; type: string; query: string | { query: string } }[] };
}

const dashboard = JSON.parse(readFileSync(join(chartDir, 'files/dashboard.json'), 'utf8')) as Dashboard;
const queryPanels = dashboard.panels.filter((panel) => panel.type !== 'row');

const promqlKeywords = new Set(['and', 'or', 'unless', 'bool', 'offset', 'by', 'without', 'on', 'ignoring']);

/**
 * The metric names a PromQL expression mentions, crudely: strings, label matchers, ranges and label lists go, and
 * what remains is a name unless a `(` follows it (a function or an aggregation) or it is a keyword.
 */
export function metricNamesOf(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '');
  return [...bare.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*(?!\s*\(|[a-zA-Z0-9_:])/g)]
    .map((match) => match[0])
    .filter((name) => !promqlKeywords.has(name));
}

/** Every series name a registry serves: a histogram's as `_bucket`, `_sum` and `_count`. */
async function seriesNames(registry: Registry): Promise<string[]> {
  return (await registry.getMetricsAsJSON()).flatMap(({ name, type }) =>
    String(type) === 'histogram'
      ? [`${name}_bucket`, `${name}_sum`, `${name}_count`]
      : String(type) === 'summary'
        ? [name, `${name}_sum`, `${name}_count`]
        : [name],
  );
}

/** The series names of a watcher's exposition, a service tracked so that every family has samples. */
function watcherSeriesNames(): string[] {
  const metrics = new WatcherMetrics();
  const service = { kind: 'Merchant', name: 'acme', service: 'orderDelivery' };
  metrics.track(service);
  metrics.setPending(service, 0);
  return metrics
    .render()
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)![0]);
}

describe("the chart's Grafana dashboard", () => {
  const expressions = queryPanels.flatMap((panel) => (panel.targets ?? []).map((target) => target.expr));
  const variableQueries = dashboard.templating.list
    .filter((variable) => variable.type === 'query')
    .map((variable) => (typeof variable.query === 'string' ? variable.query : variable.query.query));

  it('queries only metrics the operator and the watchers export, Node.js process metrics included', async () => {
    const exported = new Set([...(await seriesNames(createMetrics().registry)), ...watcherSeriesNames()]);
    const named = [
      ...expressions.flatMap(metricNamesOf),
      ...variableQueries.map((query) => /^label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(query)?.[1] ?? query),
    ];
    expect(named).toEqual(
      expect.arrayContaining([
        'switchyard_service_pending_records',
        'switchyard_leader',
        'process_cpu_seconds_total',
        'switchyard_watcher_write_duration_seconds_bucket',
      ]),
    );
    expect([...new Set(named)].filter((name) => !exported.has(name))).toEqual([]);
  });

  it('reads every panel from the data source variable, with unique ids and a place on the grid', () => {
    expect(dashboard.uid).toBe('switchyard');
    expect(dashboard.templating.list.map((variable) => variable.name)).toEqual(['datasource', 'job', 'namespace']);
    for (const panel of queryPanels) {
      expect(panel.datasource?.uid, panel.title).toBe('${datasource}');
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
      for (const target of panel.targets ?? []) expect(target.datasource.uid).toBe('${datasource}');
      expect(panel.gridPos.x + panel.gridPos.w, panel.title).toBeLessThanOrEqual(24);
    }
    const ids = dashboard.panels.map((panel) => panel.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('reads names out of PromQL as the checks above need', () => {
    expect(
      metricNamesOf(
        'histogram_quantile(0.99, sum by (le, kind) (rate(switchyard_reconcile_duration_seconds_bucket{job=~"$job"}[$__rate_interval])))',
      ),
    ).toEqual(['switchyard_reconcile_duration_seconds_bucket']);
    expect(
      metricNamesOf(
        'count(max by (namespace, merchant) (switchyard_watcher_up{namespace=~"a|b"}) == 0) or vector(0) unless on (x) up',
      ),
    ).toEqual(['switchyard_watcher_up', 'up']);
  });
});
