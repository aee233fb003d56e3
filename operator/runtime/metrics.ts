// Prometheus metrics of the operator: ours under one `switchyard_` prefix, Node.js's own (`process_*`, `nodejs_*`)
// under their standard names so that stock Node.js dashboards work.
import { readFileSync } from 'node:fs';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { ownerKinds } from '../api/v1alpha1/services.ts';
import type { BacklogSamples, Sample } from './service-metrics.ts';

/** The reconcile results the controller counts: a pass that returned (requeued or not), and one that threw. */
export const reconcileResults = ['success', 'error'] as const;
export type ReconcileResult = (typeof reconcileResults)[number];

export interface BuildInfo {
  readonly version: string;
  readonly revision: string;
  readonly nodejs_version: string;
}

/**
 * What is running: the version of package.json (beside dist/ in the image, beside operator/ in the repository) and
 * the commit the image was built from, which its build passes in as SWITCHYARD_REVISION.
 */
export function readBuildInfo(env: NodeJS.ProcessEnv = process.env): BuildInfo {
  const packageJson = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version?: string;
  };
  return {
    version: packageJson.version ?? 'unknown',
    revision: env.SWITCHYARD_REVISION || 'unknown',
    nodejs_version: process.version,
  };
}

const serviceLabelNames = ['namespace', 'kind', 'name', 'service'] as const;

/**
 * The backlog and freshness gauges, set at scrape time from `read` (the leader's caches; see service-metrics.ts and
 * docs/monitoring.md). Every gauge of one scrape reads the same samples: they are computed once, by the first gauge,
 * and dropped when that scrape's synchronous pass over the gauges is over.
 */
function createBacklogGauges(registry: Registry, read: () => BacklogSamples | undefined) {
  let current: { samples: BacklogSamples | undefined } | undefined;
  const samplesOfThisScrape = () => {
    if (!current) {
      current = { samples: read() };
      queueMicrotask(() => (current = undefined));
    }
    return current.samples;
  };
  const gauge = <Label extends string>(
    name: string,
    help: string,
    labelNames: readonly Label[],
    pick: (samples: BacklogSamples) => Sample<Record<Label, string>>[],
  ) =>
    new Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        const samples = samplesOfThisScrape();
        for (const { labels, value } of samples ? pick(samples) : []) this.set(labels, value);
      },
    });
  gauge(
    'switchyard_service_pending_records',
    'Records waiting to reach the destination of a delivery service, as its runner last reported (pendingRecords).',
    serviceLabelNames,
    (samples) => samples.pendingRecords,
  );
  gauge(
    'switchyard_service_failed_records',
    'Failed records of a service, as its runner last reported (failedRecords.count).',
    serviceLabelNames,
    (samples) => samples.failedRecords,
  );
  gauge(
    'switchyard_service_last_success_timestamp_seconds',
    'When a run, cleanup or Automatic pass of a service last did its work (lastSuccessTime).',
    serviceLabelNames,
    (samples) => samples.lastSuccessTime,
  );
  gauge(
    'switchyard_service_oldest_pending_timestamp_seconds',
    'When the oldest record still waiting for a delivery service began to wait (oldestPendingTime).',
    serviceLabelNames,
    (samples) => samples.oldestPendingTime,
  );
  gauge(
    'switchyard_service_period_seconds',
    'The period the operator judges a service by (the longest gap of its schedule; 900 for Automatic). Absent for a disabled or suspended service.',
    serviceLabelNames,
    (samples) => samples.periodSeconds,
  );
  gauge(
    'switchyard_owner_created_timestamp_seconds',
    'When a Merchant or Cart was created.',
    ['namespace', 'kind', 'name'] as const,
    (samples) => samples.ownerCreationTime,
  );
  gauge(
    'switchyard_watcher_up',
    "1 when a Merchant's watcher Deployment has an available replica, else 0. Absent when the Merchant has no watcher.",
    ['namespace', 'merchant'] as const,
    (samples) => samples.watcherUp,
  );
}

/** Starts each series that can occur at 0, so that `rate()` and `increase()` see its first increment. */
function withZeroes<Label extends string>(counter: Counter<Label>, series: readonly Record<Label, string>[]) {
  for (const labels of series) counter.inc(labels, 0);
  return counter;
}

export function createMetrics(buildInfo: BuildInfo = readBuildInfo()) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  new Gauge({
    name: 'switchyard_build_info',
    help: 'Always 1; the labels say which version and commit of the operator runs, on which Node.js.',
    labelNames: ['version', 'revision', 'nodejs_version'] as const,
    registers: [registry],
  }).set({ ...buildInfo }, 1);
  /** Set by readBacklogFrom; until then the backlog gauges have no samples. */
  let readBacklog: () => BacklogSamples | undefined = () => undefined;
  createBacklogGauges(registry, () => readBacklog());
  return {
    registry,
    /** Where the backlog gauges read at scrape time; `read` returns undefined while there is nothing to export. */
    readBacklogFrom(read: () => BacklogSamples | undefined) {
      readBacklog = read;
    },
    reconciles: withZeroes(
      new Counter({
        name: 'switchyard_reconcile_total',
        help: 'Reconciles by kind and result: success (the pass ran to its end) or error (it threw, and is retried with backoff).',
        labelNames: ['kind', 'result'] as const,
        registers: [registry],
      }),
      ownerKinds.flatMap((kind) => reconcileResults.map((result) => ({ kind, result }))),
    ),
    reconcileErrors: withZeroes(
      new Counter({
        name: 'switchyard_reconcile_errors_total',
        help: 'Reconciles that failed and were retried with backoff, by kind.',
        labelNames: ['kind'] as const,
        registers: [registry],
      }),
      ownerKinds.map((kind) => ({ kind })),
    ),
    reconcileDuration: new Histogram({
      name: 'switchyard_reconcile_duration_seconds',
      help: 'Time to reconcile one object, by kind.',
      labelNames: ['kind'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    queueDepth: new Gauge({
      name: 'switchyard_workqueue_depth',
      help: 'Objects waiting to be reconciled.',
      registers: [registry],
    }),
    apiWrites: new Counter({
      name: 'switchyard_api_writes_total',
      help: 'Writes to the API server, by verb (apply, delete, create, status).',
      labelNames: ['verb'] as const,
      registers: [registry],
    }),
    statusWrites: new Counter({
      name: 'switchyard_status_writes_total',
      help: 'Status writes by cause: schedule (only run and cleanup times moved) or change (anything else).',
      labelNames: ['cause'] as const,
      registers: [registry],
    }),
    cleanupRuns: new Counter({
      name: 'switchyard_cleanup_runs_started_total',
      help: 'Cleanup Jobs started for Automatic services.',
      registers: [registry],
    }),
    leader: new Gauge({
      name: 'switchyard_leader',
      help: '1 while this replica leads and reconciles.',
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
