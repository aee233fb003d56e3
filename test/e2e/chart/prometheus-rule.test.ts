// The chart's PrometheusRule, evaluated by Prometheus itself: the rule groups as the chart renders them, input series
// as the operator's /metrics would give them (with the target labels a scrape adds), and `promtool test rules`
// (github.com/prometheus/prometheus's cmd/promtool, built by test/cluster/build-promtool.sh at the version pinned in
// test/cluster/versions.env). Each alert fires when it should, with its labels and annotations, and stays quiet when
// it should not; a rule changed to never fire, or stripped of what keeps it quiet, fails the cases.
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type * as k8s from '@kubernetes/client-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { repoRoot } from '../../cluster/local-cluster.ts';
import { findObject, renderChart } from './helm.ts';

const run = promisify(execFile);

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleGroup {
  name: string;
  rules: Rule[];
}

interface ExpectedAlert {
  exp_labels: Record<string, string>;
  exp_annotations: Record<string, string>;
}
/** One `tests` entry of a promtool unit-test file. */
interface PromtoolCase {
  name: string;
  input_series: { series: string; values: string }[];
  alert_rule_test: { eval_time: string; alertname: string; exp_alerts: ExpectedAlert[] }[];
}

const runbookUrl = 'https://runbooks.example.com/switchyard';
let promtool: string;
let groups: RuleGroup[];

