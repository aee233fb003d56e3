// What reaches the owner's status, and how often in Automatic mode.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../../operator/runner/log.ts';
import { CoalescingReporter } from '../../../operator/runner/reporting/coalescing-reporter.ts';
import { runnerFieldManagerFor } from '../../../operator/runner/reporting/kubernetes-reporter.ts';
import {
  buildServiceReport,
  deliveryTimeRefreshMs,
  differsOnlyInTimes,
  needsWrite,
  outcomeOf,
  statusApplyBody,
  truncateReason,
  type ServiceStatusReport,
} from '../../../operator/runner/reporting/status-report.ts';
import { RecordingReporter } from '../../support/recording-reporter.ts';

const finishedAt = new Date('2026-01-01T12:00:00Z');
const owner = { kind: 'Cart', namespace: 'shop', name: 'web-shop' } as const;

describe('outcomeOf', () => {
  it.each([
    [{ processed: 0, failed: 0, completed: true }, 'Succeeded'],
    [{ processed: 5, failed: 0, completed: true }, 'Succeeded'],
    [{ processed: 5, failed: 2, completed: true }, 'PartiallyFailed'],
    [{ processed: 5, failed: 5, completed: true }, 'Failed'],
    [{ processed: 5, failed: 0, completed: false }, 'Failed'],
  ] as const)('%j is %s', (run, outcome) => {
    expect(outcomeOf({ ...run, finishedAt })).toBe(outcome);
  });
});

describe('buildServiceReport', () => {
  const failures = Array.from({ length: 12 }, (_, index) => ({
    id: `O-${index}`,
    reason: index === 0 ? 'é'.repeat(300) : 'HTTP 422: nope',
    time: new Date(finishedAt.getTime() - index * 1000),
  }));

  it('reports the count, at most ten samples with reasons of at most 256 characters, and the last result', () => {
    const report = buildServiceReport(
      'shipmentUpload',
      { count: 12, sample: failures },
      { finishedAt, processed: 7, failed: 3, completed: true },
    );
    expect(report.name).toBe('shipmentUpload');
    expect(report.lastResult).toEqual({
      time: '2026-01-01T12:00:00.000Z',
      outcome: 'PartiallyFailed',
      processed: 7,
      failed: 3,
    });
    expect(report.failedRecords?.count).toBe(12);
    expect(report.failedRecords?.sample).toHaveLength(10);
    expect(report.failedRecords?.sample[1]).toEqual({
      id: 'O-1',
      reason: 'HTTP 422: nope',
      time: '2026-01-01T11:59:59.000Z',
    });
    expect(Array.from(report.failedRecords!.sample[0]!.reason)).toHaveLength(256);
  });

  it("reports a delivery service's backlog: how many records wait, since when, the oldest, and the last delivery", () => {
    const report = buildServiceReport(
      'orderDelivery',
      { count: 1, sample: [] },
      { finishedAt, processed: 4, failed: 1, completed: true },
      {
        pending: 7,
        pendingSince: new Date('2026-01-01T11:00:00Z'),
        oldestPending: new Date('2026-01-01T10:30:00Z'),
        lastDelivery: new Date('2026-01-01T10:58:00Z'),
      },
    );
    expect(report).toMatchObject({
      pendingRecords: 7,
      pendingSince: '2026-01-01T11:00:00.000Z',
      oldestPendingTime: '2026-01-01T10:30:00.000Z',
      lastDeliveryTime: '2026-01-01T10:58:00.000Z',
    });
    const caughtUp = buildServiceReport(
      'orderDelivery',
      undefined,
      { finishedAt, processed: 0, failed: 0, completed: true },
      { pending: 0 },
    );
    expect(caughtUp).toEqual({
      name: 'orderDelivery',
      lastResult: { time: '2026-01-01T12:00:00.000Z', outcome: 'Succeeded', processed: 0, failed: 0 },
      pendingRecords: 0,
      lastSuccessTime: '2026-01-01T12:00:00.000Z',
    });
  });

  it.each([
    [{ processed: 0, failed: 0, completed: true }, '2026-01-01T12:00:00.000Z'],
    [{ processed: 5, failed: 2, completed: true }, '2026-01-01T12:00:00.000Z'],
    [{ processed: 5, failed: 5, completed: true }, undefined],
    [{ processed: 5, failed: 0, completed: false }, undefined],
    [{ processed: 0, failed: 0, completed: true, countOnly: true }, undefined],
  ] as const)('gives a run or pass of %j the lastSuccessTime %s', (run, lastSuccessTime) => {
    const report = buildServiceReport('shipmentUpload', { count: 0, sample: [] }, { ...run, finishedAt });
    expect(report.lastSuccessTime).toBe(lastSuccessTime);
  });

  it('leaves failedRecords out when the store could not be read', () => {
    const report = buildServiceReport('orderDelivery', undefined, {
      finishedAt,
      processed: 0,
      failed: 0,
      completed: false,
    });
    expect(report).toEqual({
      name: 'orderDelivery',
      lastResult: { time: '2026-01-01T12:00:00.000Z', outcome: 'Failed', processed: 0, failed: 0 },
    });
  });
});

