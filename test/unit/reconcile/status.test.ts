import { describe, expect, it } from 'vitest';
import type { OwnerStatus } from '../../../operator/api/v1alpha1/types.ts';
import {
  computeStatus,
  operatorStatusOf,
  statusChanges,
  statusWriteCause,
} from '../../../operator/reconcile/status.ts';

const now = new Date('2026-11-27T10:00:00.500Z');
const ready = { state: 'ready', reason: 'Reconciled', message: 'running' } as const;

describe('computeStatus', () => {
  it('reports each service with its workload, times to the second, and the cleanup times', () => {
    const status = computeStatus({
      generation: 4,
      verdict: ready,
      current: undefined,
      now,
      services: [
        {
          service: 'orderDelivery',
          schedule: 'Automatic',
          workload: { kind: 'Deployment', name: 'acme-order-delivery' },
          cleanup: { nextTimes: [new Date('2026-11-27T13:14:00Z'), new Date('2026-11-27T20:51:00Z')] },
        },
        {
          service: 'shippingConfirmations',
          schedule: '7,37 * * * *',
          workload: { kind: 'CronJob', name: 'acme-shipping-confirmations' },
          nextRunTime: new Date('2026-11-27T10:07:00.000Z'),
        },
      ],
    });
    expect(status).toEqual({
      observedGeneration: 4,
      conditions: [expect.objectContaining({ type: 'Ready', status: 'True', observedGeneration: 4 })],
      failedRecords: 0,
      services: [
        {
          name: 'orderDelivery',
          schedule: 'Automatic',
          workload: { kind: 'Deployment', name: 'acme-order-delivery' },
          cleanup: { nextTimes: ['2026-11-27T13:14:00Z', '2026-11-27T20:51:00Z'] },
        },
        {
          name: 'shippingConfirmations',
          schedule: '7,37 * * * *',
          workload: { kind: 'CronJob', name: 'acme-shipping-confirmations' },
          nextRunTime: '2026-11-27T10:07:00Z',
        },
      ],
    });
  });

  it("totals the runner's failed records but never writes the runner's fields", () => {
    const current: OwnerStatus = {
      services: [
        {
          name: 'orderDelivery',
          schedule: 'Automatic',
          failedRecords: { count: 3 },
          lastResult: { time: '2026-11-27T09:00:00Z', outcome: 'PartiallyFailed', processed: 10, failed: 3 },
        },
        { name: 'inventory', failedRecords: { count: 2 } },
      ],
    };
    const status = computeStatus({ generation: 1, verdict: ready, current, services: undefined, now });
    expect(status.failedRecords).toBe(5);
    expect(JSON.stringify(status)).not.toContain('lastResult');
    expect(JSON.stringify(status)).not.toContain('"count"');
  });

  it('keeps the previous service entries when the services could not be observed', () => {
    const current: OwnerStatus = {
      services: [{ name: 'orderDelivery', schedule: 'Automatic', failedRecords: { count: 1 } }],
    };
    const status = computeStatus({
      generation: 2,
      verdict: { state: 'stalled', reason: 'InvalidSpec', message: 'bad' },
      current,
      services: undefined,
      now,
    });
    expect(status.services).toEqual([{ name: 'orderDelivery', schedule: 'Automatic' }]);
  });
});

describe('operatorStatusOf', () => {
  it('drops the runner fields and the entries that only the runner wrote', () => {
    expect(
      operatorStatusOf({
        observedGeneration: 1,
        services: [
          { name: 'a', schedule: 'Automatic', failedRecords: { count: 1 } },
          { name: 'b', failedRecords: { count: 2 } },
        ],
      }),
    ).toEqual({ observedGeneration: 1, services: [{ name: 'a', schedule: 'Automatic' }] });
  });
});

describe('statusChanges', () => {
  it('names the fields that differ, list entries by their type or name', () => {
    const before: OwnerStatus = {
      observedGeneration: 1,
      conditions: [{ type: 'Ready', status: 'True', reason: 'Reconciled', message: 'ok', lastTransitionTime: 't1' }],
      services: [{ name: 'inventory', schedule: '0 * * * *', nextRunTime: '2026-11-27T10:00:00Z' }],
    };
    const after: OwnerStatus = {
      ...before,
      services: [{ name: 'inventory', schedule: '0 * * * *', nextRunTime: '2026-11-27T11:00:00Z' }],
    };
    expect(statusChanges(before, after)).toEqual(['services[inventory].nextRunTime']);
    expect(statusChanges(before, { observedGeneration: 2 })).toEqual([
      'conditions[Ready].lastTransitionTime',
      'conditions[Ready].message',
      'conditions[Ready].reason',
      'conditions[Ready].status',
      'conditions[Ready].type',
      'observedGeneration',
      'services[inventory].name',
      'services[inventory].nextRunTime',
      'services[inventory].schedule',
    ]);
  });
});

describe('statusWriteCause', () => {
  it('is schedule when only the times of runs and cleanups moved, change otherwise', () => {
    expect(statusWriteCause(['services[inventory].lastRunTime', 'services[inventory].nextRunTime'])).toBe('schedule');
    expect(statusWriteCause(['services[orderDelivery].cleanup.nextTimes'])).toBe('schedule');
    expect(statusWriteCause(['services[inventory].nextRunTime', 'conditions[Ready].status'])).toBe('change');
    expect(statusWriteCause(['services[inventory].schedule'])).toBe('change');
    expect(statusWriteCause(['observedGeneration'])).toBe('change');
  });
});
