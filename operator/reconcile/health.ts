// Has a delivery service stopped delivering? Pure: from the service's plan, what its runner reported in
// status.services[] (pendingRecords, pendingSince, lastDeliveryTime; see operator/runner/store/backlog.ts) and the
// time. A few refused records are business as usual (failedRecords, and Ready stays True); a service that has had
// records waiting and delivered none for three of its periods is not: the object is then Stalled, reason
// DeliveryStalled, which kstatus reads as Failed and Argo CD as Degraded.
import { conditionReasons as reasons } from '../api/v1alpha1/conditions.ts';
import type { ServiceName } from '../api/v1alpha1/services.ts';
import type { ServiceStatus } from '../api/v1alpha1/types.ts';
import { measureCronGaps } from '../schedule/index.ts';
import type { ServicePlan } from './desired.ts';

/** How many of its periods a service may go without delivering, while records wait, before it counts as stalled. */
export const stalledAfterPeriods = 3;

/**
 * The period of an Automatic service. It has no schedule: it sends within seconds of a record arriving, sweeps every
 * 30 seconds for a missed notification, waits out a destination's Retry-After of up to 30 seconds and resumes at the
 * time a longer one names, and a rolling watcher hands over in a minute or two. Fifteen minutes is the most common
 * interval of the services around it (Order Download, which feeds Order Delivery, runs every 15 minutes by default),
 * so three periods, 45 minutes, flag a dead or silent destination within the hour without taking a destination's
 * slow minute, a Retry-After or a watcher restart for a stall.
 */
export const automaticPeriodMs = 15 * 60_000;

const dayMs = 24 * 60 * 60_000;

// Gaps are measured from a fixed date, so that the period does not change with the clock. Every schedule a service
// accepts runs every day, and the gaps of those do not depend on the date.
const referenceDate = new Date(Date.UTC(2024, 0, 1));
const gapMemo = new Map<string, number>();
const gapMemoLimit = 10_000;

/** The longest gap between two runs of a valid cron expression, in ms, at most a day. */
function longestGapMs(cron: string): number {
  const known = gapMemo.get(cron);
  if (known !== undefined) return known;
  const longest = Math.min(dayMs, measureCronGaps(cron, referenceDate).longestMinutes * 60_000);
  if (gapMemo.size >= gapMemoLimit) gapMemo.clear();
  gapMemo.set(cron, longest);
  return longest;
}

/**
 * A service's period: how long it may rightly go without running. An interval or cron service's is the longest gap
 * of its schedule (`15m` staggered to `7,22,37,52 * * * *` is 15 minutes; `0 9,17 * * *` is 16 hours); an Automatic
 * service's is automaticPeriodMs. Undefined for a disabled service.
 */
export function deliveryPeriodMs(plan: ServicePlan): number | undefined {
  switch (plan.mode) {
    case 'disabled':
      return undefined;
    case 'automatic':
      return automaticPeriodMs;
    case 'interval':
      return longestGapMs(plan.cron);
  }
}

/** The period of one service the operator judges, in seconds. */
export interface ServicePeriod {
  readonly service: ServiceName;
  readonly seconds: number;
}

/** The periods of the services the operator judges: those neither disabled nor suspended. */
export function judgedPeriods(plans: readonly ServicePlan[]): ServicePeriod[] {
  return plans.flatMap((plan): ServicePeriod[] => {
    const periodMs = deliveryPeriodMs(plan);
    if (periodMs === undefined || (plan.mode !== 'disabled' && plan.suspended)) return [];
    return [{ service: plan.service, seconds: periodMs / 1000 }];
  });
}

/** What one service's delivery says. */
export type ServiceDelivery =
  /** Nothing to judge: nothing has waited since the last delivery, or the service is disabled, suspended or a pull. */
  | { state: 'idle' }
  /** Records have waited since `since` with none delivered; if that goes on, the service is stalled at `stalledAt`. */
  | { state: 'waiting'; since: Date; stalledAt: Date }
  /** Records have waited since `since` with none delivered, for `periods` × `periodMs` or more. */
  | {
      state: 'stalled';
      service: ServiceName;
      since: Date;
      pending: number;
      lastDelivery?: Date;
      periodMs: number;
    };

function parseTime(value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const time = new Date(value);
  return Number.isNaN(time.getTime()) ? undefined : time;
}