describe('truncateReason', () => {
  it('keeps short reasons and cuts long ones by characters, marking the cut', () => {
    expect(truncateReason('short')).toBe('short');
    const cut = truncateReason('😀'.repeat(300));
    expect(Array.from(cut)).toHaveLength(256);
    expect(cut.endsWith('😀…')).toBe(true);
  });
});

describe('the server-side apply body', () => {
  it("holds the owner's identity and only the runner's fields of its own service", () => {
    const report = buildServiceReport(
      'inventoryUpload',
      { count: 0, sample: [] },
      { finishedAt, processed: 1, failed: 0, completed: true },
    );
    expect(statusApplyBody(owner, 'switchyard.dev/v1alpha1', report)).toEqual({
      apiVersion: 'switchyard.dev/v1alpha1',
      kind: 'Cart',
      metadata: { name: 'web-shop', namespace: 'shop' },
      status: {
        services: [
          {
            name: 'inventoryUpload',
            failedRecords: { count: 0, sample: [] },
            lastResult: { time: '2026-01-01T12:00:00.000Z', outcome: 'Succeeded', processed: 1, failed: 0 },
            lastSuccessTime: '2026-01-01T12:00:00.000Z',
          },
        ],
      },
    });
  });

  it('is applied under a field manager per service, so services of one owner do not erase each other', () => {
    expect(runnerFieldManagerFor('orderDelivery')).toBe('switchyard-runner/orderDelivery');
    expect(runnerFieldManagerFor('inventory')).not.toBe(runnerFieldManagerFor('orderDelivery'));
  });
});

const reportAt = (time: string, processed: number, failedCount = 0): ServiceStatusReport =>
  buildServiceReport(
    'orderDelivery',
    {
      count: failedCount,
      sample: Array.from({ length: failedCount }, () => ({ id: 'X', reason: 'r', time: new Date(time) })),
    },
    { finishedAt: new Date(time), processed, failed: 0, completed: true },
  );

describe('differsOnlyInTimes', () => {
  it('ignores timestamps and nothing else', () => {
    expect(differsOnlyInTimes(reportAt('2026-01-01T00:00:00Z', 1, 1), reportAt('2026-01-01T00:05:00Z', 1, 1))).toBe(
      true,
    );
    expect(differsOnlyInTimes(reportAt('2026-01-01T00:00:00Z', 1), reportAt('2026-01-01T00:00:00Z', 2))).toBe(false);
    expect(differsOnlyInTimes(reportAt('2026-01-01T00:00:00Z', 1, 0), reportAt('2026-01-01T00:00:00Z', 1, 1))).toBe(
      false,
    );
  });
});

