// The runner's lean status reporter against the real API server, authenticated as a pod of its ServiceAccount would
// be: a TokenRequest token, the cluster CA, KUBERNETES_SERVICE_HOST/PORT. The ServiceAccount, its Role and RoleBinding
// are exactly those the operator builds for the Merchant, and no operator runs, so every status field is the runner's.
import * as k8s from '@kubernetes/client-node';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import {
  createInClusterApi,
  detectInCluster,
  KubernetesApiError,
} from '../../../operator/runner/reporting/in-cluster-api.ts';
import {
  createKubernetesStatusReporter,
  runnerFieldManagerFor,
} from '../../../operator/runner/reporting/kubernetes-reporter.ts';
import type { ServiceStatusReport } from '../../../operator/runner/reporting/status-report.ts';
import { requestServiceAccountToken } from '../../cluster/service-account-token.ts';
import type { Merchant } from '../../../operator/api/v1alpha1/types.ts';
import { buildChildren } from '../../../operator/reconcile/desired.ts';
import { cartFixture, runnerSettingsFixture } from '../../support/fixtures.ts';
import { kubectl, testKubeConfig, useTestNamespace } from '../support/cluster.ts';
import { serviceAccountApi } from '../support/service-account-api.ts';
import { applyYaml, merchantYaml, core, getOwner } from '../support/switchyard.ts';

const shop = useTestNamespace('lean-reporter');

const merchant = merchantYaml('acme', { orderDelivery: 'Automatic', inventory: '2h' });

beforeAll(async () => {
  const namespace = shop.name;
  await applyYaml(namespace, merchant);
  await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: 'nobody' } } });
  // The runner identity as the operator builds it for this Merchant (owned by it, so its real uid), with one Cart,
  // `gone`, that has been deleted since: the Role names it until the Merchant's next reconcile.
  const owner = (await getOwner('Merchant', namespace, 'acme')) as Merchant;
  const gone = cartFixture({ name: 'gone' });
  const identity = buildChildren(
    { owner, merchantName: 'acme', settings: runnerSettingsFixture },
    [],
    [
      { owner, plans: [] },
      { owner: gone, plans: [] },
    ],
  ).filter((child) => ['ServiceAccount', 'Role', 'RoleBinding'].includes(child.kind));
  expect(identity.map((child) => child.kind)).toEqual(['ServiceAccount', 'Role', 'RoleBinding']);
  await kubectl(['apply', '--server-side', '-f', '-'], identity.map((child) => stringify(child)).join('---\n'));
});

const now = () => new Date().toISOString();

function report(name: ServiceStatusReport['name'], failed: number): ServiceStatusReport {
  return {
    name,
    failedRecords: {
      count: failed,
      sample: failed > 0 ? [{ id: 'order-1', reason: 'HTTP 422: ship method not mapped', time: now() }] : [],
    },
    lastResult: { time: now(), outcome: failed > 0 ? 'PartiallyFailed' : 'Succeeded', processed: 5, failed },
  };
}

