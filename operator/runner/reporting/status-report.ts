// The runner's part of its owner's status: `status.services[name]` with failedRecords and lastResult, computed
// from what the store says is failed and what the last run or pass did. Pure: no API calls here.
import type { ServiceName } from '../../api/v1alpha1/services.ts';
import type { OwnerRef } from '../config.ts';
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

export function buildServiceReport(
  service: ServiceName,
  failures: FailureSummary | undefined,
  run: RunSummary,
): ServiceStatusReport {
  const lastResult: LastResultStatus = {
    time: run.finishedAt.toISOString(),
    outcome: outcomeOf(run),
    processed: run.processed,
    failed: run.failed,
    ...(run.message !== undefined && { message: truncateReason(run.message) }),
  };
  if (!failures) return { name: service, lastResult };
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
    ...(report.failedRecords && {
      failedRecords: {
        ...report.failedRecords,
        sample: report.failedRecords.sample.map((failure) => ({ ...failure, time: '' })),
      },
    }),
  };
}

/** True when two reports differ in nothing but timestamps: Automatic mode then skips the write. */
export function differsOnlyInTimes(a: ServiceStatusReport, b: ServiceStatusReport): boolean {
  return JSON.stringify(withoutTimes(a)) === JSON.stringify(withoutTimes(b));
}
