// The contract between the operator's pod templates and the runner: the environment each runner container gets.
// The operator writes these variables; the runner reads and validates them. Keep both sides on these names.
export const runnerEnv = {
  /** Merchant or Cart: the kind of the object whose service this workload runs. */
  ownerKind: 'SWITCHYARD_OWNER_KIND',
  /** The Merchant's or Cart's name. */
  ownerName: 'SWITCHYARD_OWNER_NAME',
  /** The namespace of the owner (the pod's own, from the downward API). */
  namespace: 'SWITCHYARD_NAMESPACE',
  /** The merchant the records belong to: the owner itself, or a Cart's spec.merchantRef.name. */
  merchant: 'SWITCHYARD_MERCHANT',
  /** The service this workload runs (one of serviceNames); `--service` on the command line must agree. */
  service: 'SWITCHYARD_SERVICE',
  /** Records per batch (a positive integer). */
  batchSize: 'SWITCHYARD_BATCH_SIZE',
  /** The connector type of the external system this service talks to (`http`). */
  endpointType: 'SWITCHYARD_ENDPOINT_TYPE',
  /** The base URL of that system (the merchant's warehouse, or the cart's platform). */
  endpointUrl: 'SWITCHYARD_ENDPOINT_URL',
  /** The credential for that system, from the referenced Secret's key (optional: absent when no Secret is set). */
  endpointToken: 'SWITCHYARD_ENDPOINT_TOKEN',
  /** The hub store's PostgreSQL connection string, from the operator's configured Secret. */
  databaseUrl: 'SWITCHYARD_DATABASE_URL',
  /** Log level (pino). */
  logLevel: 'SWITCHYARD_LOG_LEVEL',
  /** Optional: seconds a claimed batch stays leased to one runner before another may take it over (default 300). */
  leaseSeconds: 'SWITCHYARD_LEASE_SECONDS',
  /** Optional: seconds between Automatic mode's checks for work whose notification was missed (default 30). */
  sweepSeconds: 'SWITCHYARD_SWEEP_SECONDS',
  /** Optional: timeout of one request to the endpoint, in seconds (default 30; less than the lease). */
  requestTimeoutSeconds: 'SWITCHYARD_REQUEST_TIMEOUT_SECONDS',
} as const;

/**
 * The prefix of the field managers under which runners report to their owner's status, one per service
 * (`switchyard-runner/<service>`), so that each service's runner owns its own entry. The operator never writes these.
 */
export const runnerFieldManager = 'switchyard-runner';
