// Run-now and retry-now requests (operator/api/v1alpha1/annotations.ts): which services a request names, and which of
// them it runs. Pure; the reconcile starts the Jobs and records the request as handled.
import {
  retryRequestedAtAnnotation,
  runRequestedAtAnnotation,
  runServicesAnnotation,
} from '../api/v1alpha1/annotations.ts';
import { servicesOf, type OwnerKind, type ServiceName } from '../api/v1alpha1/services.ts';
import type { OwnerStatus } from '../api/v1alpha1/types.ts';
import type { EnabledPlan, ServicePlan } from './desired.ts';

export type RequestKind = 'run' | 'retry';
export const requestKinds: readonly RequestKind[] = ['run', 'retry'];

export const requestAnnotations: Record<RequestKind, string> = {
  run: runRequestedAtAnnotation,
  retry: retryRequestedAtAnnotation,
};

/** The request to answer: the annotation's value when it differs from the last one handled. */
export function pendingRequest(
  kind: RequestKind,
  annotations: Record<string, string> | undefined,
  status: OwnerStatus | undefined,
): string | undefined {
  const value = annotations?.[requestAnnotations[kind]];
  const handled = kind === 'run' ? status?.lastHandledRunRequest : status?.lastHandledRetryRequest;
  return value !== undefined && value !== '' && value !== handled ? value : undefined;
}

export type RequestedServices =
  { readonly ok: true; readonly services: readonly ServiceName[] } | { readonly ok: false; readonly message: string };

/** The services `switchyard.dev/run-services` names (comma-separated), or every service of the kind when it is unset. */
export function requestedServices(kind: OwnerKind, text: string | undefined): RequestedServices {
  const own = servicesOf(kind).map((service) => service.name);
  if (text === undefined || text.trim() === '') return { ok: true, services: own };
  const names = text
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  const unknown = names.filter((name) => !(own as readonly string[]).includes(name));
  if (unknown.length > 0) {
    return {
      ok: false,
      message: `metadata.annotations[${runServicesAnnotation}]: ${unknown.map((name) => `"${name}"`).join(', ')} ${unknown.length === 1 ? 'is not a service' : 'are not services'} of a ${kind}; expected a comma-separated list of ${own.join(', ')}`,
    };
  }
  return { ok: true, services: own.filter((name) => names.includes(name)) };
}

export interface RequestPlan {
  /** The services that get a Job now. */
  readonly run: readonly EnabledPlan[];
  /** The services named but not run, with why. */
  readonly skipped: readonly { readonly service: ServiceName; readonly why: 'disabled' | 'suspended' }[];
}

/** Which of the requested services run: those enabled and not suspended (a suspended object or service runs nothing). */
export function planRequest(plans: readonly ServicePlan[], services: readonly ServiceName[]): RequestPlan {
  const run: EnabledPlan[] = [];
  const skipped: { service: ServiceName; why: 'disabled' | 'suspended' }[] = [];
  for (const plan of plans) {
    if (!services.includes(plan.service)) continue;
    if (plan.mode === 'disabled') skipped.push({ service: plan.service, why: 'disabled' });
    else if (plan.suspended) skipped.push({ service: plan.service, why: 'suspended' });
    else run.push(plan);
  }
  return { run, skipped };
}