const backlogAt = (time: string, pending: number, lastDelivery?: string, pendingSince?: string): ServiceStatusReport =>
  buildServiceReport(
    'orderDelivery',
    { count: 0, sample: [] },
    { finishedAt: new Date(time), processed: 1, failed: 0, completed: true },
    {
      pending,
      ...(pendingSince && { pendingSince: new Date(pendingSince) }),
      ...(lastDelivery && { lastDelivery: new Date(lastDelivery) }),
    },
  );

describe('needsWrite', () => {
  it('writes the first report, and any that differs in more than its times', () => {
    expect(needsWrite(backlogAt('2026-01-01T00:00:00Z', 0), undefined)).toBe(true);
    expect(needsWrite(backlogAt('2026-01-01T00:01:00Z', 3), backlogAt('2026-01-01T00:00:00Z', 2))).toBe(true);
    expect(needsWrite(backlogAt('2026-01-01T00:01:00Z', 0), backlogAt('2026-01-01T00:00:00Z', 2))).toBe(true);
  });

  it('does not write for times alone: the last result, the last delivery, pendingSince', () => {
    const written = backlogAt('2026-01-01T00:00:00Z', 0, '2026-01-01T00:00:00Z');
    expect(needsWrite(backlogAt('2026-01-01T01:00:00Z', 0, '2026-01-01T01:00:00Z'), written)).toBe(false);
    const waiting = backlogAt('2026-01-01T00:00:00Z', 2, '2026-01-01T00:00:00Z', '2026-01-01T00:00:10Z');
    const later = backlogAt('2026-01-01T00:04:00Z', 2, '2026-01-01T00:04:00Z', '2026-01-01T00:04:10Z');
    expect(needsWrite(later, waiting)).toBe(false);
  });

  it('writes when records wait and the written last delivery lags by the refresh interval, so a delivering service does not look stalled', () => {
    const waiting = backlogAt('2026-01-01T00:00:00Z', 2, '2026-01-01T00:00:00Z');
    const lagging = new Date(Date.parse('2026-01-01T00:00:00Z') + deliveryTimeRefreshMs).toISOString();
    expect(needsWrite(backlogAt(lagging, 2, lagging), waiting)).toBe(true);
    // Nothing waits: a stale last delivery can mislead no one.
    const idle = backlogAt('2026-01-01T00:00:00Z', 0, '2026-01-01T00:00:00Z');
    expect(needsWrite(backlogAt(lagging, 0, lagging), idle)).toBe(false);
  });

  // One backlog seen by passes that end at different times: only the time the oldest record began to wait moves.
  const oldestAt = (finishedAt: string, oldest: string, outcome: { failed: number } = { failed: 0 }) =>
    buildServiceReport(
      'shipmentUpload',
      { count: outcome.failed, sample: [] },
      { finishedAt: new Date(finishedAt), processed: 1, completed: true, ...outcome },
      { pending: 3, oldestPending: new Date(oldest), lastDelivery: new Date('2026-01-01T00:00:00Z') },
    );

  it('writes when the oldest waiting record moved by the refresh interval, not for each record delivered before', () => {
    const written = oldestAt('2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z', { failed: 1 });
    const moved = (minutes: number) =>
      oldestAt('2026-01-01T00:00:00Z', new Date(Date.UTC(2026, 0, 1, 0, minutes)).toISOString(), { failed: 1 });
    expect(needsWrite(moved(1), written)).toBe(false);
    expect(needsWrite(moved(4), written)).toBe(false);
    expect(needsWrite(moved(deliveryTimeRefreshMs / 60_000), written)).toBe(true);
  });

  it('writes a later lastSuccessTime alone only while records wait, and then once per refresh interval', () => {
    const written = oldestAt('2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z');
    expect(needsWrite(oldestAt('2026-01-01T00:04:00Z', '2026-01-01T00:00:00Z'), written)).toBe(false);
    expect(needsWrite(oldestAt('2026-01-01T00:05:00Z', '2026-01-01T00:00:00Z'), written)).toBe(true);
    const idle = backlogAt('2026-01-01T00:00:00Z', 0);
    expect(needsWrite(backlogAt('2026-01-01T06:00:00Z', 0), idle)).toBe(false);
  });

  it('writes when a time appears or goes', () => {
    const waiting = backlogAt('2026-01-01T00:00:00Z', 2, undefined);
    expect(needsWrite(backlogAt('2026-01-01T00:00:01Z', 2, '2026-01-01T00:00:01Z'), waiting)).toBe(true);
    const since = backlogAt('2026-01-01T00:00:00Z', 2, undefined, '2026-01-01T00:00:00Z');
    expect(needsWrite(backlogAt('2026-01-01T00:00:01Z', 2, undefined), since)).toBe(true);
  });
});

