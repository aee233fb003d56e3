// When things go wrong, on the local cluster: a write that keeps failing is retried with backoff and reported in one
// stable sentence (a handful of API writes in 30 seconds, not thousands); objects of someone else's that bear a
// child's name are reported and left exactly as they are, also when the Merchant goes; and a watcher pod that cannot
// start shows in the status in the pod's own words.
import * as k8s from '@kubernetes/client-node';
import { afterAll, describe, expect, it } from 'vitest';
import type { Owner } from '../../../operator/api/v1alpha1/types.ts';
import { eventually, isNotFound, kubectl, testKubeConfig, useTestNamespace } from '../support/cluster.ts';
import { startOperator, type RunningOperator } from '../support/operator.ts';
import { apps, applyYaml, core, custom, getOwner, listWorkloads, waitForReady } from '../support/switchyard.ts';

const namespace = useTestNamespace('faults');
const rbacApi = testKubeConfig().makeApiClient(k8s.RbacAuthorizationV1Api);
let operator: RunningOperator | undefined;

afterAll(async () => {
  await operator?.stop();
});

function merchant(name: string): string {
  return `apiVersion: switchyard.dev/v1alpha1
kind: Merchant
metadata: { name: ${name} }
spec:
  warehouse: { url: "https://wms.example.com/api" }
  services: { orderDelivery: { schedule: Automatic } }`;
}

const conditionOf = (owner: Owner, type: string) => owner.status?.conditions?.find((c) => c.type === type);

