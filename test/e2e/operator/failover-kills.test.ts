// Ten SIGKILLs of the operator while a Merchant and some twenty Carts are applied, changed and deleted: each process
// is killed a random moment (up to 3 s) after it takes the Lease, in the middle of its work, and the next one waits
// out the Lease as a restarted pod would. More changes are made while none runs; then the last one must converge to exactly the wanted children of every
// kind (CronJobs, the watcher Deployment, the runner identity, cleanup and migrate Jobs): every object Ready, no
// duplicate, no orphan (a child whose owner is gone, or an older incarnation of it), nothing unwanted left over, and
// stable (no child replaced once converged).
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hubSchemaVersion } from '../../../operator/api/runner-contract.ts';
import type { ServiceName } from '../../../operator/api/v1alpha1/services.ts';
import type { Owner } from '../../../operator/api/v1alpha1/types.ts';
import { scheduleSeed } from '../../../operator/reconcile/plan.ts';
import {
  childName,
  cleanupJobName,
  cleanupTimeAnnotation,
  componentLabel,
  migrateJobName,
  serviceLabel,
  watcherName,
} from '../../../operator/reconcile/names.ts';
import { cleanupTimesForDay } from '../../../operator/schedule/cleanup.ts';
import { addDaysToLocalDate, localDateOf } from '../../../operator/schedule/time-zone.ts';
import { childId, listManagedChildren, orphansAmong, runnerIdentityOf } from '../support/children.ts';
import { eventually, kubectl, useTestNamespace } from '../support/cluster.ts';
import { startOperator, type RunningOperator } from '../support/operator.ts';
import { applyYaml, apps, custom, readyCondition } from '../support/switchyard.ts';

const namespace = useTestNamespace('kills');
let current: RunningOperator | undefined;

afterAll(async () => {
  if (current?.running) await current.stop();
});

const seconds = (ms: number) => (ms / 1000).toFixed(1);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const merchantName = 'rush';
const timeZone = 'UTC';

// What is applied, as the test changes it: the final state decides which children are wanted.
type OrderDownload = 'default' | 'Disabled' | '30m';
interface CartModel {
  orderDownload: OrderDownload;
  shipmentUpload: 'Automatic' | 'Disabled';
  /** Services that were Automatic for a while and are not any more: their past cleanup Jobs may exist. */
  formerlyAutomatic: ServiceName[];
}
const carts = new Map<string, CartModel>();
const merchantModel = { services: '' };

const cartName = (index: number) => `${merchantName}-${index}`;
const defaultCart = (): CartModel => ({ orderDownload: 'default', shipmentUpload: 'Automatic', formerlyAutomatic: [] });

function merchantYaml(): string {
  return `apiVersion: switchyard.dev/v1alpha1
kind: Merchant
metadata: { name: ${merchantName} }
spec:
  timeZone: ${timeZone}
  warehouse: { url: "https://wms.example.com" }
  services: { ${merchantModel.services} }`;
}

function cartYaml(name: string): string {
  const model = carts.get(name)!;
  const services = [
    ...(model.orderDownload === 'default' ? [] : [`orderDownload: { schedule: ${model.orderDownload} }`]),
    ...(model.shipmentUpload === 'Automatic' ? [] : [`shipmentUpload: { schedule: ${model.shipmentUpload} }`]),
  ];
  return `apiVersion: switchyard.dev/v1alpha1
kind: Cart
metadata: { name: ${name} }
spec:
  merchantRef: { name: ${merchantName} }
  platform: { url: "https://cart.example.com" }
  services: { ${services.join(', ')} }`;
}

const applyCarts = (names: string[]) => applyYaml(namespace.name, names.map(cartYaml).join('\n---\n'));
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, index) => cartName(from + index));

