import { describe, expect, it } from 'vitest';
import {
  buildChildren,
  buildCleanupJob,
  type OwnerContext,
  type ServicePlan,
} from '../../../operator/reconcile/desired.ts';
import { cartFixture, merchantFixture, runnerSettingsFixture } from '../../support/fixtures.ts';

const merchantContext: OwnerContext = {
  owner: merchantFixture(),
  merchantName: 'acme',
  settings: runnerSettingsFixture,
};
const plans: ServicePlan[] = [
  { service: 'orderDelivery', mode: 'automatic', suspended: false, batchSize: 100 },
  {
    service: 'shippingConfirmations',
    mode: 'interval',
    suspended: false,
    batchSize: 50,
    cron: '7,37 * * * *',
    timeZone: 'America/Chicago',
  },
  { service: 'inventory', mode: 'disabled' },
];

describe('buildChildren', () => {
  const children = buildChildren(merchantContext, plans);

  it('makes a watcher Deployment per Automatic service and a CronJob per interval service, nothing for Disabled', () => {
    expect(children.map((child) => `${child.kind}/${child.metadata!.name!}`)).toEqual([
      'ServiceAccount/acme-runner',
      'RoleBinding/acme-runner',
      'Deployment/acme-order-delivery',
      'CronJob/acme-shipping-confirmations',
    ]);
  });

  it('gives every child the owner reference and the labels', () => {
    for (const child of children) {
      expect(child.metadata!.ownerReferences).toEqual([
        {
          apiVersion: 'switchyard.dev/v1alpha1',
          kind: 'Merchant',
          name: 'acme',
          uid: 'uid-acme',
          controller: true,
          blockOwnerDeletion: true,
        },
      ]);
      expect(child.metadata!.labels).toMatchObject({
        'app.kubernetes.io/managed-by': 'switchyard',
        'app.kubernetes.io/name': 'switchyard-runner',
        'switchyard.dev/owner-kind': 'Merchant',
        'switchyard.dev/owner': 'acme',
      });
    }
  });

  it("gives the merchant's runners an identity bound to the runner ClusterRole, which its carts' runners use", () => {
    const binding = children.find((child) => child.kind === 'RoleBinding');
    expect(binding?.kind === 'RoleBinding' && binding.roleRef).toEqual({
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'ClusterRole',
      name: 'switchyard-runner',
    });
    expect(binding?.kind === 'RoleBinding' && binding.subjects).toEqual([
      { kind: 'ServiceAccount', name: 'acme-runner', namespace: 'shops' },
    ]);
    const cartChildren = buildChildren(
      { owner: cartFixture(), merchantName: 'acme', settings: runnerSettingsFixture },
      [{ service: 'shipmentUpload', mode: 'automatic', suspended: false, batchSize: 100 }],
    );
    expect(cartChildren.map((child) => child.kind)).toEqual(['Deployment']);
    const pod = cartChildren[0]!.kind === 'Deployment' ? cartChildren[0]!.spec!.template.spec : undefined;
    expect(pod?.serviceAccountName).toBe('acme-runner');
  });

  it('builds the CronJob as the CronJob rules want it', () => {
    const cronJob = children.find((child) => child.kind === 'CronJob')!;
    expect(cronJob.spec).toMatchObject({
      schedule: '7,37 * * * *',
      timeZone: 'America/Chicago',
      concurrencyPolicy: 'Forbid',
      startingDeadlineSeconds: 120,
      successfulJobsHistoryLimit: 3,
      failedJobsHistoryLimit: 1,
      suspend: false,
    });
    const container =
      cronJob.kind === 'CronJob' ? cronJob.spec.jobTemplate.spec!.template.spec!.containers[0] : undefined;
    expect(container?.args).toEqual(['run', '--service', 'shippingConfirmations']);
    expect(container?.env).toContainEqual({ name: 'SWITCHYARD_BATCH_SIZE', value: '50' });
  });

  it('runs the watcher in watch mode, scaled to zero when suspended', () => {
    const [deployment] = buildChildren({ ...merchantContext, owner: cartFixture() }, [
      { service: 'shipmentUpload', mode: 'automatic', suspended: true, batchSize: 1 },
    ]);
    expect(deployment!.kind).toBe('Deployment');
    const spec = deployment!.kind === 'Deployment' ? deployment!.spec! : undefined;
    expect(spec?.replicas).toBe(0);
    const pod = spec?.template.spec;
    expect(pod?.containers[0]!.args).toEqual(['watch', '--service', 'shipmentUpload']);
  });

  it('runs pods with the restricted security context, resources, and secrets only by reference', () => {
    const deployment = children.find((child) => child.kind === 'Deployment')!;
    const pod = deployment.kind === 'Deployment' ? deployment.spec!.template.spec! : undefined;
    const container = pod!.containers[0]!;
    expect(pod!.securityContext).toEqual({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(container.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(container.resources).toEqual(runnerSettingsFixture.resources);
    expect(container.env).toContainEqual({
      name: 'SWITCHYARD_ENDPOINT_TOKEN',
      valueFrom: { secretKeyRef: { name: 'acme-wms', key: 'token' } },
    });
    expect(container.env).toContainEqual({
      name: 'SWITCHYARD_DATABASE_URL',
      valueFrom: { secretKeyRef: { name: 'switchyard-hub-store', key: 'url' } },
    });
    expect(container.env).toContainEqual({ name: 'SWITCHYARD_ENDPOINT_URL', value: 'https://wms.example.com/api' });
  });

  it('gives every runner pod the configured image pull secrets, and none when there are none', () => {
    const withSecrets = { ...merchantContext, settings: { ...runnerSettingsFixture, imagePullSecrets: ['regcred'] } };
    const deployment = buildChildren(withSecrets, plans).find((child) => child.kind === 'Deployment')!;
    const cronJob = buildChildren(withSecrets, plans).find((child) => child.kind === 'CronJob')!;
    const cleanup = buildCleanupJob(withSecrets, plans[0] as Extract<ServicePlan, { mode: 'automatic' }>, new Date());
    for (const pod of [
      deployment.kind === 'Deployment' ? deployment.spec!.template.spec : undefined,
      cronJob.kind === 'CronJob' ? cronJob.spec.jobTemplate.spec!.template.spec : undefined,
      cleanup.spec!.template.spec,
    ]) {
      expect(pod?.imagePullSecrets).toEqual([{ name: 'regcred' }]);
    }
    const plain = children.find((child) => child.kind === 'Deployment')!;
    expect(plain.kind === 'Deployment' && plain.spec!.template.spec!).not.toHaveProperty('imagePullSecrets');
  });

  it("gives a Cart's runner its platform and its merchant, and no token without a Secret", () => {
    const [deployment] = buildChildren(
      { owner: cartFixture(), merchantName: 'acme', settings: runnerSettingsFixture },
      [{ service: 'shipmentUpload', mode: 'automatic', suspended: false, batchSize: 100 }],
    );
    const env = deployment!.kind === 'Deployment' ? deployment!.spec!.template.spec!.containers[0]!.env! : [];
    expect(env).toContainEqual({ name: 'SWITCHYARD_ENDPOINT_URL', value: 'https://cart.example.com/api' });
    expect(env).toContainEqual({ name: 'SWITCHYARD_MERCHANT', value: 'acme' });
    expect(env).toContainEqual({ name: 'SWITCHYARD_OWNER_KIND', value: 'Cart' });
    expect(env.some((variable) => variable.name === 'SWITCHYARD_ENDPOINT_TOKEN')).toBe(false);
  });

  it('never copies the owner labels or annotations (Argo CD tracking) to children', () => {
    const owner = merchantFixture();
    owner.metadata.labels = { 'app.kubernetes.io/instance': 'shops-app' };
    owner.metadata.annotations = { 'argocd.argoproj.io/tracking-id': 'shops-app:switchyard.dev/Merchant:shops/acme' };
    const built = buildChildren({ owner, merchantName: 'acme', settings: runnerSettingsFixture }, plans);
    expect(built.length).toBeGreaterThan(0);
    expect(JSON.stringify(built)).not.toContain('shops-app');
  });
});

describe('buildCleanupJob', () => {
  it('runs the cleanup once, records its scheduled time, and removes itself when finished', () => {
    const at = new Date('2026-11-27T15:42:00Z');
    const job = buildCleanupJob(
      merchantContext,
      { service: 'orderDelivery', mode: 'automatic', suspended: false, batchSize: 100 },
      at,
    );
    expect(job.metadata!.annotations).toEqual({ 'switchyard.dev/cleanup-time': '2026-11-27T15:42:00.000Z' });
    expect(job.metadata!.labels!['app.kubernetes.io/component']).toBe('cleanup');
    expect(job.spec!.ttlSecondsAfterFinished).toBeGreaterThan(3600);
    expect(job.spec!.template.spec!.containers[0]!.args).toEqual(['cleanup', '--service', 'orderDelivery']);
    expect(job.spec!.template.spec!.restartPolicy).toBe('Never');
  });
});
