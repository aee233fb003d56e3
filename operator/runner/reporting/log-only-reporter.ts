// Outside a pod (no KUBERNETES_SERVICE_HOST or no ServiceAccount token) there is no status to write: it goes to the log.
import type { Logger } from 'pino';
import type { StatusReporter } from './reporter.ts';

export function createLogOnlyReporter(log: Logger): StatusReporter {
  return {
    report(owner, report) {
      log.info(
        {
          owner: `${owner.kind}/${owner.namespace}/${owner.name}`,
          failedRecords: report.failedRecords?.count,
          lastResult: report.lastResult,
        },
        'status report (no Kubernetes API configured)',
      );
      return Promise.resolve();
    },
    runFailed(owner, failure) {
      log.warn(
        { owner: `${owner.kind}/${owner.namespace}/${owner.name}`, ...failure },
        'run failed (no Kubernetes API configured for its Event)',
      );
      return Promise.resolve();
    },
  };
}