describe('CoalescingReporter', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('writes at once, then at most once per interval with the latest report, and skips time-only changes', async () => {
    vi.useFakeTimers();
    const inner = new RecordingReporter();
    const reporter = new CoalescingReporter(inner, owner, 10_000, createLogger('silent'));

    reporter.offer(reportAt('2026-01-01T00:00:00Z', 1));
    await vi.advanceTimersByTimeAsync(0);
    expect(inner.reports.map((entry) => entry.report.lastResult.processed)).toEqual([1]);

    reporter.offer(reportAt('2026-01-01T00:00:01Z', 2));
    reporter.offer(reportAt('2026-01-01T00:00:02Z', 3));
    await vi.advanceTimersByTimeAsync(9_000);
    expect(inner.reports).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(inner.reports.map((entry) => entry.report.lastResult.processed)).toEqual([1, 3]);

    reporter.offer(reportAt('2026-01-01T00:01:00Z', 3));
    await vi.advanceTimersByTimeAsync(60_000);
    expect(inner.reports).toHaveLength(2);

    reporter.offer(reportAt('2026-01-01T00:02:00Z', 4));
    await reporter.flush();
    expect(inner.reports.map((entry) => entry.report.lastResult.processed)).toEqual([1, 3, 4]);
    expect(inner.reports.every((entry) => entry.owner === owner)).toBe(true);
  });

  it('writes a changed pending count and drops a pass that moved only the times', async () => {
    vi.useFakeTimers();
    const inner = new RecordingReporter();
    const reporter = new CoalescingReporter(inner, owner, 10_000, createLogger('silent'));
    reporter.offer(backlogAt('2026-01-01T00:00:00Z', 0, '2026-01-01T00:00:00Z'));
    await vi.advanceTimersByTimeAsync(10_000);
    reporter.offer(backlogAt('2026-01-01T00:00:10Z', 0, '2026-01-01T00:00:10Z'));
    await vi.advanceTimersByTimeAsync(10_000);
    reporter.offer(backlogAt('2026-01-01T00:00:20Z', 4, '2026-01-01T00:00:10Z', '2026-01-01T00:00:15Z'));
    await vi.advanceTimersByTimeAsync(10_000);
    reporter.offer(backlogAt('2026-01-01T00:00:30Z', 4, '2026-01-01T00:00:10Z', '2026-01-01T00:00:15Z'));
    await reporter.flush();
    expect(inner.reports.map((entry) => entry.report.pendingRecords)).toEqual([0, 4]);
  });

  it('writes again after a failed write even when only the time changed', async () => {
    let fail = true;
    const written: ServiceStatusReport[] = [];
    const reporter = new CoalescingReporter(
      {
        report(_owner, report) {
          if (fail) return Promise.reject(new Error('API server unavailable'));
          written.push(report);
          return Promise.resolve();
        },
      },
      owner,
      0,
      createLogger('silent'),
    );
    reporter.offer(reportAt('2026-01-01T00:00:00Z', 1));
    await reporter.flush();
    fail = false;
    reporter.offer(reportAt('2026-01-01T00:00:01Z', 1));
    await reporter.flush();
    expect(written).toHaveLength(1);
  });
});
