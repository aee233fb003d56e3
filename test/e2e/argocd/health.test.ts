// Argo CD support: the Lua health checks of config/argocd/argocd-cm-health.yaml, run with lua5.1 on Merchants and
// Carts whose status the real operator wrote, in each state it reports; and the operator's manners towards Argo CD
// (no spec writes, no tracking metadata copied to children, no status churn).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { runnerFieldManager } from '../../../operator/api/runner-contract.ts';
import type { Owner } from '../../../operator/api/v1alpha1/types.ts';
import { repoRoot } from '../../cluster/local-cluster.ts';
import { eventually, kubectl, testKubeConfig, useTestNamespace } from '../support/cluster.ts';
import { startOperator, type RunningOperator } from '../support/operator.ts';
import { applyYaml, batch, core, custom, getOwner, readyCondition, waitForReady } from '../support/switchyard.ts';
import { ensureLua, evaluateHealth, type Health } from './lua.ts';

type Kind = 'Merchant' | 'Cart';

const healthConfigFile = join(repoRoot, 'config/argocd/argocd-cm-health.yaml');
const healthConfig = parse(readFileSync(healthConfigFile, 'utf8')) as k8s.V1ConfigMap;
const scripts: Record<Kind, string | undefined> = {
  Merchant: healthConfig.data?.['resource.customizations.health.switchyard.dev_Merchant'],
  Cart: healthConfig.data?.['resource.customizations.health.switchyard.dev_Cart'],
};

const namespace = useTestNamespace('argocd');
const rbacApi = testKubeConfig().makeApiClient(k8s.RbacAuthorizationV1Api);
let operator: RunningOperator | undefined;

beforeAll(async () => {
  ensureLua();
  operator = await startOperator(namespace.name);
});
afterAll(async () => {
  await operator?.stop();
});

async function healthOf(kind: Kind, name: string): Promise<{ live: Owner; health: Health }> {
  const live = await getOwner(kind, namespace.name, name);
  return { live, health: await evaluateHealth(scripts[kind]!, live) };
}

function condition(owner: Owner, type: string) {
  return owner.status?.conditions?.find((candidate) => candidate.type === type);
}

/** Waits until the operator has written a status for the current generation that satisfies `accept`. */
function waitForStatus(kind: Kind, name: string, what: string, accept: (owner: Owner) => boolean) {
  return eventually(`${kind} ${name}: ${what}`, async () => {
    const owner = await getOwner(kind, namespace.name, name);
    const current = owner.status?.observedGeneration === owner.metadata.generation;
    return current && accept(owner) ? owner : undefined;
  });
}

/** Reports for one service as its runner does: server-side apply of its fields to /status as switchyard-runner. */
async function reportAsRunner(kind: Kind, name: string, service: Record<string, unknown>): Promise<void> {
  await custom.patchNamespacedCustomObjectStatus(
    {
      group: 'switchyard.dev',
      version: 'v1alpha1',
      namespace: namespace.name,
      plural: kind === 'Merchant' ? 'merchants' : 'carts',
      name,
      body: {
        apiVersion: 'switchyard.dev/v1alpha1',
        kind,
        metadata: { name, namespace: namespace.name },
        status: { services: [service] },
      },
      fieldManager: runnerFieldManager,
      force: true,
    },
    k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.ServerSideApply),
  );
}

function reportFailedRecords(kind: Kind, name: string, service: string, count: number): Promise<void> {
  return reportAsRunner(kind, name, { name: service, failedRecords: { count } });
}

const trackedBy = 'shops-merchants';
const trackingAnnotation = 'argocd.argoproj.io/tracking-id';

// Interval schedules only: no watcher Deployments, so no state here waits on pods becoming available.
const intervalMerchant = (name: string, extraSpec = '') => `
apiVersion: switchyard.dev/v1alpha1
kind: Merchant
metadata:
  name: ${name}
  labels: { app.kubernetes.io/instance: ${trackedBy} }
  annotations: { ${trackingAnnotation}: "${trackedBy}:switchyard.dev/Merchant:${namespace.name}/${name}" }
spec:
  warehouse: { url: "https://wms.example.com/api" }
  services:
    orderDelivery: { schedule: 10m }
${extraSpec}`;

const intervalCart = (name: string, merchant: string, orderDownload = '15m') => `
apiVersion: switchyard.dev/v1alpha1
kind: Cart
metadata: { name: ${name} }
spec:
  merchantRef: { name: ${merchant} }
  platform: { url: "https://cart.example.com/api" }
  services:
    orderDownload: { schedule: "${orderDownload}" }
    shipmentUpload: { schedule: 10m }
    inventoryUpload: { schedule: 1h }`;

describe('config/argocd/argocd-cm-health.yaml', () => {
  it('holds one health script for both kinds, in a ConfigMap the API server accepts', async () => {
    expect(scripts.Merchant).toContain('obj.status');
    expect(scripts.Cart).toBe(scripts.Merchant);
    const inTestNamespace = { ...healthConfig, metadata: { ...healthConfig.metadata, namespace: namespace.name } };
    const result = await kubectl(['apply', '--dry-run=server', '-f', '-'], JSON.stringify(inTestNamespace));
    expect(result.trim()).toBe('configmap/argocd-cm created (server dry run)');
  });
});