/** The changes made while each operator process runs (by its number, 1 to 10), before it is killed. */
const rounds: Record<number, () => Promise<unknown>> = {
  1: async () => {
    for (const name of range(0, 19)) carts.set(name, defaultCart());
    await applyYaml(namespace.name, [merchantYaml(), ...range(0, 19).map(cartYaml)].join('\n---\n'));
  },
  3: async () => {
    // Children become unwanted (a Merchant CronJob, five Carts' CronJobs), schedules change in place, Carts go.
    merchantModel.services = 'shippingConfirmations: { schedule: Disabled }, inventory: { schedule: 2h }';
    for (const name of range(0, 4)) carts.get(name)!.orderDownload = 'Disabled';
    for (const name of range(5, 9)) carts.get(name)!.orderDownload = '30m';
    const gone = range(15, 19);
    for (const name of gone) carts.delete(name);
    await Promise.all([
      applyYaml(namespace.name, merchantYaml()),
      applyCarts(range(0, 9)),
      kubectl(['delete', 'carts', '-n', namespace.name, '--wait=false', ...gone]),
    ]);
  },
  5: async () => {
    // New Carts, and one deleted Cart back under its old name (a new object: its old children must not be adopted).
    const added = [...range(20, 22), cartName(15)];
    for (const name of added) carts.set(name, defaultCart());
    await applyCarts(added);
  },
  7: async () => {
    // The watcher serves fewer services.
    for (const name of range(13, 14)) {
      const model = carts.get(name)!;
      model.shipmentUpload = 'Disabled';
      model.formerlyAutomatic.push('shipmentUpload');
    }
    await applyCarts(range(13, 14));
  },
  9: async () => {
    // The watcher's pod template changes: a rollout while the operator is killed.
    merchantModel.services += ', orderDelivery: { batchSize: 50 }';
    await applyYaml(namespace.name, merchantYaml());
  },
  10: async () => {
    await kubectl(['delete', 'carts', '-n', namespace.name, '--wait=false', cartName(12)]);
    carts.delete(cartName(12));
  },
};

/** Changes made after the last kill, while no operator runs: the last one starts with work to do. */
async function whileNoneRuns(): Promise<void> {
  const added = range(23, 24);
  for (const name of added) carts.set(name, defaultCart());
  for (const name of range(5, 9)) carts.get(name)!.orderDownload = 'default';
  carts.delete(cartName(20));
  await Promise.all([
    applyCarts([...added, ...range(5, 9)]),
    kubectl(['delete', 'carts', '-n', namespace.name, '--wait=false', cartName(20)]),
  ]);
}

async function listOwners(): Promise<Owner[]> {
  const list = async (plural: string, kind: 'Merchant' | 'Cart') => {
    const result = (await custom.listNamespacedCustomObject({
      group: 'switchyard.dev',
      version: 'v1alpha1',
      namespace: namespace.name,
      plural,
    })) as { items: Owner[] };
    return result.items.map((item) => ({ ...item, kind }) as Owner);
  };
  return [...(await list('merchants', 'Merchant')), ...(await list('carts', 'Cart'))];
}

/** The cleanup slots of a service of an object from its creation up to `until`: each one's Job is due by then. */
function cleanupSlots(owner: Owner, service: ServiceName, until: Date): Date[] {
  const created = new Date(owner.metadata.creationTimestamp!);
  const slots: Date[] = [];
  const last = localDateOf(until, timeZone);
  for (let day = localDateOf(created, timeZone); day <= last; day = addDaysToLocalDate(day, 1)) {
    slots.push(...cleanupTimesForDay(scheduleSeed(owner, service), day, timeZone));
  }
  return slots.filter((slot) => slot > created && slot <= until);
}

/**
 * The children wanted now, by `Kind/name`: `required` must all exist, and nothing outside `allowed` may. They differ
 * only by cleanup Jobs whose slot just passed (the operator may not have started them yet) or whose service has
 * stopped being Automatic (a Job started meanwhile stays until its TTL).
 */
function wantedChildren(owners: readonly Owner[], now: Date): { required: Set<string>; allowed: Set<string> } {
  const required = new Set<string>([
    `Job/${migrateJobName(hubSchemaVersion)}`,
    `Deployment/${watcherName(merchantName)}`,
    `CronJob/${childName(merchantName, 'inventory')}`,
    ...runnerIdentityOf(merchantName).map(childId),
  ]);
  const allowed = new Set<string>();
  const settled = new Date(now.getTime() - 15_000);
  const cleanups = (owner: Owner, service: ServiceName, mustExist: boolean) => {
    for (const slot of cleanupSlots(owner, service, now)) {
      const id = `Job/${cleanupJobName(owner.metadata.name, service, slot)}`;
      if (mustExist && slot <= settled) required.add(id);
      else allowed.add(id);
    }
  };
  for (const owner of owners) {
    if (owner.kind === 'Merchant') {
      cleanups(owner, 'orderDelivery', true);
      continue;
    }
    const model = carts.get(owner.metadata.name);
    if (!model) continue;
    if (model.orderDownload !== 'Disabled') required.add(`CronJob/${childName(owner.metadata.name, 'orderDownload')}`);
    cleanups(owner, 'inventoryUpload', true);
    if (model.shipmentUpload === 'Automatic') cleanups(owner, 'shipmentUpload', true);
    for (const service of model.formerlyAutomatic) cleanups(owner, service, false);
  }
  for (const id of required) allowed.add(id);
  return { required, allowed };
}