/** The sum of every sample of a counter on the operator's /metrics. */
async function counter(name: string): Promise<number> {
  const text = await fetch(`http://127.0.0.1:${operator!.port}/metrics`).then((response) => response.text());
  return [...text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+)$`, 'gm'))].reduce(
    (total, match) => total + Number(match[1]),
    0,
  );
}

function waitForCondition(name: string, type: string, reason: string): Promise<Owner> {
  return eventually(`Merchant ${name}: ${type}=True ${reason}`, async () => {
    const owner = await getOwner('Merchant', namespace.name, name);
    const condition = conditionOf(owner, type);
    return condition?.status === 'True' && condition.reason === reason ? owner : undefined;
  });
}

async function deleteMerchant(name: string): Promise<void> {
  const target = { group: 'switchyard.dev', version: 'v1alpha1', namespace: namespace.name, plural: 'merchants', name };
  await custom.deleteNamespacedCustomObject(target);
  await eventually(`Merchant ${name} to be gone`, async () => {
    try {
      await custom.getNamespacedCustomObject(target);
      return undefined;
    } catch (error) {
      return isNotFound(error) ? true : undefined;
    }
  });
}

describe('a write that keeps failing', () => {
  it('is retried with backoff, its status written once: at most 10 API writes in 30 s', async () => {
    // A watcher Deployment that is the Merchant's own (its labels and controller reference), made before the operator
    // starts, with another selector: applying the wanted one fails 422 (the selector is immutable), every time.
    await applyYaml(namespace.name, merchant('stuck'));
    const { uid } = (await getOwner('Merchant', namespace.name, 'stuck')).metadata;
    const labels = {
      'app.kubernetes.io/managed-by': 'switchyard',
      'app.kubernetes.io/name': 'switchyard-runner',
      'app.kubernetes.io/component': 'watcher',
      'switchyard.dev/owner-kind': 'Merchant',
      'switchyard.dev/owner': 'stuck',
    };
    await apps.createNamespacedDeployment({
      namespace: namespace.name,
      body: {
        metadata: {
          name: 'stuck-watcher',
          labels,
          ownerReferences: [
            { apiVersion: 'switchyard.dev/v1alpha1', kind: 'Merchant', name: 'stuck', uid: uid, controller: true },
          ],
        },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: 'stuck-before' } },
          template: {
            metadata: { labels: { app: 'stuck-before' } },
            spec: { containers: [{ name: 'runner', image: 'switchyard:before' }] },
          },
        },
      },
    });
    operator = await startOperator(namespace.name);

    const failing = await waitForCondition('stuck', 'Reconciling', 'ApplyFailed');
    const message = conditionOf(failing, 'Ready')!.message;
    expect(message).toMatch(
      /^could not apply Deployment stuck-watcher: 422 Invalid: Deployment\.apps "stuck-watcher" is invalid: spec\.selector: .*field is immutable$/,
    );
    expect(message).not.toMatch(/audit|Headers|HTTP-Code/i);

    const writesBefore = await counter('switchyard_api_writes_total');
    const statusWritesBefore = await counter('switchyard_status_writes_total');
    const reconcilesBefore = await counter('switchyard_reconcile_total');
    await new Promise((resolve) => setTimeout(resolve, 30_000));
    const writes = (await counter('switchyard_api_writes_total')) - writesBefore;
    const statusWrites = (await counter('switchyard_status_writes_total')) - statusWritesBefore;
    const reconciles = (await counter('switchyard_reconcile_total')) - reconcilesBefore;
    console.log(
      `[faults] in 30 s of a permanent apply failure: ${writes} API writes, ${statusWrites} status writes, ${reconciles} reconciles`,
    );
    expect(writes).toBeLessThanOrEqual(10);
    expect(statusWrites).toBe(0);
    // The same status all along: the one written at first.
    const after = await getOwner('Merchant', namespace.name, 'stuck');
    expect(after.metadata.resourceVersion).toBe(failing.metadata.resourceVersion);

    // Each failure is one log line: verb, object, code, reason and message; no stack, headers or body.
    const failures = operator.logs
      .filter((line) => line.includes('reconcile failed; retrying'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(failures.length).toBeGreaterThan(0);
    expect(failures.at(-1)).toMatchObject({
      verb: 'apply',
      object: `Deployment ${namespace.name}/stuck-watcher`,
      code: 422,
      reason: 'Invalid',
    });
    for (const line of failures) expect(Object.keys(line)).not.toContain('err');

    // Out of the way, the Deployment is made as wanted at once: backoff holds back retries, not events.
    await apps.deleteNamespacedDeployment({ namespace: namespace.name, name: 'stuck-watcher' });
    await waitForReady('Merchant', namespace.name, 'stuck');
  });
});

describe('objects of the same name that are not ours', () => {
  it('a foreign ServiceAccount: the Merchant is Stalled with NameConflict, and the ServiceAccount left as it is', async () => {
    operator ??= await startOperator(namespace.name);
    await applyYaml(
      namespace.name,
      `apiVersion: v1\nkind: ServiceAccount\nmetadata: { name: gitlab-runner, labels: { team: ci } }`,
    );
    const before = await core.readNamespacedServiceAccount({ namespace: namespace.name, name: 'gitlab-runner' });
    await applyYaml(namespace.name, merchant('gitlab'));

    const stalled = await waitForCondition('gitlab', 'Stalled', 'NameConflict');
    const message =
      'ServiceAccount gitlab-runner exists and is not ours (managed by kubectl-client-side-apply); rename or delete it';
    expect(conditionOf(stalled, 'Stalled')?.message).toBe(message);
    expect(conditionOf(stalled, 'Ready')).toMatchObject({ status: 'False', reason: 'NameConflict' });
    const events = JSON.parse(
      await kubectl([
        'get',
        'events',
        '-n',
        namespace.name,
        '--field-selector',
        'reason=NameConflict,involvedObject.name=gitlab',
        '-o',
        'json',
      ]),
    ) as { items: { type: string; message?: string; note?: string }[] };
    expect(events.items.map((event) => `${event.type}: ${event.message ?? event.note}`)).toContain(
      `Warning: ${message}`,
    );

    // Nothing of the Merchant's was made that would run as, or grant to, that ServiceAccount.
    const labelSelector = 'switchyard.dev/owner=gitlab,switchyard.dev/owner-kind=Merchant';
    expect((await rbacApi.listNamespacedRoleBinding({ namespace: namespace.name, labelSelector })).items).toEqual([]);
    expect((await listWorkloads(namespace.name)).filter((name) => name.includes('/gitlab-'))).toEqual([]);
    const untouched = await core.readNamespacedServiceAccount({ namespace: namespace.name, name: 'gitlab-runner' });
    expect(untouched.metadata?.resourceVersion).toBe(before.metadata?.resourceVersion);
    expect(untouched.metadata?.ownerReferences).toBeUndefined();

    // The Merchant goes; the ServiceAccount stays (it was never given an owner reference to be collected by).
    await deleteMerchant('gitlab');
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const still = await core.readNamespacedServiceAccount({ namespace: namespace.name, name: 'gitlab-runner' });
    expect(still.metadata?.resourceVersion).toBe(before.metadata?.resourceVersion);
  });

  it("a foreign watcher Deployment: NameConflict naming its managers; the Merchant's CronJobs are made, it is not", async () => {
    operator ??= await startOperator(namespace.name);
    await applyYaml(
      namespace.name,
      `apiVersion: apps/v1
kind: Deployment
metadata: { name: shop-watcher, labels: { app: shop-web } }
spec:
  replicas: 1
  selector: { matchLabels: { app: shop-web } }
  template:
    metadata: { labels: { app: shop-web } }
    spec: { containers: [{ name: web, image: "nginx:1.27" }] }`,
    );
    const before = await apps.readNamespacedDeployment({ namespace: namespace.name, name: 'shop-watcher' });
    await applyYaml(namespace.name, merchant('shop'));

    const stalled = await waitForCondition('shop', 'Stalled', 'NameConflict');
    // The Deployment controller writes its revision annotation, so it may be named as a manager too.
    expect(conditionOf(stalled, 'Stalled')?.message).toMatch(
      /^Deployment shop-watcher exists and is not ours \(managed by (kube-controller-manager, )?kubectl-client-side-apply\); rename or delete it$/,
    );
    const ownWorkloads = async () => (await listWorkloads(namespace.name)).filter((name) => name.includes('/shop-'));
    await eventually('the CronJobs of Merchant shop', async () => {
      const workloads = await ownWorkloads();
      return workloads.length === 2 ? workloads : undefined;
    });
    expect(await ownWorkloads()).toEqual(['CronJob/shop-inventory', 'CronJob/shop-shipping-confirmations']);
    const untouched = await apps.readNamespacedDeployment({ namespace: namespace.name, name: 'shop-watcher' });
    expect(untouched.metadata?.ownerReferences).toBeUndefined();
    expect(untouched.metadata?.managedFields?.map((entry) => entry.manager)).not.toContain('switchyard-operator');
    expect(untouched.spec?.template).toEqual(before.spec?.template);
    expect(untouched.metadata?.generation).toBe(before.metadata?.generation);

    await deleteMerchant('shop');
    await eventually('the CronJobs of Merchant shop to be collected', async () =>
      (await ownWorkloads()).every((name) => !name.startsWith('CronJob/')) ? true : undefined,
    );
    const still = await apps.readNamespacedDeployment({ namespace: namespace.name, name: 'shop-watcher' });
    expect(still.metadata?.ownerReferences).toBeUndefined();
    expect(still.spec?.template).toEqual(before.spec?.template);
  });
});

describe('a watcher pod that cannot start', () => {
  // kwok marks pods ready without running them; the kubelet's report of a missing Secret is written here by hand.
  // The switch to Stalled after 5 minutes is left to the unit tests (a fake clock): this proves the plumbing, that
  // the operator sees the watcher's pods (informer, RBAC) and says what they say.
  it("is reported in the pod's words while the Merchant waits for its watcher", async () => {
    operator ??= await startOperator(namespace.name);
    await applyYaml(namespace.name, merchant('wms'));
    await waitForReady('Merchant', namespace.name, 'wms');
    const pod = await eventually('the watcher pod of Merchant wms', async () => {
      const pods = await core.listNamespacedPod({
        namespace: namespace.name,
        labelSelector: 'app.kubernetes.io/component=watcher,switchyard.dev/owner=wms',
      });
      return pods.items.find((candidate) => candidate.status?.podIP && !candidate.metadata?.deletionTimestamp);
    });
    const name = pod.metadata!.name!;
    const now = new Date().toISOString();
    const reportedStatus = (ready: boolean) => ({
      status: {
        conditions: [
          { type: 'PodScheduled', status: 'True', lastTransitionTime: now },
          { type: 'Initialized', status: 'True', lastTransitionTime: now },
          { type: 'ContainersReady', status: ready ? 'True' : 'False', lastTransitionTime: now },
          { type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: now },
        ],
        containerStatuses: [
          {
            name: 'runner',
            image: pod.spec!.containers[0]!.image,
            imageID: '',
            ready,
            restartCount: 0,
            started: ready,
            state: ready
              ? { running: { startedAt: now } }
              : { waiting: { reason: 'CreateContainerConfigError', message: 'secret "wms-creds" not found' } },
          },
        ],
      },
    });
    const patchStatus = (ready: boolean) =>
      kubectl([
        'patch',
        'pod',
        name,
        '-n',
        namespace.name,
        '--subresource=status',
        '--type=merge',
        '-p',
        JSON.stringify(reportedStatus(ready)),
      ]);
    await patchStatus(false);

    const waiting = await waitForCondition('wms', 'Reconciling', 'WorkloadsProgressing');
    expect(conditionOf(waiting, 'Ready')).toMatchObject({
      status: 'False',
      message: `waiting for Deployment wms-watcher to serve this Merchant's Automatic services: pod ${name}: CreateContainerConfigError: secret "wms-creds" not found`,
    });

    // The kubelet finds the Secret: the watcher is available again, and so is the Merchant.
    await patchStatus(true);
    await waitForReady('Merchant', namespace.name, 'wms');
  });
});
