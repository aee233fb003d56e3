// The runner's part of its owner's status: `status.services[name]` with failedRecords, lastResult and lastSuccessTime,
// computed from what the store says is failed and what the last run or pass did, and for a delivery service its
// backlog (pendingRecords, pendingSince, oldestPendingTime, lastDeliveryTime). Pure: no API calls here.
import type { ServiceName } from '../../api/v1alpha1/services.ts';
import type { OwnerRef } from '../config.ts';
import type { Backlog } from '../store/backlog.ts';
import type { FailureSummary } from '../store/failures.ts';

export const maxSampleSize = 10;
export const maxReasonLength = 256;

export type Outcome = 'Succeeded' | 'PartiallyFailed' | 'Failed';

export interface FailedRecordsStatus {
  readonly count: number;
  readonly sample: readonly { readonly id: string; readonly reason: string; readonly time: string }[];
}

export interface LastResultStatus {
  readonly time: string;
  readonly outcome: Outcome;
  readonly processed: number;
  readonly failed: number;
  readonly message?: string;
}

/** One entry of status.services, holding only the fields the runner owns. */
export interface ServiceStatusReport {
  readonly name: ServiceName;
  /** Absent when the hub store could not be read: then the count is unknown, not zero. */
  readonly failedRecords?: FailedRecordsStatus;
  readonly lastResult: LastResultStatus;
  /** Delivery services, when the store could be read: records waiting (see store/backlog.ts). */
  readonly pendingRecords?: number;
  /** Since when records have waited with none delivered. */
  readonly pendingSince?: string;
  /** When the oldest waiting record began to wait. */
  readonly oldestPendingTime?: string;
  /** When a record last reached the destination. */
  readonly lastDeliveryTime?: string;
  /**
   * When the service last did its work: this report's time when it did (Succeeded or PartiallyFailed). A report
   * without it leaves the last one standing: the Kubernetes reporter carries it forward (kubernetes-reporter.ts).
   */
  readonly lastSuccessTime?: string;
}

export interface RunSummary {
  readonly finishedAt: Date;
  readonly processed: number;
  readonly failed: number;
  /** False when the run itself could not do its work (store or source unreachable, contract broken). */
  readonly completed: boolean;
  /** Why it could not, in one sentence. */
  readonly message?: string;
  /** A Disabled service's count (the watcher only counts its backlog): no work was tried, so it is no success. */
  readonly countOnly?: boolean;
}

export function outcomeOf(run: RunSummary): Outcome {
  if (!run.completed) return 'Failed';
  if (run.failed === 0) return 'Succeeded';
  return run.failed < run.processed ? 'PartiallyFailed' : 'Failed';
}

/** Cuts by characters (not UTF-16 units), as the API server counts maxLength. */
export function truncateReason(reason: string, max = maxReasonLength): string {
  const characters = Array.from(reason);
  return characters.length <= max ? reason : `${characters.slice(0, max - 1).join('')}…`;
}

/** The backlog's fields of a report; none when it is unknown (a pull service, or the store could not be read). */
function backlogFields(backlog: Backlog | undefined) {
  if (!backlog) return {};
  return {
    pendingRecords: backlog.pending,
    ...(backlog.pendingSince && { pendingSince: backlog.pendingSince.toISOString() }),
    ...(backlog.oldestPending && { oldestPendingTime: backlog.oldestPending.toISOString() }),
    ...(backlog.lastDelivery && { lastDeliveryTime: backlog.lastDelivery.toISOString() }),
  };
}

