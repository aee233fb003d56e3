// The controller in-process with its clock moved ahead, for what is due at a time of day: waiting for a random cleanup
// slot is no test, so the operator "comes back" just after one, as after an outage.
import { pino } from 'pino';
import type { ServiceName } from '../../../operator/api/v1alpha1/services.ts';
import type { Owner } from '../../../operator/api/v1alpha1/types.ts';
import { scheduleSeed } from '../../../operator/reconcile/plan.ts';
import { createClusterWriter, createEventRecorder } from '../../../operator/runtime/cluster-writer.ts';
import { Controller } from '../../../operator/runtime/controller.ts';
import { createMetrics, type Metrics } from '../../../operator/runtime/metrics.ts';
import { cleanupTimesForDay } from '../../../operator/schedule/index.ts';
import { runnerSettingsFixture } from '../../support/fixtures.ts';
import { testKubeConfig } from './cluster.ts';

/**
 * Tomorrow's morning cleanup slot of a service of `owner` (in UTC), and the clock offset that makes "now" 20 minutes
 * past it. Tomorrow's: a slot that passed before the object existed is, rightly, not a missed cleanup.
 */
export function justPastMorningCleanup(owner: Owner, service: ServiceName): { morning: Date; offsetMs: number } {
  const tomorrow = new Date(Date.now() + 24 * 3600_000).toISOString().slice(0, 10);
  const [morning] = cleanupTimesForDay(scheduleSeed(owner, service), tomorrow, 'UTC');
  return { morning, offsetMs: morning.getTime() + 20 * 60_000 - Date.now() };
}

/** Starts the controller for `namespace` with its clock `offsetMs` ahead; stop it when done. */
export async function startControllerAhead(
  namespace: string,
  offsetMs: number,
): Promise<{ controller: Controller; metrics: Metrics }> {
  const kubeConfig = testKubeConfig();
  const metrics = createMetrics();
  const controller = new Controller({
    kubeConfig,
    namespaces: [namespace],
    concurrency: 2,
    resyncSeconds: 600,
    settings: runnerSettingsFixture,
    writer: createClusterWriter(kubeConfig, metrics),
    events: createEventRecorder(kubeConfig, () => undefined),
    metrics,
    log: pino({ level: 'silent' }),
    now: () => new Date(Date.now() + offsetMs),
  });
  await controller.start();
  return { controller, metrics };
}
