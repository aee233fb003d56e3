// Prometheus metrics of the operator.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'switchyard_operator_' });
  return {
    registry,
    reconciles: new Counter({
      name: 'switchyard_reconcile_total',
      help: 'Reconciles by kind and result (success, requeue, stalled, error).',
      labelNames: ['kind', 'result'] as const,
      registers: [registry],
    }),
    reconcileErrors: new Counter({
      name: 'switchyard_reconcile_errors_total',
      help: 'Reconciles that failed and were retried with backoff, by kind.',
      labelNames: ['kind'] as const,
      registers: [registry],
    }),
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
