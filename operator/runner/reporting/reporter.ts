// Where reports go. The real reporter writes the owner's status; tests use a recording fake.
import type { OwnerRef } from '../config.ts';
import type { ServiceStatusReport } from './status-report.ts';

export interface StatusReporter {
  report(owner: OwnerRef, report: ServiceStatusReport): Promise<void>;
}