interface Convergence {
  notReady: string[];
  /** The distinct Ready messages of the objects not Ready. */
  waitingFor: string[];
  missing: string[];
  unwanted: string[];
  orphans: string[];
  ownersMissing: string[];
  children: Awaited<ReturnType<typeof listManagedChildren>>;
}

async function convergence(): Promise<Convergence> {
  const now = new Date();
  const [owners, children] = await Promise.all([listOwners(), listManagedChildren(namespace.name)]);
  const { required, allowed } = wantedChildren(owners, now);
  const present = children.map(childId);
  const expectedOwners = [`Merchant/${merchantName}`, ...[...carts.keys()].map((name) => `Cart/${name}`)].sort();
  const actualOwners = owners.map((owner) => `${owner.kind}/${owner.metadata.name}`).sort();
  return {
    notReady: owners
      .filter((owner) => {
        const ready = readyCondition(owner);
        return ready?.status !== 'True' || owner.status?.observedGeneration !== owner.metadata.generation;
      })
      .map((owner) => `${owner.kind}/${owner.metadata.name} (${readyCondition(owner)?.reason ?? 'no Ready'})`),
    waitingFor: [
      ...new Set(
        owners
          .map((owner) => readyCondition(owner))
          .filter((ready) => ready && ready.status !== 'True')
          .map((ready) => ready!.message ?? ''),
      ),
    ],
    missing: [...required].filter((id) => !present.includes(id)),
    unwanted: present.filter((id) => !allowed.has(id)),
    orphans: orphansAmong(children, owners),
    ownersMissing: [
      ...expectedOwners.filter((id) => !actualOwners.includes(id)),
      ...actualOwners.filter((id) => !expectedOwners.includes(id)).map((id) => `${id} (should be gone)`),
    ],
    children,
  };
}

const converged = (state: Convergence) =>
  [state.notReady, state.missing, state.unwanted, state.orphans, state.ownersMissing].every(
    (list) => list.length === 0,
  ) && state.children.every((child) => !child.deleting);