/** One service: from its plan, its entry of status.services (what its runner reported), and the time. */
export function serviceDelivery(plan: ServicePlan, status: ServiceStatus | undefined, now: Date): ServiceDelivery {
  // A suspended service delivers nothing by design; records wait for it to resume.
  if (plan.mode === 'disabled' || plan.suspended) return { state: 'idle' };
  const periodMs = deliveryPeriodMs(plan)!;
  const since = parseTime(status?.pendingSince);
  const pending = status?.pendingRecords ?? 0;
  if (pending === 0 || since === undefined) return { state: 'idle' };
  const stalledAt = new Date(since.getTime() + stalledAfterPeriods * periodMs);
  if (now < stalledAt) return { state: 'waiting', since, stalledAt };
  const lastDelivery = parseTime(status?.lastDeliveryTime);
  return { state: 'stalled', service: plan.service, since, pending, periodMs, ...(lastDelivery && { lastDelivery }) };
}

/** The verdict of a stall; its reason is one of the Stalled reasons of Verdict (./conditions.ts). */
export interface DeliveryStalledVerdict {
  state: 'stalled';
  reason: typeof reasons.deliveryStalled;
  message: string;
}

export interface DeliveryHealth {
  /** The services that have stopped delivering, in plan order. */
  stalled: Extract<ServiceDelivery, { state: 'stalled' }>[];
  /** Set when any service has stopped delivering. */
  verdict?: DeliveryStalledVerdict;
  /**
   * The earliest time a service whose records wait would count as stalled, if nothing changes: when to reconcile
   * again. A new report from the runner brings the object back sooner (and clears a stall).
   */
  recheckAt?: Date;
}

/** Times in messages are to the second, as Kubernetes writes them. */
const formatTime = (time: Date) => time.toISOString().replace(/\.\d{3}Z$/, 'Z');

function formatPeriod(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  return minutes % 60 === 0 && minutes >= 120 ? `${minutes / 60} hours` : `${minutes} minutes`;
}

/**
 * One sentence per stalled service, stable while its report is (no durations counted to now, which would change the
 * message, and with it the status, on every reconcile).
 */
function describe(stall: Extract<ServiceDelivery, { state: 'stalled' }>): string {
  const records = `${stall.pending} record${stall.pending === 1 ? '' : 's'}`;
  const last = stall.lastDelivery ? `last delivery ${formatTime(stall.lastDelivery)}` : 'never delivered';
  return (
    `${stall.service} has delivered nothing while records waited since ${formatTime(stall.since)}, ` +
    `more than ${stalledAfterPeriods} periods of ${formatPeriod(stall.periodMs)}: ${records} waiting (${last})`
  );
}

/**
 * Every service of an object: which have stopped delivering (and the verdict that says so), and when to look again.
 * `services` is status.services as the API server has it (the runner's fields included).
 */
export function deliveryHealth(
  plans: readonly ServicePlan[],
  services: readonly ServiceStatus[] | undefined,
  now: Date,
): DeliveryHealth {
  const stalled: Extract<ServiceDelivery, { state: 'stalled' }>[] = [];
  let recheckAt: Date | undefined;
  for (const plan of plans) {
    const delivery = serviceDelivery(
      plan,
      services?.find((entry) => entry.name === plan.service),
      now,
    );
    if (delivery.state === 'stalled') stalled.push(delivery);
    if (delivery.state === 'waiting' && (!recheckAt || delivery.stalledAt < recheckAt)) recheckAt = delivery.stalledAt;
  }
  const health: DeliveryHealth = { stalled };
  if (stalled.length > 0) {
    health.verdict = { state: 'stalled', reason: reasons.deliveryStalled, message: stalled.map(describe).join('; ') };
  }
  if (recheckAt) health.recheckAt = recheckAt;
  return health;
}

/**
 * The runner's fields this judgment and its message read, per service: a change of them needs a reconcile of the
 * object (add them to what owner events compare). lastResult alone changes no verdict.
 */
export function deliveryFieldsRead(
  service: ServiceStatus,
): Pick<ServiceStatus, 'pendingRecords' | 'pendingSince' | 'lastDeliveryTime'> {
  const { pendingRecords, pendingSince, lastDeliveryTime } = service;
  return {
    ...(pendingRecords !== undefined && { pendingRecords }),
    ...(pendingSince !== undefined && { pendingSince }),
    ...(lastDeliveryTime !== undefined && { lastDeliveryTime }),
  };
}