describe('the health of objects the operator reported on', () => {
  it('is Healthy for a Merchant and a Cart the operator reconciled', async () => {
    await applyYaml(namespace.name, [intervalMerchant('steady'), intervalCart('steady-web', 'steady')].join('---'));
    for (const [kind, name] of [
      ['Merchant', 'steady'],
      ['Cart', 'steady-web'],
    ] as const) {
      await waitForReady(kind, namespace.name, name);
      const { live, health } = await healthOf(kind, name);
      expect(health).toEqual({ status: 'Healthy', message: readyCondition(live)?.message });
    }
  });

  it('is Degraded for a Cart stalled on an invalid spec (a valid cron, too frequent)', async () => {
    await applyYaml(namespace.name, intervalCart('too-frequent', 'steady', '*/2 * * * *'));
    const stalled = await waitForStatus('Cart', 'too-frequent', 'Stalled', (owner) => {
      return condition(owner, 'Stalled')?.status === 'True';
    });
    expect(condition(stalled, 'Stalled')?.reason).toBe('InvalidSpec');
    const { health } = await healthOf('Cart', 'too-frequent');
    expect(health.status).toBe('Degraded');
    expect(health.message).toBe(`InvalidSpec: ${condition(stalled, 'Stalled')?.message}`);
  });

  it('is Progressing for a Cart whose Merchant does not exist (Ready=False, Reconciling=True)', async () => {
    await applyYaml(namespace.name, intervalCart('orphan', 'nobody'));
    const waiting = await waitForStatus('Cart', 'orphan', 'MerchantNotFound', (owner) => {
      return readyCondition(owner)?.reason === 'MerchantNotFound';
    });
    expect(readyCondition(waiting)?.status).toBe('False');
    expect(condition(waiting, 'Reconciling')?.status).toBe('True');
    const { health } = await healthOf('Cart', 'orphan');
    expect(health.status).toBe('Progressing');
    expect(health.message).toMatch(/^MerchantNotFound: Merchant nobody does not exist/);
  });

  it('is Suspended for a suspended Merchant', async () => {
    // Defaults include an Automatic service: suspended, it leaves the watcher, so there is nothing to wait for.
    await applyYaml(
      namespace.name,
      `apiVersion: switchyard.dev/v1alpha1
kind: Merchant
metadata: { name: paused }
spec: { suspend: true, warehouse: { url: "https://wms.example.com/api" } }`,
    );
    const paused = await waitForReady('Merchant', namespace.name, 'paused');
    expect(readyCondition(paused)?.reason).toBe('Suspended');
    const { health } = await healthOf('Merchant', 'paused');
    expect(health).toEqual({ status: 'Suspended', message: readyCondition(paused)?.message });
  });

  it('stays Healthy while a runner reports refused records, and counts them in its message', async () => {
    await applyYaml(namespace.name, intervalMerchant('failing'));
    await waitForReady('Merchant', namespace.name, 'failing');
    await reportFailedRecords('Merchant', 'failing', 'inventory', 3);
    const failing = await waitForStatus('Merchant', 'failing', 'failedRecords 3', (owner) => {
      return owner.status?.failedRecords === 3;
    });
    expect(readyCondition(failing)?.status).toBe('True');
    expect(await healthOf('Merchant', 'failing').then(({ health }) => health)).toEqual({
      status: 'Healthy',
      message: `${readyCondition(failing)?.message}; 3 failed records (inventory 3); see status.services`,
    });

    await reportFailedRecords('Merchant', 'failing', 'inventory', 0);
    await waitForStatus('Merchant', 'failing', 'failedRecords 0', (owner) => owner.status?.failedRecords === 0);
    const { live, health } = await healthOf('Merchant', 'failing');
    expect(health).toEqual({ status: 'Healthy', message: readyCondition(live)?.message });
  });

  // Enable once operator/reconcile/reconcile.ts judges delivery with operator/reconcile/health.ts.
  it('is Degraded while a service has stopped delivering, and Healthy again once it delivers', async () => {
    await applyYaml(namespace.name, intervalMerchant('stopped'));
    await waitForReady('Merchant', namespace.name, 'stopped');
    // orderDelivery runs every 10 minutes: three periods are 30 minutes.
    const longAgo = new Date(Date.now() - 2 * 3600_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    await reportAsRunner('Merchant', 'stopped', {
      name: 'orderDelivery',
      pendingRecords: 5,
      pendingSince: longAgo,
      lastDeliveryTime: longAgo,
    });
    const stalled = await waitForStatus('Merchant', 'stopped', 'DeliveryStalled', (owner) => {
      return condition(owner, 'Stalled')?.reason === 'DeliveryStalled';
    });
    expect(readyCondition(stalled)?.status).toBe('False');
    expect(condition(stalled, 'Stalled')?.message).toBe(
      `orderDelivery has delivered nothing while records waited since ${longAgo}, more than 3 periods of 10 minutes: ` +
        `5 records waiting (last delivery ${longAgo})`,
    );
    expect((await healthOf('Merchant', 'stopped')).health).toEqual({
      status: 'Degraded',
      message: `DeliveryStalled: ${condition(stalled, 'Stalled')?.message}`,
    });

    await reportAsRunner('Merchant', 'stopped', {
      name: 'orderDelivery',
      pendingRecords: 0,
      lastDeliveryTime: new Date().toISOString(),
    });
    await waitForReady('Merchant', namespace.name, 'stopped');
    expect((await healthOf('Merchant', 'stopped')).health.status).toBe('Healthy');
  });
});

describe("the operator's manners towards Argo CD", () => {
  it("copies neither Argo CD's tracking annotation nor app.kubernetes.io/instance to the children", async () => {
    const labelSelector = 'switchyard.dev/owner=steady,switchyard.dev/owner-kind=Merchant';
    const [cronJobs, serviceAccounts, roleBindings] = await Promise.all([
      batch.listNamespacedCronJob({ namespace: namespace.name, labelSelector }),
      core.listNamespacedServiceAccount({ namespace: namespace.name, labelSelector }),
      rbacApi.listNamespacedRoleBinding({ namespace: namespace.name, labelSelector }),
    ]);
    // List items carry no kind: name them by the list they came from.
    const children = [
      ...cronJobs.items.map((child) => ({ kind: 'CronJob', child })),
      ...serviceAccounts.items.map((child) => ({ kind: 'ServiceAccount', child })),
      ...roleBindings.items.map((child) => ({ kind: 'RoleBinding', child })),
    ];
    expect(children.map(({ kind, child }) => `${kind}/${child.metadata?.name}`).sort()).toEqual([
      'CronJob/steady-inventory',
      'CronJob/steady-order-delivery',
      'CronJob/steady-shipping-confirmations',
      'RoleBinding/steady-runner-status',
      'ServiceAccount/steady-runner',
    ]);
    for (const { child } of children) {
      expect(child.metadata?.labels?.['app.kubernetes.io/instance']).toBeUndefined();
      expect(child.metadata?.annotations?.[trackingAnnotation]).toBeUndefined();
      const template = (child as k8s.V1CronJob).spec?.jobTemplate.spec?.template.metadata;
      expect(template?.labels?.['app.kubernetes.io/instance']).toBeUndefined();
    }
  });

  it('never writes spec: its field managers own status only', async () => {
    const steady = await getOwner('Merchant', namespace.name, 'steady');
    const operatorEntries = ((steady.metadata as k8s.V1ObjectMeta).managedFields ?? []).filter((entry) =>
      entry.manager?.startsWith('switchyard'),
    );
    expect(operatorEntries.length).toBeGreaterThan(0);
    for (const entry of operatorEntries) expect(entry.subresource).toBe('status');
  });

  it('leaves status alone when a reconcile finds nothing changed (no heartbeat)', async () => {
    const reconciles = async () => {
      const metrics = await fetch(`http://127.0.0.1:${operator!.port}/metrics`).then((response) => response.text());
      const sample = /^switchyard_reconcile_total\{kind="Merchant",result="success"\} (\d+)$/m.exec(metrics);
      return Number(sample?.[1] ?? 0);
    };
    // The suspended Merchant: it has no next run times, which would rightly change its status as they pass.
    const before = await getOwner('Merchant', namespace.name, 'paused');
    const reconcilesBefore = await reconciles();
    // A change to a child queues its owner for a reconcile that has nothing to do.
    await kubectl(['annotate', 'cronjob', 'paused-inventory', '-n', namespace.name, 'example.com/touched=yes']);
    await eventually('a Merchant reconcile', async () => ((await reconciles()) > reconcilesBefore ? true : undefined));
    const after = await getOwner('Merchant', namespace.name, 'paused');
    expect(after.metadata.resourceVersion).toBe(before.metadata.resourceVersion);
  });
});

describe('the health of objects the operator has not caught up with', () => {
  beforeAll(async () => {
    await operator?.stop();
    operator = undefined;
  });

  it('is Progressing when the spec is newer than the status (observedGeneration behind)', async () => {
    await applyYaml(namespace.name, intervalMerchant('steady', '    inventory: { schedule: 2h }'));
    const { live, health } = await healthOf('Merchant', 'steady');
    expect(live.status?.observedGeneration).toBeLessThan(live.metadata.generation!);
    expect(health).toEqual({
      status: 'Progressing',
      message: `Waiting for the operator to act on generation ${live.metadata.generation}`,
    });
  });

  it('is Progressing before the operator reports any status', async () => {
    await applyYaml(namespace.name, intervalMerchant('fresh'));
    const { live, health } = await healthOf('Merchant', 'fresh');
    expect(live.status).toBeUndefined();
    expect(health).toEqual({ status: 'Progressing', message: 'Waiting for the operator to report status' });
  });
});
