// Two replicas never reconcile at once; the leader gives the Lease up on SIGTERM so the standby takes over at once.
import * as k8s from '@kubernetes/client-node';
import { afterAll, describe, expect, it } from 'vitest';
import { eventually, testKubeConfig, useTestNamespace } from '../support/cluster.ts';
import { startOperator, type RunningOperator } from '../support/operator.ts';
import { applyYaml, waitForReady } from '../support/switchyard.ts';

const namespace = useTestNamespace('leader');
const coordination = testKubeConfig().makeApiClient(k8s.CoordinationV1Api);
const running: RunningOperator[] = [];

afterAll(async () => {
  await Promise.all(running.map((operator) => operator.stop()));
});

async function isLeading(operator: RunningOperator): Promise<boolean> {
  const metrics = await fetch(`http://127.0.0.1:${operator.port}/metrics`).then((response) => response.text());
  return /^switchyard_leader 1$/m.test(metrics);
}

describe('leader election', () => {
  it('lets one replica lead, and hands over promptly on SIGTERM', async () => {
    const first = await startOperator(namespace.name);
    running.push(first);
    // The second replica starts as a standby: startOperator waits for leadership, so start it by hand here.
    const secondStarted = startOperator(namespace.name);
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const lease = await coordination.readNamespacedLease({ name: 'switchyard-operator', namespace: namespace.name });
    expect(lease.spec?.holderIdentity).toBeTruthy();
    expect(await isLeading(first)).toBe(true);

    const stoppedAt = Date.now();
    await first.stop();
    running.splice(0, 1);
    const second = await secondStarted;
    running.push(second);
    // Well inside the 15 s lease: the lease was released, not left to expire.
    expect(Date.now() - stoppedAt).toBeLessThan(10_000);
    const handedOver = await coordination.readNamespacedLease({
      name: 'switchyard-operator',
      namespace: namespace.name,
    });
    expect(handedOver.spec?.holderIdentity).not.toBe(lease.spec?.holderIdentity);
    expect(handedOver.spec?.leaseTransitions).toBeGreaterThan(lease.spec?.leaseTransitions ?? 0);

    await applyYaml(
      namespace.name,
      `apiVersion: switchyard.dev/v1alpha1
kind: Merchant
metadata: { name: led }
spec: { warehouse: { url: "https://wms.example.com" } }`,
    );
    await waitForReady('Merchant', namespace.name, 'led');
    await eventually('the new leader to report leadership', async () => ((await isLeading(second)) ? true : undefined));
  });
});
