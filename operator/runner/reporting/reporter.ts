// Where reports go. The real reporter writes the owner's status; tests use a recording fake.
import type { ServiceName } from '../../api/v1alpha1/services.ts';
import type { OwnerRef } from '../config.ts';
import type { ServiceStatusReport } from './status-report.ts';

export interface StatusReporter {
  report(owner: OwnerRef, report: ServiceStatusReport): Promise<void>;
  /** A run or cleanup that could not do its work as a whole (not a record refused): a Warning Event on its owner. */
  runFailed(owner: OwnerRef, failure: RunFailure): Promise<void>;
}

export interface RunFailure {
  readonly service: ServiceName;
  readonly mode: 'run' | 'cleanup';
  /** Why, in one sentence. */
  readonly message: string;
}
