// The vocabulary of health, declared once (as Flux's condition_types.go does): the condition types Merchants and
// Carts carry and every reason their conditions may give. The status code, the Argo CD health script's tests and the
// README's table of reasons all use these.

/** Condition types, as kstatus reads them. */
export const conditionTypes = {
  /** Always present: True when every service runs as declared (or is suspended as declared). */
  ready: 'Ready',
  /** Present only while True: the operator is still working towards Ready, and will get there by itself. */
  reconciling: 'Reconciling',
  /** Present only while True: the operator cannot go on until someone changes something. */
  stalled: 'Stalled',
} as const;
export type ConditionType = (typeof conditionTypes)[keyof typeof conditionTypes];

/** Every reason a condition may give, with what it means. */
export const conditionReasons = {
  /** Ready: every workload exists as declared and the watcher serves the Automatic services. */
  reconciled: 'Reconciled',
  /** Ready: spec.suspend is set; CronJobs are suspended and the Automatic services are off the watcher. */
  suspended: 'Suspended',
  /** Stalled: the spec breaks a rule admission could not check (a cron gap, an unknown time zone). */
  invalidSpec: 'InvalidSpec',
  /** Reconciling: the Cart's Merchant does not exist (yet). */
  merchantNotFound: 'MerchantNotFound',
  /** Reconciling: the merchant's watcher is rolling out, and does not serve this object's Automatic services yet. */
  workloadsProgressing: 'WorkloadsProgressing',
  /**
   * Reconciling: writing a workload failed; retried with the work queue's exponential backoff (up to 5 minutes). The
   * message names the object and gives the API server's code, reason and message.
   */
  applyFailed: 'ApplyFailed',
  /**
   * Stalled: an object the operator would create (the runner ServiceAccount, Role or RoleBinding, the watcher
   * Deployment, a CronJob) already exists and is not the operator's; the message names it and its owner or field
   * managers. The operator changes nothing on it and looks again every few minutes (its deletion is not watched).
   */
  nameConflict: 'NameConflict',
  /**
   * Stalled: the merchant's watcher Deployment has not become available for 5 minutes (or gave up progressing); the
   * message names the Deployment and says why, in the pod's words where it has any (a missing Secret, an image that
   * cannot be pulled, a crash). Cleared by itself when the watcher becomes available.
   */
  watcherUnavailable: 'WatcherUnavailable',
  /**
   * Stalled: a credentialsSecretRef names the hub store's Secret (the operator's database Secret setting). Runner pods
   * read the Secret a Merchant or Cart names, so that would hand the namespace's hub-store URL to its endpoint.
   */
  forbiddenSecret: 'ForbiddenSecret',
  /**
   * Stalled: a service has had records waiting and delivered none for three of its periods (the longest gap of its
   * schedule, 15 minutes for an Automatic service): its destination is down or does not answer, or its runner does
   * not run. Clears by itself once the service delivers again. Refused records (failedRecords) are not this.
   */
  deliveryStalled: 'DeliveryStalled',
} as const;
export type ConditionReason = (typeof conditionReasons)[keyof typeof conditionReasons];
