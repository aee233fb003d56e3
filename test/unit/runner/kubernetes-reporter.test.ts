// The Kubernetes reporter keeps lastSuccessTime across reports that do not succeed: an apply drops what its manager
// leaves out, so a failed run or a Disabled service's count must carry the last success forward. The API here is a
// recording stand-in that answers a dry-run apply with the stored entry; test/e2e/runner/last-success.test.ts does
// the same against the real API server, as the runner's ServiceAccount.
import { describe, expect, it } from 'vitest';
import { apiVersion } from '../../../operator/api/v1alpha1/types.ts';
import { KubernetesApiError, type KubernetesApi } from '../../../operator/runner/reporting/in-cluster-api.ts';
import { createKubernetesStatusReporter } from '../../../operator/runner/reporting/kubernetes-reporter.ts';
import { statusApplyBody, type ServiceStatusReport } from '../../../operator/runner/reporting/status-report.ts';

const owner = { kind: 'Cart', namespace: 'shop', name: 'web' } as const;
const statusPath = '/apis/switchyard.dev/v1alpha1/namespaces/shop/carts/web/status';

interface Call {
  readonly query: URLSearchParams;
  readonly body: unknown;
}

/** Records the PATCHes; a dry run answers with `stored` as the service's entry, or fails when `stored` is an error. */
function recordingApi(stored: Record<string, unknown> | Error = {}): KubernetesApi & { calls: Call[] } {
  const calls: Call[] = [];
  return {
    calls,
    request(method, path, options) {
      const [where, query = ''] = path.split('?');
      expect(method).toBe('PATCH');
      expect(where).toBe(statusPath);
      const call = { query: new URLSearchParams(query), body: JSON.parse(options?.body ?? 'null') as unknown };
      calls.push(call);
      if (!call.query.has('dryRun')) return Promise.resolve(undefined);
      if (stored instanceof Error) return Promise.reject(stored);
      return Promise.resolve({ status: { services: [{ name: 'shipmentUpload', ...stored }, { name: 'other' }] } });
    },
    close: () => undefined,
  };
}

const lastResult = (time: string, outcome: 'Succeeded' | 'Failed') => ({ time, outcome, processed: 1, failed: 0 });
const succeeded: ServiceStatusReport = {
  name: 'shipmentUpload',
  lastResult: lastResult('2026-01-01T12:00:00.000Z', 'Succeeded'),
  lastSuccessTime: '2026-01-01T12:00:00.000Z',
};
const failed: ServiceStatusReport = {
  name: 'shipmentUpload',
  lastResult: lastResult('2026-01-01T13:00:00.000Z', 'Failed'),
};
const applied = (report: ServiceStatusReport) => statusApplyBody(owner, apiVersion, report);

describe('the Kubernetes reporter', () => {
  it('writes a success with one PATCH, and carries it into the next failure without reading', async () => {
    const api = recordingApi();
    const reporter = createKubernetesStatusReporter(api);
    await reporter.report(owner, succeeded);
    await reporter.report(owner, failed);
    expect(api.calls.map((call) => call.query.get('dryRun'))).toEqual([null, null]);
    expect(api.calls.map((call) => call.body)).toEqual([
      applied(succeeded),
      applied({ ...failed, lastSuccessTime: '2026-01-01T12:00:00.000Z' }),
    ]);
  });

  it('reads the last success once before its first failure (an interval run), with a dry run that changes nothing', async () => {
    const api = recordingApi({ lastSuccessTime: '2026-01-01T08:00:00Z', pendingRecords: 4 });
    const reporter = createKubernetesStatusReporter(api);
    await reporter.report(owner, failed);
    await reporter.report(owner, { ...failed, lastResult: lastResult('2026-01-01T14:00:00.000Z', 'Failed') });
    const [read, ...writes] = api.calls;
    expect(Object.fromEntries(read!.query)).toEqual({
      fieldManager: 'switchyard-runner/shipmentUpload.read',
      dryRun: 'All',
    });
    expect(read!.body).toEqual({
      apiVersion,
      kind: 'Cart',
      metadata: { name: 'web', namespace: 'shop' },
      status: { services: [{ name: 'shipmentUpload' }] },
    });
    expect(writes.map((call) => call.query.get('fieldManager'))).toEqual([
      'switchyard-runner/shipmentUpload',
      'switchyard-runner/shipmentUpload',
    ]);
    expect(writes.map((call) => call.body)).toEqual([
      applied({ ...failed, lastSuccessTime: '2026-01-01T08:00:00Z' }),
      applied({
        ...failed,
        lastResult: lastResult('2026-01-01T14:00:00.000Z', 'Failed'),
        lastSuccessTime: '2026-01-01T08:00:00Z',
      }),
    ]);
  });

  it('reports a failure without a last success when none is stored, or the read fails', async () => {
    for (const stored of [{}, new KubernetesApiError('timed out', undefined, undefined)]) {
      const api = recordingApi(stored);
      await createKubernetesStatusReporter(api).report(owner, failed);
      expect(api.calls.map((call) => call.body).at(-1)).toEqual(applied(failed));
    }
  });
});
