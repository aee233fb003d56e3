// When things go wrong, on the local cluster: a write that keeps failing is retried with backoff and reported in one
// stable sentence (a handful of API writes in 30 seconds, not thousands).
import { afterAll, describe, expect, it } from 'vitest';
import type { Owner } from '../../../operator/api/v1alpha1/types.ts';
import { eventually, useTestNamespace } from '../support/cluster.ts';
import { startOperator, type RunningOperator } from '../support/operator.ts';
import { apps, applyYaml, getOwner, waitForReady } from '../support/switchyard.ts';

const namespace = useTestNamespace('faults');
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
