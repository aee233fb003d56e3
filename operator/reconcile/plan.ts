// From a validated spec to one plan per service: which schedules are valid, and the staggered CronJob schedule of
// each interval. Pure; the reasons it rejects a spec name the field and the rule.
import { conditionReasons } from '../api/v1alpha1/conditions.ts';
import { serviceCatalogue, servicesOf, type ServiceName } from '../api/v1alpha1/services.ts';
import { specSchemas, type Owner } from '../api/v1alpha1/types.ts';
import { isValidTimeZone, staggeredCron, validateServiceSchedule } from '../schedule/index.ts';
import type { ServicePlan } from './desired.ts';

export type PlanResult =
  | { ok: true; plans: ServicePlan[] }
  | {
      ok: false;
      reason: typeof conditionReasons.invalidSpec | typeof conditionReasons.forbiddenSecret;
      message: string;
    };

const invalid = (message: string): PlanResult => ({ ok: false, reason: conditionReasons.invalidSpec, message });

/** The seed of an object's stagger and cleanup times: stable for its lifetime, different for every object. */
export function scheduleSeed(owner: Owner, service: ServiceName): string {
  return `${owner.metadata.uid}/${service}`;
}

/**
 * Checks what admission cannot (schema drift, cron gaps, unknown time zones, the hub store's Secret named as
 * credentials) and plans each service. `timeZone` is the Merchant's: a Cart runs on its Merchant's clock.
 * `hubStoreSecret` is the name of the Secret holding the hub store's URL, which no Merchant or Cart may name.
 */
export function planServices(owner: Owner, timeZone: string, now: Date, hubStoreSecret: string): PlanResult {
  const parsed = specSchemas[owner.kind].safeParse(owner.spec);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return invalid(`spec.${issue.path.join('.')}: ${issue.message}`);
  }
  // The runners send an owner's credential to its endpoint, which the owner's author chooses.
  const endpointField = owner.kind === 'Merchant' ? 'warehouse' : 'platform';
  const credentials = owner.kind === 'Merchant' ? owner.spec.warehouse : owner.spec.platform;
  if (credentials.credentialsSecretRef?.name === hubStoreSecret) {
    return {
      ok: false,
      reason: conditionReasons.forbiddenSecret,
      message:
        `spec.${endpointField}.credentialsSecretRef.name: "${hubStoreSecret}" is the hub store's Secret, which a ` +
        `${owner.kind} may not name as its credentials (the runners would send the hub store's URL and password to ` +
        `its ${endpointField}); name a Secret of its own`,
    };
  }
  if (!isValidTimeZone(timeZone)) {
    const field =
      owner.kind === 'Merchant' ? 'spec.timeZone' : `the time zone of Merchant ${owner.spec.merchantRef.name}`;
    return invalid(`${field}: "${timeZone}" is not a time zone this operator knows (IANA name expected)`);
  }
  const services = parsed.data.services as Record<string, { schedule: string; suspend: boolean; batchSize: number }>;
  const plans: ServicePlan[] = [];
  for (const definition of servicesOf(owner.kind)) {
    const spec = services[definition.name]!;
    const field = `spec.services.${definition.name}.schedule`;
    const validated = validateServiceSchedule(serviceCatalogue[definition.name], spec.schedule, {
      fieldPath: field,
      now,
    });
    if (!validated.ok) return invalid(validated.message);
    const suspended = owner.spec.suspend || spec.suspend;
    const schedule = validated.schedule;
    switch (schedule.kind) {
      case 'disabled':
        plans.push({ service: definition.name, mode: 'disabled' });
        break;
      case 'automatic':
        plans.push({ service: definition.name, mode: 'automatic', suspended, batchSize: spec.batchSize });
        break;
      case 'interval':
      case 'cron':
        plans.push({
          service: definition.name,
          mode: 'interval',
          suspended,
          batchSize: spec.batchSize,
          timeZone,
          cron:
            schedule.kind === 'interval'
              ? staggeredCron(schedule.minutes, scheduleSeed(owner, definition.name))
              : schedule.expression,
        });
        break;
    }
  }
  return { ok: true, plans };
}
