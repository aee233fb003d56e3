// Annotations a user (or Argo CD's resource actions) sets on a Merchant or Cart to ask for work now, as Flux's
// reconcile.fluxcd.io/requestedAt does: any new value is a new request, handled once; status records the last value
// handled (status.lastHandledRunRequest, status.lastHandledRetryRequest).

/** Run now: each interval service runs a Job from its CronJob's template; each Automatic service retries everything. */
export const runRequestedAtAnnotation = 'switchyard.dev/run-requested-at';
/** Optional, with a run or retry request: the services to run, comma-separated (default: every enabled service). */
export const runServicesAnnotation = 'switchyard.dev/run-services';
/** Retry now: every failed record of the services is retried at once (a cleanup run), and nothing else is run. */
export const retryRequestedAtAnnotation = 'switchyard.dev/retry-requested-at';

/** Every annotation of a request: a change of any of them is a reason to reconcile the object. */
export const requestAnnotationNames = [runRequestedAtAnnotation, retryRequestedAtAnnotation, runServicesAnnotation];
