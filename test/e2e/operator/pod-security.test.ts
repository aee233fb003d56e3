// Every pod the operator creates is admitted where the restricted Pod Security Standard is enforced: the watcher's, an
// interval run's (a Job made from its CronJob, as the CronJob controller would), a cleanup run's and the migrate
// Job's. The namespace's own controllers create those pods, so a violation shows only as their FailedCreate events;
// a Job whose pod breaks the standard shows that this namespace does enforce it.
import type * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hubSchemaVersion } from '../../../operator/api/runner-contract.ts';
import type { Merchant } from '../../../operator/api/v1alpha1/types.ts';
import { buildCleanupJob, type RunnerSettings } from '../../../operator/reconcile/desired.ts';
import { migrateJobName } from '../../../operator/reconcile/names.ts';
import { eventually, kubectl, useTestNamespace } from '../support/cluster.ts';
import { startOperator, type RunningOperator } from '../support/operator.ts';
import { applyYaml, cartYaml, merchantYaml, batch, core, getOwner, waitForWorkloads } from '../support/switchyard.ts';

const shop = useTestNamespace('restricted');
let operator: RunningOperator;

const merchantAndCart = [
  merchantYaml('acme', { orderDelivery: 'Automatic', shippingConfirmations: 'Disabled', inventory: '2h' }, 'acme-wms'),
  cartYaml('acme-web', 'acme', { orderDownload: '15m', shipmentUpload: 'Automatic', inventoryUpload: 'Disabled' }),
].join('---\n');

beforeAll(async () => {
  const namespace = shop.name;
  await kubectl([
    'label',
    'namespace',
    namespace,
    'pod-security.kubernetes.io/enforce=restricted',
    'pod-security.kubernetes.io/enforce-version=latest',
  ]);
  await kubectl(['create', 'secret', 'generic', 'switchyard-hub-store', '-n', namespace, '--from-literal=url=x']);
  await kubectl(['create', 'secret', 'generic', 'acme-wms', '-n', namespace, '--from-literal=token=x']);
  operator = await startOperator(namespace);
  await applyYaml(namespace, merchantAndCart);
  await waitForWorkloads(namespace, [
    'CronJob/acme-inventory',
    'CronJob/acme-web-order-download',
    'Deployment/acme-watcher',
  ]);
});

afterAll(async () => {
  await operator?.stop();
});

/** The pods that match the label selector, once there are any. */
function podsOf(what: string, labelSelector: string): Promise<k8s.V1Pod[]> {
  return eventually(`a pod of ${what}`, async () => {
    const pods = await core.listNamespacedPod({ namespace: shop.name, labelSelector });
    return pods.items.length > 0 ? pods.items : undefined;
  });
}

async function podSecurityRefusals(): Promise<string[]> {
  const events = await core.listNamespacedEvent({ namespace: shop.name, fieldSelector: 'reason=FailedCreate' });
  return events.items
    .filter((event) => /violates PodSecurity/.test(event.message ?? ''))
    .map((event) => `${event.involvedObject.kind}/${event.involvedObject.name}: ${event.message}`);
}

describe('a namespace that enforces the restricted Pod Security Standard', () => {
  it("admits the merchant's watcher pod", async () => {
    const pods = await podsOf('the watcher', 'app.kubernetes.io/component=watcher');
    expect(pods[0]!.metadata?.name).toMatch(/^acme-watcher-/);
  });

  it("admits an interval run's pod, made from its CronJob's job template", async () => {
    await kubectl(['create', 'job', 'acme-inventory-now', '--from=cronjob/acme-inventory', '-n', shop.name]);
    const job = await batch.readNamespacedJob({ namespace: shop.name, name: 'acme-inventory-now' });
    expect(job.spec?.activeDeadlineSeconds).toBe(2 * 3600 - 60);
    await podsOf('the interval run', 'job-name=acme-inventory-now');
  });

  it("admits a cleanup run's pod", async () => {
    const merchant = (await getOwner('Merchant', shop.name, 'acme')) as Merchant;
    // The operator's own settings for its pods; only the image and resources matter to admission, and not even those.
    const settings: RunnerSettings = {
      image: 'switchyard:0.1.0',
      imagePullPolicy: 'IfNotPresent',
      imagePullSecrets: [],
      databaseSecret: { name: 'switchyard-hub-store', key: 'url' },
      migrationSecretKey: 'url',
      logLevel: 'info',
      resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { cpu: '500m', memory: '256Mi' } },
    };
    const job = buildCleanupJob(
      { owner: merchant, merchantName: 'acme', settings },
      { service: 'orderDelivery', mode: 'automatic', suspended: false, batchSize: 100 },
      new Date('2026-01-01T08:00:00Z'),
    );
    await batch.createNamespacedJob({ namespace: shop.name, body: job });
    await podsOf('the cleanup run', `job-name=${job.metadata!.name!}`);
  });

  it("admits the migrate Job's pod", async () => {
    await podsOf('the migrate Job', `job-name=${migrateJobName(hubSchemaVersion)}`);
  });

  it('refused none of them, and does refuse a pod that breaks the standard', async () => {
    expect(await podSecurityRefusals()).toEqual([]);
    await batch.createNamespacedJob({
      namespace: shop.name,
      body: {
        metadata: { name: 'unrestricted' },
        spec: {
          backoffLimit: 0,
          template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'switchyard:0.1.0' }] } },
        },
      },
    });
    const refusals = await eventually('the Job controller to be refused', async () => {
      const found = await podSecurityRefusals();
      return found.length > 0 ? found : undefined;
    });
    expect(refusals).toHaveLength(1);
    expect(refusals[0]).toMatch(/^Job\/unrestricted: .*violates PodSecurity "restricted:latest"/);
  });
});