/** Builds promtool if it is not cached yet (cold: about 7 minutes on 2 cores); returns its path. */
async function ensurePromtool(): Promise<string> {
  const { stdout } = await run('bash', [join(repoRoot, 'test/cluster/build-promtool.sh')], {
    timeout: 1_800_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout.trim().split('\n').at(-1)!;
}

/** `promtool test rules` of `cases` against `ruleGroups`; resolves with its exit code and output. */
async function promtoolTest(ruleGroups: RuleGroup[], cases: PromtoolCase[]) {
  const folder = mkdtempSync(join(tmpdir(), 'switchyard-promtool-'));
  writeFileSync(join(folder, 'rules.yaml'), stringify({ groups: ruleGroups }));
  writeFileSync(
    join(folder, 'tests.yaml'),
    stringify({
      rule_files: ['rules.yaml'],
      evaluation_interval: '1m',
      tests: cases.map((c) => ({ interval: '1m', ...c })),
    }),
  );
  return run(promtool, ['test', 'rules', join(folder, 'tests.yaml')]).then(
    ({ stdout, stderr }) => ({ code: 0, output: stdout + stderr }),
    (error: { code?: number; stdout?: string; stderr?: string }) => ({
      code: error.code ?? -1,
      output: `${error.stdout ?? ''}${error.stderr ?? ''}`,
    }),
  );
}

// What a scrape of the leading replica adds to every series; another replica that leads later adds its own.
const replicaA = { job: 'switchyard-metrics', instance: '10.0.0.11:8080', pod: 'switchyard-6d9f-a' };
const replicaB = { job: 'switchyard-metrics', instance: '10.0.0.12:8080', pod: 'switchyard-6d9f-b' };

function series(name: string, labels: Record<string, string>, values: string, replica = replicaA) {
  const text = Object.entries({ ...labels, ...replica })
    .map(([key, value]) => `${key}="${value}"`)
    .join(',');
  return { series: `${name}{${text}}`, values };
}

const acme = { namespace: 'shops', kind: 'Merchant', name: 'acme' };
const orderDelivery = { ...acme, service: 'orderDelivery' };
const inventory = { ...acme, service: 'inventory' };
const acmeShopify = { namespace: 'shops', kind: 'Cart', name: 'acme-shopify' };
const shopifyUpload = { ...acmeShopify, service: 'shipmentUpload' };

const whatToDo = `What to do: docs/monitoring.md, and "When something goes wrong" in Switchyard's README.`;
type ServiceLabels = typeof orderDelivery;

/** The annotations the chart's alerts should carry, written out here as the alert's reader sees them. */
function staleAlert(labels: ServiceLabels, age: string): ExpectedAlert {
  const what = `${labels.service} of ${labels.kind} ${labels.namespace}/${labels.name}`;
  return {
    exp_labels: { ...labels, severity: 'critical' },
    exp_annotations: {
      summary: `${what} has not succeeded for three of its periods`,
      description:
        `${what} last succeeded ${age} ago (or was created that long ago and never has), more than three of its ` +
        `periods, and its runner does not report that no records wait. Its status says why: kubectl get ` +
        `${labels.kind.toLowerCase()} ${labels.name} -n ${labels.namespace} -o yaml (conditions, ` +
        `status.services[].lastResult). ${whatToDo}`,
      runbook_url: runbookUrl,
    },
  };
}

function risingAlert(labels: ServiceLabels, failed: number): ExpectedAlert {
  const what = `${labels.service} of ${labels.kind} ${labels.namespace}/${labels.name}`;
  return {
    exp_labels: { ...labels, severity: 'warning' },
    exp_annotations: {
      summary: `Failed records of ${what} are rising`,
      description:
        `${what} has ${failed} failed records, and their number has grown in each of the last two half hours. ` +
        `The destination's reasons: kubectl get ${labels.kind.toLowerCase()} ${labels.name} -n ${labels.namespace} ` +
        `-o jsonpath='{.status.services[?(@.name=="${labels.service}")].failedRecords}'. ${whatToDo}`,
      runbook_url: runbookUrl,
    },
  };
}

function watcherAlert(namespace: string, merchant: string): ExpectedAlert {
  return {
    exp_labels: { namespace, merchant, severity: 'critical' },
    exp_annotations: {
      summary: `The watcher of Merchant ${namespace}/${merchant} is down`,
      description:
        `The watcher of Merchant ${namespace}/${merchant} has had no available replica for 10 minutes: the ` +
        `Automatic services of the Merchant and its Carts are not running. Its pods say why: kubectl describe pods ` +
        `-n ${namespace} -l app.kubernetes.io/component=watcher,switchyard.dev/owner=${merchant}. ${whatToDo}`,
      runbook_url: runbookUrl,
    },
  };
}

const check = (alertname: string, evalTime: string, alerts: ExpectedAlert[] = []) => ({
  eval_time: evalTime,
  alertname,
  exp_alerts: alerts,
});

// Times are seconds from the start of each case (time() is 0 there). Values: promtool's expanding notation, one
// sample a minute (`900x90` is 91 samples of 900; `0+1x90` counts up by one; `_` is no sample).
const created = series('switchyard_owner_created_timestamp_seconds', acme, '0x300');

const staleCases: PromtoolCase[] = [
  {
    name: 'Stale: an Automatic delivery service with records waiting and no success for three periods of 15 minutes',
    input_series: [
      created,
      series('switchyard_service_period_seconds', orderDelivery, '900x90'),
      series('switchyard_service_last_success_timestamp_seconds', orderDelivery, '0x90'),
      series('switchyard_service_pending_records', orderDelivery, '5x90'),
    ],
    alert_rule_test: [
      // 45 minutes are three periods; the alert waits 10 minutes more.
      check('SwitchyardServiceStale', '44m'),
      check('SwitchyardServiceStale', '55m'),
      check('SwitchyardServiceStale', '60m', [staleAlert(orderDelivery, '1h 0m 0s')]),
    ],
  },
  {
    name: 'Stale: a pull service (no pending count) that never succeeded alerts from its object’s creation',
    input_series: [created, series('switchyard_service_period_seconds', inventory, '3600x300')],
    alert_rule_test: [
      check('SwitchyardServiceStale', '3h'),
      check('SwitchyardServiceStale', '3h15m', [staleAlert(inventory, '3h 15m 0s')]),
    ],
  },
  {
    name: 'Stale: quiet while the runner reports that nothing waits, however old the last success',
    input_series: [
      created,
      series('switchyard_service_period_seconds', orderDelivery, '900x90'),
      series('switchyard_service_last_success_timestamp_seconds', orderDelivery, '0x90'),
      series('switchyard_service_pending_records', orderDelivery, '0x90'),
    ],
    alert_rule_test: [check('SwitchyardServiceStale', '90m')],
  },
  {
    name: 'Stale: quiet while the service keeps succeeding, records waiting or not',
    input_series: [
      created,
      series('switchyard_service_period_seconds', orderDelivery, '900x90'),
      // A success every 15 minutes: 0, 900, 1800, …
      series(
        'switchyard_service_last_success_timestamp_seconds',
        orderDelivery,
        Array.from({ length: 91 }, (_, minute) => Math.floor(minute / 15) * 900).join(' '),
      ),
      series('switchyard_service_pending_records', orderDelivery, '12x90'),
    ],
    alert_rule_test: [check('SwitchyardServiceStale', '60m'), check('SwitchyardServiceStale', '90m')],
  },
  {
    name: 'Stale: quiet for a disabled or suspended service, which has no period',
    input_series: [
      created,
      series('switchyard_service_last_success_timestamp_seconds', orderDelivery, '0x90'),
      series('switchyard_service_pending_records', orderDelivery, '40x90'),
    ],
    alert_rule_test: [check('SwitchyardServiceStale', '90m')],
  },
  {
    name: 'Stale: one alert, on time, when another replica takes over leading (and both export for a while)',
    input_series: [
      series('switchyard_owner_created_timestamp_seconds', acmeShopify, '0x30 _x60'),
      series('switchyard_service_period_seconds', shopifyUpload, '900x30 _x60'),
      series('switchyard_service_pending_records', shopifyUpload, '3x30 _x60'),
      series('switchyard_owner_created_timestamp_seconds', acmeShopify, '_x25 0x65', replicaB),
      series('switchyard_service_period_seconds', shopifyUpload, '_x25 900x65', replicaB),
      series('switchyard_service_pending_records', shopifyUpload, '_x25 3x65', replicaB),
    ],
    alert_rule_test: [
      check('SwitchyardServiceStale', '55m'),
      check('SwitchyardServiceStale', '60m', [staleAlert(shopifyUpload, '1h 0m 0s')]),
    ],
  },
];

const risingCases: PromtoolCase[] = [
  {
    name: 'FailedRecordsRising: a count that grows all the time',
    input_series: [series('switchyard_service_failed_records', orderDelivery, '0+1x120')],
    alert_rule_test: [
      // Grown in each of the last two half hours from 60m on; the alert waits 15 minutes more.
      check('SwitchyardFailedRecordsRising', '70m'),
      check('SwitchyardFailedRecordsRising', '80m', [risingAlert(orderDelivery, 80)]),
    ],
  },
  {
    name: 'FailedRecordsRising: quiet after a one-off batch of refused records',
    // Higher than half an hour before from 41m to 70m, but not grown in the half hour before that.
    input_series: [series('switchyard_service_failed_records', orderDelivery, '0x40 50x80')],
    alert_rule_test: [check('SwitchyardFailedRecordsRising', '60m'), check('SwitchyardFailedRecordsRising', '90m')],
  },
  {
    name: 'FailedRecordsRising: quiet once a cleanup brings the count down',
    input_series: [series('switchyard_service_failed_records', orderDelivery, '0+1x60 0x60')],
    // Rising from 60m; down at 61m, before the 15 minutes were over.
    alert_rule_test: [check('SwitchyardFailedRecordsRising', '75m'), check('SwitchyardFailedRecordsRising', '90m')],
  },
];

const watcherCases: PromtoolCase[] = [
  {
    name: 'WatcherDown: a watcher with no available replica for 10 minutes',
    input_series: [series('switchyard_watcher_up', { namespace: 'shops', merchant: 'acme' }, '0x30')],
    alert_rule_test: [
      check('SwitchyardWatcherDown', '9m'),
      check('SwitchyardWatcherDown', '11m', [watcherAlert('shops', 'acme')]),
    ],
  },
  {
    name: 'WatcherDown: quiet through a restart of a few minutes',
    input_series: [series('switchyard_watcher_up', { namespace: 'shops', merchant: 'acme' }, '1x5 0x4 1x20')],
    alert_rule_test: [check('SwitchyardWatcherDown', '8m'), check('SwitchyardWatcherDown', '20m')],
  },
  {
    name: 'WatcherDown: one alert when two replicas export the same watcher',
    input_series: [
      series('switchyard_watcher_up', { namespace: 'shops', merchant: 'acme' }, '0x30'),
      series('switchyard_watcher_up', { namespace: 'shops', merchant: 'acme' }, '0x30', replicaB),
      series('switchyard_watcher_up', { namespace: 'shops', merchant: 'globex' }, '1x30'),
    ],
    alert_rule_test: [check('SwitchyardWatcherDown', '15m', [watcherAlert('shops', 'acme')])],
  },
];

const allCases = [...staleCases, ...risingCases, ...watcherCases];

beforeAll(async () => {
  promtool = await ensurePromtool();
  const objects = await renderChart('rules', 'monitoring', [
    '--set',
    'prometheusRule.enabled=true',
    '--set',
    `prometheusRule.runbookUrl=${runbookUrl}`,
  ]);
  const rule = findObject<k8s.KubernetesObject & { spec: { groups: RuleGroup[] } }>(objects, 'PrometheusRule');
  groups = rule.spec.groups;
}, 1_800_000);

describe('the PrometheusRule of the chart', () => {
  it('is off by default, and goes where prometheusRule.namespace says with prometheusRule.labels', async () => {
    const plain = await renderChart('rules', 'monitoring');
    expect(plain.filter((object) => object.kind === 'PrometheusRule')).toEqual([]);
    const objects = await renderChart('rules', 'monitoring', [
      '--set',
      'prometheusRule.enabled=true',
      '--set',
      'prometheusRule.namespace=prometheus',
      '--set',
      'prometheusRule.labels.release=kube-prometheus',
    ]);
    const rule = findObject<k8s.KubernetesObject & { spec: { groups: RuleGroup[] } }>(objects, 'PrometheusRule');
    expect(rule.apiVersion).toBe('monitoring.coreos.com/v1');
    expect(rule.metadata?.namespace).toBe('prometheus');
    expect(rule.metadata?.labels?.release).toBe('kube-prometheus');
    // No runbook URL unless one is given.
    expect(rule.spec.groups.flatMap((group) => group.rules).filter((r) => r.annotations?.runbook_url)).toEqual([]);
  });
});

describe('the PrometheusRule, evaluated by promtool', () => {
  it('holds the three alerts, each with a severity', () => {
    expect(groups.flatMap((group) => group.rules.map((rule) => [rule.alert, rule.labels?.severity]))).toEqual([
      ['SwitchyardServiceStale', 'critical'],
      ['SwitchyardFailedRecordsRising', 'warning'],
      ['SwitchyardWatcherDown', 'critical'],
    ]);
  });

  it.each(allCases.map((testCase) => [testCase.name, testCase] as const))('%s', async (_name, testCase) => {
    const result = await promtoolTest(groups, [testCase]);
    expect(result.output).toContain('SUCCESS');
    expect(result.code).toBe(0);
  });
});

describe('the cases catch a broken rule', () => {
  /** The rules with one alert's expression changed. */
  const withExpr = (alert: string, change: (expr: string) => string) =>
    groups.map((group) => ({
      ...group,
      rules: group.rules.map((rule) => (rule.alert === alert ? { ...rule, expr: change(rule.expr) } : rule)),
    }));

  it.each([
    ['SwitchyardServiceStale never fires', 'SwitchyardServiceStale', () => 'vector(1) < 0'],
    ['SwitchyardFailedRecordsRising never fires', 'SwitchyardFailedRecordsRising', () => 'vector(1) < 0'],
    ['SwitchyardWatcherDown never fires', 'SwitchyardWatcherDown', () => 'vector(1) < 0'],
    [
      'SwitchyardServiceStale ignores a pending count of 0',
      'SwitchyardServiceStale',
      (expr: string) => expr.slice(0, expr.indexOf('unless')),
    ],
    [
      'SwitchyardFailedRecordsRising takes one rise for rising',
      'SwitchyardFailedRecordsRising',
      (expr: string) => expr.slice(0, expr.indexOf('\nand')),
    ],
    ['SwitchyardWatcherDown alerts per replica', 'SwitchyardWatcherDown', () => 'switchyard_watcher_up == 0'],
  ])('%s', async (_name, alert, change) => {
    const broken = withExpr(alert, change);
    expect(broken).not.toEqual(groups);
    const result = await promtoolTest(broken, allCases);
    expect(result.output).toContain('FAILED');
    expect(result.code).not.toBe(0);
  });
});
