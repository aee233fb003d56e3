// Names and labels of the children. Deterministic names make creation idempotent and let a restarted operator
// find what it made before.
import { createHash } from 'node:crypto';
import type { OwnerKind, ServiceName } from '../api/v1alpha1/services.ts';

/** CronJob names must leave room for the 11-character suffix of their Jobs. */
export const maxChildNameLength = 52;

export const managedByLabel = 'app.kubernetes.io/managed-by';
export const managedByValue = 'switchyard';
export const nameLabel = 'app.kubernetes.io/name';
export const runnerName = 'switchyard-runner';
export const componentLabel = 'app.kubernetes.io/component';
export const serviceLabel = 'switchyard.dev/service';
export const ownerKindLabel = 'switchyard.dev/owner-kind';
export const ownerNameLabel = 'switchyard.dev/owner';
/** The instant a cleanup Job was scheduled for (RFC 3339); the cleanup bookkeeping reads it back. */
export const cleanupTimeAnnotation = 'switchyard.dev/cleanup-time';
/** The request (the annotation's value) a run-now or retry-now Job answers. */
export const requestAnnotation = 'switchyard.dev/request';

/** Selects every child the operator manages: the informers' label selector. */
export const managedSelector = `${managedByLabel}=${managedByValue}`;
/** Selects the Jobs the operator creates itself (cleanup and migrate runs), not those of its CronJobs. */
export const operatorJobSelector = `${managedSelector},${componentLabel} in (cleanup,migrate)`;

export type Component = 'interval' | 'watcher' | 'cleanup' | 'request' | 'identity' | 'migrate';

export function kebabCase(name: string): string {
  return name.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
}

function shortHash(text: string, length: number): string {
  return createHash('sha256').update(text).digest('hex').slice(0, length);
}

/** `<owner>-<suffix>`, or, when that is too long, a cut owner name with a hash that keeps it unique. */
function boundedName(ownerName: string, suffix: string): string {
  const full = `${ownerName}-${suffix}`;
  if (full.length <= maxChildNameLength) return full;
  const hash = shortHash(full, 8);
  const room = maxChildNameLength - suffix.length - hash.length - 2;
  return `${ownerName.slice(0, room).replace(/[-.]+$/, '')}-${hash}-${suffix}`;
}

/** `<owner>-<service-in-kebab-case>`, at most 52 characters. */
export function childName(ownerName: string, service: ServiceName): string {
  return boundedName(ownerName, kebabCase(service));
}

/** The ServiceAccount the runner pods of a merchant and its carts run as, and the Role of what they may do. */
export function runnerIdentityName(merchantName: string): string {
  return boundedName(merchantName, 'runner');
}

/**
 * The RoleBinding of the runner Role. Its name differs from the Role's because a binding's roleRef cannot change: the
 * binding that 0.1 made (`<merchant>-runner`, to the chart's runner ClusterRole) is removed as unwanted, after this
 * one is in place.
 */
export function runnerBindingName(merchantName: string): string {
  return boundedName(merchantName, 'runner-status');
}

/** The one watcher Deployment of a merchant, which serves the Automatic services of the Merchant and its Carts. */
export function watcherName(merchantName: string): string {
  return boundedName(merchantName, 'watcher');
}

/** The migrate Job of a namespace, one per hub store schema version: creating it twice is harmless. */
export function migrateJobName(schemaVersion: number): string {
  return `switchyard-migrate-v${schemaVersion}`;
}

/** A cleanup Job's name is fixed by its scheduled minute, so creating it twice is harmless. */
export function cleanupJobName(ownerName: string, service: ServiceName, scheduledFor: Date): string {
  const minute = Math.floor(scheduledFor.getTime() / 60_000).toString(36);
  return `${boundedName(ownerName, `${kebabCase(service)}-cleanup`)}-${minute}`;
}

/**
 * A run-now or retry-now Job's name is fixed by the request's value, so a request is answered once however often the
 * object is reconciled, also across operator restarts.
 */
export function requestJobName(
  ownerName: string,
  service: ServiceName,
  request: 'run' | 'retry',
  value: string,
): string {
  return `${boundedName(ownerName, `${kebabCase(service)}-${request}`)}-${shortHash(value, 8)}`;
}

export function childLabels(
  ownerKind: OwnerKind | undefined,
  ownerName: string | undefined,
  service: ServiceName | undefined,
  component: Component,
): Record<string, string> {
  return {
    [managedByLabel]: managedByValue,
    [nameLabel]: runnerName,
    [componentLabel]: component,
    ...(service && { [serviceLabel]: service }),
    ...(ownerKind && ownerName && { [ownerKindLabel]: ownerKind, [ownerNameLabel]: ownerName }),
  };
}