describe('ten SIGKILLs while objects are applied', () => {
  it('converges to every object Ready with exactly the wanted children of every kind, none duplicated or orphaned', async () => {
    const began = performance.now();
    const kills: string[] = [];
    for (let round = 1; round <= 10; round += 1) {
      const startedAt = performance.now();
      current = await startOperator(namespace.name);
      const ledAfter = performance.now() - startedAt;
      const changes = rounds[round]?.();
      const delay = Math.round(Math.random() * 3_000);
      await sleep(delay);
      await current.kill();
      await changes;
      kills.push(`#${round}: led after ${seconds(ledAfter)} s, killed ${delay} ms later`);
    }
    console.log(`[failover] 10 SIGKILLs in ${seconds(performance.now() - began)} s:\n  ${kills.join('\n  ')}`);

    await whileNoneRuns();
    const lastStart = performance.now();
    current = await startOperator(namespace.name, { SWITCHYARD_LOG_LEVEL: 'debug' });
    const ledAt = performance.now();
    let state: Convergence | undefined;
    // What is still pending, each time it changes: where the time to converge goes.
    const timeline: string[] = [];
    let lastEntry = '';
    await eventually(
      'convergence',
      async () => {
        state = await convergence();
        const pending = JSON.stringify({
          notReady: state.notReady,
          missing: state.missing,
          unwanted: state.unwanted,
          orphans: state.orphans,
          ownersMissing: state.ownersMissing,
          deleting: state.children.filter((child) => child.deleting).map(childId),
        });
        const watcher = await apps
          .readNamespacedDeployment({ namespace: namespace.name, name: watcherName(merchantName) })
          .then(
            ({ metadata, status }) =>
              `watcher generation ${metadata?.generation} observed ${status?.observedGeneration} replicas ` +
              `${status?.replicas} updated ${status?.updatedReplicas} available ${status?.availableReplicas}`,
            () => 'no watcher',
          );
        const entry = `${JSON.stringify(state.waitingFor)}; ${watcher}; ${pending}`;
        if (entry !== lastEntry) timeline.push(`+${seconds(performance.now() - ledAt)} s ${entry}`);
        lastEntry = entry;
        return converged(state) ? true : undefined;
      },
      { timeoutMs: 180_000, intervalMs: 500 },
    ).catch((error: unknown) => {
      throw new Error(
        `not converged: ${JSON.stringify({ ...state, children: state?.children.map(childId) }, null, 2)}`,
        { cause: error },
      );
    });
    const convergedAt = performance.now();
    console.log(`[failover] pending while converging:\n  ${timeline.join('\n  ')}`);
    if (convergedAt - ledAt > 20_000) {
      const file = join(tmpdir(), `failover-kills-${namespace.name}.log`);
      writeFileSync(file, current.logs.join('\n'));
      console.log(`[failover] slow to converge: the last operator's log is in ${file}`);
    }
    console.log(
      `[failover] after 10 SIGKILLs: the 11th process led ${seconds(ledAt - lastStart)} s after its start and ` +
        `converged ${seconds(convergedAt - ledAt)} s after it led: ${carts.size} Carts Ready, ` +
        `${state!.children.length} children (${[...new Set(state!.children.map((child) => child.kind))].join(', ')})`,
    );

    // Exactly what is wanted, of every kind.
    const { required } = wantedChildren(await listOwners(), new Date());
    const byKind = (kind: string) =>
      state!.children
        .filter((child) => child.kind === kind)
        .map((child) => child.name)
        .sort();
    expect(byKind('Deployment')).toEqual([watcherName(merchantName)]);
    expect(byKind('CronJob')).toEqual(
      [
        childName(merchantName, 'inventory'),
        ...[...carts]
          .filter(([, model]) => model.orderDownload !== 'Disabled')
          .map(([name]) => childName(name, 'orderDownload')),
      ].sort(),
    );
    for (const { kind, name } of runnerIdentityOf(merchantName)) expect(byKind(kind)).toEqual([name]);
    const jobs = state!.children.filter((child) => child.kind === 'Job');
    expect(jobs.filter((job) => job.labels[componentLabel] === 'migrate').map((job) => job.name)).toEqual([
      migrateJobName(hubSchemaVersion),
    ]);
    for (const job of jobs.filter((each) => each.labels[componentLabel] === 'cleanup')) {
      // A cleanup Job is named by its slot: one per slot, owned by the object it cleans up for.
      const slot = new Date(job.annotations[cleanupTimeAnnotation]!);
      expect(job.name).toBe(cleanupJobName(job.controller!.name, job.labels[serviceLabel] as ServiceName, slot));
    }
    for (const id of required) expect(state!.children.map(childId)).toContain(id);
    expect(state!.orphans).toEqual([]);

    // Stable: nothing is replaced or added once converged (a fight between stale and fresh state would show here).
    await sleep(10_000);
    const later = await convergence();
    expect(converged(later)).toBe(true);
    expect(later.children.map((child) => `${childId(child)}@${child.uid}`)).toEqual(
      state!.children.map((child) => `${childId(child)}@${child.uid}`),
    );
    expect(current.running).toBe(true);

    // The check itself can fail: a stray child of the operator's kind, owned by nothing, is reported.
    await applyYaml(
      namespace.name,
      `apiVersion: v1
kind: ServiceAccount
metadata: { name: stray-runner, labels: { app.kubernetes.io/managed-by: switchyard } }`,
    );
    const stray = await convergence();
    expect(stray.unwanted).toEqual(['ServiceAccount/stray-runner']);
    expect(stray.orphans).toEqual(['ServiceAccount/stray-runner (no controller ownerReference)']);
    await kubectl(['delete', 'serviceaccount', '-n', namespace.name, 'stray-runner']);
  }, 900_000);
});
