// lastSuccessTime outlives the reports that do not succeed, against the real API server and as the runner's own
// ServiceAccount (whose Role, as the operator builds it, grants only patch on its owners' status): an apply drops the
// fields its manager leaves out, so a failed run carries the last success forward, read by a dry-run apply.
import type * as k8s from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Merchant } from '../../../operator/api/v1alpha1/types.ts';
import { buildChildren } from '../../../operator/reconcile/desired.ts';
import { createKubernetesStatusReporter } from '../../../operator/runner/reporting/kubernetes-reporter.ts';
import { buildServiceReport } from '../../../operator/runner/reporting/status-report.ts';
import { runnerSettingsFixture } from '../../support/fixtures.ts';
import { kubectl, useTestNamespace } from '../support/cluster.ts';
import { serviceAccountApi } from '../support/service-account-api.ts';
import { applyYaml, getOwner, merchantYaml } from '../support/switchyard.ts';

const shop = useTestNamespace('last-success');

beforeAll(async () => {
  await applyYaml(shop.name, merchantYaml('acme', { orderDelivery: 'Automatic' }));
  const owner = (await getOwner('Merchant', shop.name, 'acme')) as Merchant;
  const identity = buildChildren(
    { owner, merchantName: 'acme', settings: runnerSettingsFixture },
    [],
    [{ owner, plans: [] }],
  ).filter((child) => ['ServiceAccount', 'Role', 'RoleBinding'].includes(child.kind));
  await kubectl(['apply', '--server-side', '-f', '-'], identity.map((child) => stringify(child)).join('---\n'));
});

const run = (finishedAt: string, failed: number) =>
  buildServiceReport(
    'orderDelivery',
    { count: failed, sample: [] },
    { finishedAt: new Date(finishedAt), processed: 2, failed, completed: true },
    { pending: failed },
  );

describe('lastSuccessTime', () => {
  it('stays through failed runs, each a new process that reads it back with its patch permission alone', async () => {
    const owner = { kind: 'Merchant', namespace: shop.name, name: 'acme' } as const;
    const { api } = await serviceAccountApi(shop.name, 'acme-runner');
    const entry = async () => {
      const acme = await getOwner('Merchant', shop.name, 'acme');
      return { acme, service: acme.status?.services?.find((service) => service.name === 'orderDelivery') };
    };

    await createKubernetesStatusReporter(api).report(owner, run('2026-03-01T10:00:00Z', 0));
    await createKubernetesStatusReporter(api).report(owner, run('2026-03-01T10:15:00Z', 2));
    await createKubernetesStatusReporter(api).report(owner, run('2026-03-01T10:30:00Z', 2));
    const { acme, service } = await entry();
    expect(service).toMatchObject({
      lastResult: { time: '2026-03-01T10:30:00.000Z', outcome: 'Failed' },
      pendingRecords: 2,
      lastSuccessTime: '2026-03-01T10:00:00.000Z',
    });
    // The reads changed nothing: no manager of theirs stays.
    const managers = ((acme.metadata as k8s.V1ObjectMeta).managedFields ?? []).map((field) => field.manager);
    expect(managers.filter((manager) => manager?.endsWith('.read'))).toEqual([]);

    await createKubernetesStatusReporter(api).report(owner, run('2026-03-01T10:45:00Z', 1));
    expect((await entry()).service?.lastSuccessTime).toBe('2026-03-01T10:45:00.000Z');
  });
});