export function buildServiceReport(
  service: ServiceName,
  failures: FailureSummary | undefined,
  run: RunSummary,
  backlog?: Backlog,
): ServiceStatusReport {
  const lastResult: LastResultStatus = {
    time: run.finishedAt.toISOString(),
    outcome: outcomeOf(run),
    processed: run.processed,
    failed: run.failed,
    ...(run.message !== undefined && { message: truncateReason(run.message) }),
  };
  const succeeded = !run.countOnly && lastResult.outcome !== 'Failed';
  return {
    name: service,
    ...(failures && {
      failedRecords: {
        count: failures.count,
        sample: failures.sample.slice(0, maxSampleSize).map((failure) => ({
          id: failure.id,
          reason: truncateReason(failure.reason),
          time: failure.time.toISOString(),
        })),
      },
    }),
    lastResult,
    ...backlogFields(backlog),
    ...(succeeded && { lastSuccessTime: lastResult.time }),
  };
}

/** The server-side apply body: only the runner's fields, so the apply claims nothing else. */
export function statusApplyBody(owner: OwnerRef, apiVersion: string, report: ServiceStatusReport) {
  return {
    apiVersion,
    kind: owner.kind,
    metadata: { name: owner.name, namespace: owner.namespace },
    status: { services: [report] },
  };
}

function withoutTimes(report: ServiceStatusReport) {
  return {
    ...report,
    lastResult: { ...report.lastResult, time: '' },
    ...(report.pendingSince !== undefined && { pendingSince: '' }),
    ...(report.oldestPendingTime !== undefined && { oldestPendingTime: '' }),
    ...(report.lastDeliveryTime !== undefined && { lastDeliveryTime: '' }),
    ...(report.lastSuccessTime !== undefined && { lastSuccessTime: '' }),
    ...(report.failedRecords && {
      failedRecords: {
        ...report.failedRecords,
        sample: report.failedRecords.sample.map((failure) => ({ ...failure, time: '' })),
      },
    }),
  };
}

/** True when two reports differ in nothing but timestamps (a time appearing or going is a difference). */
export function differsOnlyInTimes(a: ServiceStatusReport, b: ServiceStatusReport): boolean {
  return JSON.stringify(withoutTimes(a)) === JSON.stringify(withoutTimes(b));
}

/**
 * While records wait, a written time this far from the service's current one is written again. The operator judges a
 * service stalled after three of its periods without a delivery (45 minutes for an Automatic one); a status that shows
 * a service that still delivers, with the same count waiting, as having delivered nothing for longer than this could
 * come to look stalled. Rewriting it at most this often keeps it right at the cost of one write per 5 minutes, and
 * only while a backlog lasts.
 */
export const deliveryTimeRefreshMs = 5 * 60_000;

/**
 * The times that, while records wait, are kept within deliveryTimeRefreshMs of the truth.
 * - lastDeliveryTime and lastSuccessTime: a service that still works must not look stalled.
 * - oldestPendingTime: readers take its age as how far behind the destination is. It moves forward each time the
 *   oldest record is delivered, which under a steady flow through a backlog is every pass: writing each move would
 *   cost a status write per delivered record, which is what coalescing avoids. Bounding it instead overstates the age
 *   by at most 5 minutes, small beside the periods a backlog is judged by; a backlog that appears or clears, or a
 *   count that changes, is written at once anyway.
 */
const refreshedTimes = ['lastDeliveryTime', 'lastSuccessTime', 'oldestPendingTime'] as const;

/**
 * Whether Automatic mode writes `next` after having written `written`: when anything but timestamps differs (a count,
 * an outcome, a reason, a time appearing or going), or when records wait and a written freshness time is
 * deliveryTimeRefreshMs from the new one (refreshedTimes). Timestamps alone cause no write otherwise: status stays calm
 * while a watcher delivers.
 */
export function needsWrite(next: ServiceStatusReport, written: ServiceStatusReport | undefined): boolean {
  if (!written || !differsOnlyInTimes(next, written)) return true;
  if (!next.pendingRecords) return false;
  return refreshedTimes.some((field) => {
    const [now, then] = [next[field], written[field]];
    return (
      now !== undefined && then !== undefined && Math.abs(Date.parse(now) - Date.parse(then)) >= deliveryTimeRefreshMs
    );
  });
}
