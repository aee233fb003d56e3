// The runner's part of its owner's status: `status.services[name]` with failedRecords and lastResult, computed
// from what the store says is failed and what the last run or pass did, and for a delivery service its backlog
// (pendingRecords, pendingSince, lastDeliveryTime). Pure: no API calls here.
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
  /** When a record last reached the destination. */
  readonly lastDeliveryTime?: string;
}

export interface RunSummary {
  readonly finishedAt: Date;
  readonly processed: number;
  readonly failed: number;
  /** False when the run itself could not do its work (store or source unreachable, contract broken). */
  readonly completed: boolean;
  /** Why it could not, in one sentence. */
  readonly message?: string;
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
  if (!failures) return { name: service, lastResult, ...backlogFields(backlog) };
  return {
    name: service,
    failedRecords: {
      count: failures.count,
      sample: failures.sample.slice(0, maxSampleSize).map((failure) => ({
        id: failure.id,
        reason: truncateReason(failure.reason),
        time: failure.time.toISOString(),
      })),
    },
    lastResult,
    ...backlogFields(backlog),
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
    ...(report.lastDeliveryTime !== undefined && { lastDeliveryTime: '' }),
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
 * While records wait, a written lastDeliveryTime this far behind the service's is written again. The operator judges a
 * service stalled after three of its periods without a delivery (45 minutes for an Automatic one); a status that shows
 * a service that still delivers, with the same count waiting, as having delivered nothing for longer than this could
 * come to look stalled. Rewriting it at most this often keeps it right at the cost of one write per 5 minutes, and
 * only while a backlog lasts.
 */
export const deliveryTimeRefreshMs = 5 * 60_000;

/**
 * Whether Automatic mode writes `next` after having written `written`: when anything but timestamps differs (a count,
 * an outcome, a reason), or when records wait and the written lastDeliveryTime lags the new one by
 * deliveryTimeRefreshMs. Timestamps alone cause no write otherwise: status stays calm while a watcher delivers.
 */
export function needsWrite(next: ServiceStatusReport, written: ServiceStatusReport | undefined): boolean {
  if (!written || !differsOnlyInTimes(next, written)) return true;
  if (!next.pendingRecords || next.lastDeliveryTime === undefined || written.lastDeliveryTime === undefined) {
    return false;
  }
  return Date.parse(next.lastDeliveryTime) - Date.parse(written.lastDeliveryTime) >= deliveryTimeRefreshMs;
}
