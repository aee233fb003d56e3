// A StatusReporter that keeps what it is given, for assertions on what would reach the owner's status.
import type { OwnerRef } from '../../operator/runner/config.ts';
import type { RunFailure, StatusReporter } from '../../operator/runner/reporting/reporter.ts';
import type { ServiceStatusReport } from '../../operator/runner/reporting/status-report.ts';

export class RecordingReporter implements StatusReporter {
  readonly reports: { owner: OwnerRef; report: ServiceStatusReport }[] = [];
  readonly failures: { owner: OwnerRef; failure: RunFailure }[] = [];

  report(owner: OwnerRef, report: ServiceStatusReport): Promise<void> {
    this.reports.push({ owner, report });
    return Promise.resolve();
  }

  runFailed(owner: OwnerRef, failure: RunFailure): Promise<void> {
    this.failures.push({ owner, failure });
    return Promise.resolve();
  }

  get last(): ServiceStatusReport | undefined {
    return this.reports.at(-1)?.report;
  }
}
