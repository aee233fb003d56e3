// Whether a delivery service has stopped delivering, from its plan, its runner's report and a fake clock.
import { describe, expect, it } from 'vitest';
import type { ServiceStatus } from '../../../operator/api/v1alpha1/types.ts';
import type { ServicePlan } from '../../../operator/reconcile/desired.ts';
import {
  automaticPeriodMs,
  deliveryFieldsRead,
  deliveryHealth,
  deliveryPeriodMs,
  serviceDelivery,
  stalledAfterPeriods,
} from '../../../operator/reconcile/health.ts';

const minute = 60_000;

const automatic = (service: ServicePlan['service'], suspended = false): ServicePlan => ({
  service,
  mode: 'automatic',
  suspended,
  batchSize: 100,
});
const interval = (service: ServicePlan['service'], cron: string, suspended = false): ServicePlan => ({
  service,
  mode: 'interval',
  suspended,
  batchSize: 100,
  cron,
  timeZone: 'UTC',
});

/** A clock the test moves by hand. */
class FakeClock {
  #now: number;
  constructor(start: string) {
    this.#now = Date.parse(start);
  }
  now(): Date {
    return new Date(this.#now);
  }
  advance(ms: number): Date {
    this.#now += ms;
    return this.now();
  }
}

const report = (name: ServiceStatus['name'], fields: Partial<ServiceStatus>): ServiceStatus => ({ name, ...fields });

describe('deliveryPeriodMs', () => {
  it('is 15 minutes for an Automatic service and the longest gap of the schedule for an interval one', () => {
    expect(automaticPeriodMs).toBe(15 * minute);
    expect(deliveryPeriodMs(automatic('orderDelivery'))).toBe(15 * minute);
    // `15m`, staggered.
    expect(deliveryPeriodMs(interval('orderDelivery', '7,22,37,52 * * * *'))).toBe(15 * minute);
    expect(deliveryPeriodMs(interval('inventoryUpload', '0 */2 * * *'))).toBe(120 * minute);
    // Twice a day, unevenly: the longer gap counts.
    expect(deliveryPeriodMs(interval('shipmentUpload', '0 9,17 * * *'))).toBe(16 * 60 * minute);
    expect(deliveryPeriodMs(interval('shipmentUpload', '@daily'))).toBe(24 * 60 * minute);
    expect(deliveryPeriodMs({ service: 'orderDelivery', mode: 'disabled' })).toBeUndefined();
  });
});

describe('serviceDelivery', () => {
  const since = '2026-05-04T10:00:00.000Z';
  const waiting = report('orderDelivery', {
    pendingRecords: 12,
    pendingSince: since,
    lastDeliveryTime: '2026-05-04T09:58:00.000Z',
  });

  it('is idle when nothing has waited since the last delivery, whatever failed', () => {
    const now = new Date('2026-05-04T18:00:00Z');
    const plan = automatic('orderDelivery');
    expect(serviceDelivery(plan, undefined, now)).toEqual({ state: 'idle' });
    expect(serviceDelivery(plan, report('orderDelivery', { pendingRecords: 0 }), now)).toEqual({ state: 'idle' });
    // Records wait, but all of them were waiting at the last delivery: the service delivers.
    expect(serviceDelivery(plan, report('orderDelivery', { pendingRecords: 3 }), now)).toEqual({ state: 'idle' });
    // Nothing waits: a time alone says nothing.
    const noneWaiting = report('orderDelivery', { pendingRecords: 0, pendingSince: '2026-05-04T08:00:00.000Z' });
    expect(serviceDelivery(plan, noneWaiting, now)).toEqual({ state: 'idle' });
    // A few refused records are not a stall.
    const refused = report('orderDelivery', {
      failedRecords: { count: 3 },
      pendingRecords: 0,
      lastDeliveryTime: '2026-05-04T08:00:00.000Z',
    });
    expect(serviceDelivery(plan, refused, now)).toEqual({ state: 'idle' });
  });

  it('stalls an Automatic service 45 minutes after records began to wait with none delivered, not a moment before', () => {
    const clock = new FakeClock(since);
    const plan = automatic('orderDelivery');
    const stalledAt = new Date(Date.parse(since) + stalledAfterPeriods * 15 * minute);
    expect(serviceDelivery(plan, waiting, clock.now())).toEqual({
      state: 'waiting',
      since: new Date(since),
      stalledAt,
    });
    clock.advance(45 * minute - 1);
    expect(serviceDelivery(plan, waiting, clock.now()).state).toBe('waiting');
    clock.advance(1);
    expect(serviceDelivery(plan, waiting, clock.now())).toEqual({
      state: 'stalled',
      service: 'orderDelivery',
      since: new Date(since),
      pending: 12,
      lastDelivery: new Date('2026-05-04T09:58:00Z'),
      periodMs: 15 * minute,
    });
  });

  it("counts three of an interval service's own periods", () => {
    const plan = interval('orderDelivery', '*/10 * * * *');
    expect(serviceDelivery(plan, waiting, new Date('2026-05-04T10:29:59Z')).state).toBe('waiting');
    expect(serviceDelivery(plan, waiting, new Date('2026-05-04T10:30:00Z')).state).toBe('stalled');
    const daily = interval('orderDelivery', '0 6 * * *');
    expect(serviceDelivery(daily, waiting, new Date('2026-05-06T10:00:00Z')).state).toBe('waiting');
    expect(serviceDelivery(daily, waiting, new Date('2026-05-07T10:00:00Z')).state).toBe('stalled');
  });

  it('does not judge a suspended or disabled service: it delivers nothing by design', () => {
    const now = new Date('2026-05-05T10:00:00Z');
    expect(serviceDelivery(automatic('orderDelivery', true), waiting, now)).toEqual({ state: 'idle' });
    expect(serviceDelivery(interval('orderDelivery', '*/10 * * * *', true), waiting, now)).toEqual({ state: 'idle' });
    expect(serviceDelivery({ service: 'orderDelivery', mode: 'disabled' }, waiting, now)).toEqual({ state: 'idle' });
  });

  it('ignores a time it cannot read', () => {
    const broken = report('orderDelivery', { pendingRecords: 2, pendingSince: 'yesterday' });
    expect(serviceDelivery(automatic('orderDelivery'), broken, new Date('2026-05-05T10:00:00Z'))).toEqual({
      state: 'idle',
    });
  });
});

describe('deliveryHealth', () => {
  const plans: ServicePlan[] = [
    interval('orderDownload', '7,22,37,52 * * * *'),
    automatic('shipmentUpload'),
    automatic('inventoryUpload'),
  ];

  it('is silent while every service delivers, and says when to look again while records wait', () => {
    const clock = new FakeClock('2026-05-04T10:10:00Z');
    const services = [
      report('orderDownload', { failedRecords: { count: 2 } }),
      report('shipmentUpload', { pendingRecords: 1, pendingSince: '2026-05-04T10:05:00Z' }),
      report('inventoryUpload', { pendingRecords: 4, pendingSince: '2026-05-04T10:00:00Z' }),
    ];
    expect(deliveryHealth(plans, services, clock.now())).toEqual({
      stalled: [],
      recheckAt: new Date('2026-05-04T10:45:00Z'),
    });
    expect(deliveryHealth(plans, [], clock.now())).toEqual({ stalled: [] });
    expect(deliveryHealth(plans, undefined, clock.now())).toEqual({ stalled: [] });
  });

  it('turns stalled as the clock passes the time it named, names each stalled service, and clears on a delivery', () => {
    const clock = new FakeClock('2026-05-04T10:10:00Z');
    const services = [
      report('shipmentUpload', { pendingRecords: 1, pendingSince: '2026-05-04T10:05:00.250Z' }),
      report('inventoryUpload', {
        pendingRecords: 4,
        pendingSince: '2026-05-04T10:00:00.000Z',
        lastDeliveryTime: '2026-05-04T09:59:30.000Z',
      }),
    ];
    const { recheckAt } = deliveryHealth(plans, services, clock.now());
    clock.advance(recheckAt!.getTime() - clock.now().getTime());
    const first = deliveryHealth(plans, services, clock.now());
    expect(first.stalled.map((stall) => stall.service)).toEqual(['inventoryUpload']);
    expect(first.verdict).toEqual({
      state: 'stalled',
      reason: 'DeliveryStalled',
      message:
        'inventoryUpload has delivered nothing while records waited since 2026-05-04T10:00:00Z, more than 3 periods ' +
        'of 15 minutes: 4 records waiting (last delivery 2026-05-04T09:59:30Z)',
    });
    expect(first.recheckAt).toEqual(new Date('2026-05-04T10:50:00.250Z'));

    clock.advance(3 * 60 * minute);
    const both = deliveryHealth(plans, services, clock.now());
    expect(both.recheckAt).toBeUndefined();
    expect(both.verdict?.message).toBe(
      'shipmentUpload has delivered nothing while records waited since 2026-05-04T10:05:00Z, more than 3 periods ' +
        'of 15 minutes: 1 record waiting (never delivered); ' +
        first.verdict!.message,
    );

    // The runner delivered: nothing has waited since its last delivery.
    const delivered = [
      report('shipmentUpload', { pendingRecords: 0, lastDeliveryTime: clock.now().toISOString() }),
      report('inventoryUpload', { pendingRecords: 4, lastDeliveryTime: clock.now().toISOString() }),
    ];
    expect(deliveryHealth(plans, delivered, clock.now())).toEqual({ stalled: [] });
  });

  it('keeps the same message while the report stays the same, so the status is not rewritten as time passes', () => {
    const clock = new FakeClock('2026-05-04T12:00:00Z');
    const services = [report('inventoryUpload', { pendingRecords: 2, pendingSince: '2026-05-04T10:00:00Z' })];
    const before = deliveryHealth(plans, services, clock.now()).verdict;
    clock.advance(6 * 60 * minute);
    expect(deliveryHealth(plans, services, clock.now()).verdict).toEqual(before);
  });
});

describe('deliveryFieldsRead', () => {
  it('is what the judgment and its message read of a service: not lastResult, not failedRecords', () => {
    const service = report('orderDelivery', {
      pendingRecords: 2,
      pendingSince: '2026-05-04T10:00:00Z',
      lastDeliveryTime: '2026-05-04T09:00:00Z',
      failedRecords: { count: 1 },
      lastResult: { time: '2026-05-04T10:01:00Z', outcome: 'Failed', processed: 1, failed: 1 },
    });
    expect(deliveryFieldsRead(service)).toEqual({
      pendingRecords: 2,
      pendingSince: '2026-05-04T10:00:00Z',
      lastDeliveryTime: '2026-05-04T09:00:00Z',
    });
    expect(deliveryFieldsRead(report('orderDownload', { failedRecords: { count: 1 } }))).toEqual({});
  });
});