describe('the lean status reporter, as the runner ServiceAccount', () => {
  it("writes each service's status entry under that service's own field manager", async () => {
    const owner = { kind: 'Merchant', namespace: shop.name, name: 'acme' } as const;
    const { api } = await serviceAccountApi(shop.name, 'acme-runner');
    const reporter = createKubernetesStatusReporter(api);
    await reporter.report(owner, report('orderDelivery', 2));
    await reporter.report(owner, report('inventory', 0));
    // A second report of one service replaces its entry and leaves the other's alone.
    await reporter.report(owner, report('orderDelivery', 1));

    const acme = await getOwner('Merchant', shop.name, 'acme');
    const services = Object.fromEntries((acme.status?.services ?? []).map((entry) => [entry.name, entry]));
    expect(Object.keys(services).sort()).toEqual(['inventory', 'orderDelivery']);
    expect(services.orderDelivery?.failedRecords?.count).toBe(1);
    expect(services.orderDelivery?.failedRecords?.sample?.[0]?.id).toBe('order-1');
    expect(services.orderDelivery?.lastResult?.outcome).toBe('PartiallyFailed');
    expect(services.inventory?.lastResult?.outcome).toBe('Succeeded');

    const managers = ((acme.metadata as k8s.V1ObjectMeta).managedFields ?? [])
      .filter((entry) => entry.subresource === 'status')
      .map((entry) => ({ manager: entry.manager, operation: entry.operation }));
    expect(managers).toEqual(
      expect.arrayContaining([
        { manager: runnerFieldManagerFor('orderDelivery'), operation: 'Apply' },
        { manager: runnerFieldManagerFor('inventory'), operation: 'Apply' },
      ]),
    );
    expect(runnerFieldManagerFor('inventory')).toBe('switchyard-runner/inventory');
  });

  it('records a run that failed as a whole as one Warning Event on its owner', async () => {
    const owner = { kind: 'Merchant', namespace: shop.name, name: 'acme' } as const;
    const { api } = await serviceAccountApi(shop.name, 'acme-runner');
    await createKubernetesStatusReporter(api).runFailed(owner, {
      service: 'inventory',
      mode: 'run',
      message: 'GET /inventory: HTTP 500 Internal Server Error',
    });
    const events = await testKubeConfig()
      .makeApiClient(k8s.EventsV1Api)
      .listNamespacedEvent({ namespace: shop.name, fieldSelector: 'regarding.name=acme,reason=RunFailed' });
    expect(events.items.map((event) => [event.type, event.action, event.reportingController, event.note])).toEqual([
      [
        'Warning',
        'Run',
        'switchyard.dev/switchyard-runner',
        'The inventory run could not do its work: GET /inventory: HTTP 500 Internal Server Error',
      ],
    ]);
  });

  it('reports a missing owner as 404 NotFound, in one short line', async () => {
    const { api } = await serviceAccountApi(shop.name, 'acme-runner');
    const error = await createKubernetesStatusReporter(api)
      .report({ kind: 'Cart', namespace: shop.name, name: 'gone' }, report('orderDownload', 0))
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(KubernetesApiError);
    expect(error).toMatchObject({ status: 404, reason: 'NotFound' });
    expect((error as Error).message).toBe(
      `PATCH /apis/switchyard.dev/v1alpha1/namespaces/${shop.name}/carts/gone/status: 404 NotFound: ` +
        'carts.switchyard.dev "gone" not found',
    );
  });

  it("reports the API server's validation as 422 Invalid, in one short line", async () => {
    const { api } = await serviceAccountApi(shop.name, 'acme-runner');
    const invalid = { ...report('orderDelivery', 0), lastResult: { ...report('orderDelivery', 0).lastResult } };
    (invalid.lastResult as { outcome: string }).outcome = 'Splendid';
    const error = await createKubernetesStatusReporter(api)
      .report({ kind: 'Merchant', namespace: shop.name, name: 'acme' }, invalid)
      .catch((caught: unknown) => caught);
    expect(error).toMatchObject({ status: 422, reason: 'Invalid' });
    const { message } = error as Error;
    expect(message).toMatch(/^PATCH \/apis\/switchyard\.dev\/v1alpha1\/namespaces\/\S+\/merchants\/acme\/status: 422 /);
    expect(message).toContain('Splendid');
    expect(message).not.toContain('\n');
    expect(message.length).toBeLessThan(450);
  });
});

describe('the lean status reporter, as a ServiceAccount without the binding', () => {
  it('fails with 403 Forbidden: status code and reason in one short line, no query, headers or body', async () => {
    const { api } = await serviceAccountApi(shop.name, 'nobody');
    const error = await createKubernetesStatusReporter(api)
      .report({ kind: 'Merchant', namespace: shop.name, name: 'acme' }, report('orderDelivery', 0))
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(KubernetesApiError);
    expect(error).toMatchObject({ status: 403, reason: 'Forbidden' });
    const { message } = error as Error;
    expect(message).toMatch(
      new RegExp(
        `^PATCH /apis/switchyard\\.dev/v1alpha1/namespaces/${shop.name}/merchants/acme/status: 403 Forbidden: `,
      ),
    );
    expect(message).toContain(`system:serviceaccount:${shop.name}:nobody`);
    expect(message).not.toMatch(/\n|fieldManager|Bearer|apiVersion/);
    expect(message.length).toBeLessThan(400);
  });
});

describe('the token as the kubelet rotates it', () => {
  it('is read again after a 401, and the request made once more with the new one', async () => {
    // A pod whose mounted token the API server no longer accepts; then the kubelet writes a fresh one.
    const { dir, env } = await serviceAccountApi(shop.name, 'acme-runner');
    writeFileSync(join(dir, 'token'), 'not-a-token');
    const detected = detectInCluster(env);
    if (!detected.ok) throw new Error(detected.reason);
    // The clock stands still: only the 401 can make the client read the token again.
    const api = createInClusterApi(detected.value, { now: () => 0 });
    try {
      const reporter = createKubernetesStatusReporter(api);
      const owner = { kind: 'Merchant', namespace: shop.name, name: 'acme' } as const;
      const refused = await reporter.report(owner, report('orderDelivery', 0)).catch((caught: unknown) => caught);
      expect(refused).toMatchObject({ status: 401, reason: 'Unauthorized' });

      const admin = testKubeConfig().makeApiClient(k8s.CoreV1Api);
      const { token } = await requestServiceAccountToken(admin, shop.name, 'acme-runner', 600);
      writeFileSync(join(dir, 'token'), token);
      await reporter.report(owner, report('orderDelivery', 3));
      const acme = await getOwner('Merchant', shop.name, 'acme');
      const entry = acme.status?.services?.find((service) => service.name === 'orderDelivery');
      expect(entry?.failedRecords?.count).toBe(3);
    } finally {
      api.close();
    }
  });
});
