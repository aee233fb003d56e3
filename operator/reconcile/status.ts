// The status the operator wants to write: pure, from the verdict and what it observed. The runner's fields
// (failedRecords, lastResult) are read here only to total them; the operator never writes them.
import type { Condition, OwnerStatus, ServiceStatus } from '../api/v1alpha1/types.ts';
import type { ServiceName } from '../api/v1alpha1/services.ts';
import { computeConditions, type Verdict } from './conditions.ts';

/** What the operator knows of one enabled service after applying its workload. */
export interface ServiceObservation {
  service: ServiceName;
  schedule: string;
  /** Absent for a suspended Automatic service, which no workload runs. */
  workload?: { kind: 'CronJob' | 'Deployment'; name: string };
  nextRunTime?: Date;
  lastRunTime?: Date;
  cleanup?: { nextTimes: Date[]; lastTime?: Date };
}

/** Kubernetes stores times to the second; writing the same precision keeps comparisons exact. */
export function formatTime(time: Date): string {
  return time.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function serviceStatus(observation: ServiceObservation): ServiceStatus {
  const status: ServiceStatus = { name: observation.service, schedule: observation.schedule };
  if (observation.workload) status.workload = observation.workload;
  if (observation.nextRunTime) status.nextRunTime = formatTime(observation.nextRunTime);
  if (observation.lastRunTime) status.lastRunTime = formatTime(observation.lastRunTime);
  if (observation.cleanup) {
    status.cleanup = { nextTimes: observation.cleanup.nextTimes.map(formatTime) };
    if (observation.cleanup.lastTime) status.cleanup.lastTime = formatTime(observation.cleanup.lastTime);
  }
  return status;
}

export interface StatusInput {
  generation: number | undefined;
  verdict: Verdict;
  /** The status as the API server has it now (both managers' fields). */
  current: OwnerStatus | undefined;
  /** Undefined when the reconcile did not get as far as the services (invalid spec, missing Merchant). */
  services: ServiceObservation[] | undefined;
  /** Run-now and retry-now requests answered now (annotation values); earlier ones stay as the status has them. */
  handled?: { run?: string; retry?: string };
  now: Date;
}

/** The fields of a service entry that the operator writes (serviceStatus); every other field is the runner's. */
const operatorServiceFields = new Set<string>([
  'name',
  'schedule',
  'workload',
  'nextRunTime',
  'lastRunTime',
  'cleanup',
]);

/**
 * What the runner reported in a status, by service: every field of a service entry that the operator does not write
 * (failedRecords, lastResult, and whatever the runner reports besides). A status update that changes any of them
 * needs a reconcile (the operator totals failedRecords, and judges from what the runner reports); one that changes
 * only the operator's own fields is its last write coming back, and needs none.
 */
export function runnerFieldsOf(status: OwnerStatus | undefined): Record<string, Record<string, unknown>> {
  return Object.fromEntries(
    (status?.services ?? []).map((service) => [
      service.name,
      Object.fromEntries(Object.entries(service).filter(([field]) => !operatorServiceFields.has(field))),
    ]),
  );
}

/** The operator's fields of the status. */
export function computeStatus(input: StatusInput): OwnerStatus {
  const previousConditions: readonly Condition[] = input.current?.conditions ?? [];
  const failedRecords = (input.current?.services ?? []).reduce(
    (total, service) => total + (service.failedRecords?.count ?? 0),
    0,
  );
  const status: OwnerStatus = {
    observedGeneration: input.generation,
    conditions: computeConditions(input.verdict, input.generation, previousConditions, input.now),
    failedRecords,
  };
  const lastHandledRunRequest = input.handled?.run ?? input.current?.lastHandledRunRequest;
  const lastHandledRetryRequest = input.handled?.retry ?? input.current?.lastHandledRetryRequest;
  if (lastHandledRunRequest !== undefined) status.lastHandledRunRequest = lastHandledRunRequest;
  if (lastHandledRetryRequest !== undefined) status.lastHandledRetryRequest = lastHandledRetryRequest;
  // Without a fresh view of the services, keep what was reported before rather than erase it.
  const services = input.services?.map(serviceStatus) ?? input.current?.services?.map(operatorFieldsOf);
  if (services && services.length > 0) status.services = services;
  return status;
}

/** The fields of a service entry that the operator owns. */
function operatorFieldsOf(service: ServiceStatus): ServiceStatus {
  return Object.fromEntries(
    Object.entries(service).filter(([field]) => operatorServiceFields.has(field)),
  ) as ServiceStatus;
}

/** The operator's fields of a status as stored, for comparing with what it wants (so unchanged means no write). */
export function operatorStatusOf(status: OwnerStatus | undefined): OwnerStatus {
  if (!status) return {};
  const { services, ...rest } = status;
  const operatorServices = services?.map(operatorFieldsOf).filter((service) => Object.keys(service).length > 1);
  return operatorServices && operatorServices.length > 0 ? { ...rest, services: operatorServices } : rest;
}

/** Flattens a status into field paths and values; list entries are keyed by their `type` or `name`. */
function flatten(value: unknown, path: string, into: Map<string, string>): Map<string, string> {
  if (Array.isArray(value) && value.every((item) => item !== null && typeof item === 'object')) {
    for (const item of value as Record<string, unknown>[]) {
      const key = (item.type ?? item.name) as string | undefined;
      flatten(item, key === undefined ? path : `${path}[${key}]`, into);
    }
  } else if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const [key, field] of Object.entries(value)) flatten(field, path ? `${path}.${key}` : key, into);
  } else if (value !== undefined) {
    into.set(path, JSON.stringify(value));
  }
  return into;
}

/** The fields that differ between two statuses, for the log line of a status write. */
export function statusChanges(before: OwnerStatus, after: OwnerStatus): string[] {
  const old = flatten(before, '', new Map());
  const next = flatten(after, '', new Map());
  const paths = new Set([...old.keys(), ...next.keys()]);
  return [...paths].filter((path) => old.get(path) !== next.get(path)).sort();
}

/**
 * Why a status write happened, from the fields it changes: `schedule` when only the times of runs and cleanups moved
 * (a CronJob run ended, a cleanup ran or its slots moved on), `change` for anything else (the spec, a condition, a
 * workload). In steady state only `schedule` writes should occur.
 */
export type StatusWriteCause = 'schedule' | 'change';

const scheduleTimeField = /^services\[\w+\]\.(lastRunTime|nextRunTime|cleanup\.lastTime|cleanup\.nextTimes)$/;

export function statusWriteCause(changes: readonly string[]): StatusWriteCause {
  return changes.length > 0 && changes.every((path) => scheduleTimeField.test(path)) ? 'schedule' : 'change';
}
