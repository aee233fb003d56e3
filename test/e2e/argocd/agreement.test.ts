// One health model that every tool agrees on: for each case of the README's table ("When something goes wrong"), the
// Merchant or Cart as the operator and its runners would write it (built with the operator's pure status functions
// and the runner's report builder), judged by kstatus itself (sigs.k8s.io/cli-utils, built from the Go module proxy)
// and by the Argo CD health script under lua5.1. kstatus Current is Argo CD's Healthy (Suspended when suspended),
// InProgress and Terminating its Progressing, Failed its Degraded.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { conditionReasons as reasons } from '../../../operator/api/v1alpha1/conditions.ts';
import {
  apiVersion,
  type Cart,
  type Merchant,
  type Owner,
  type OwnerStatus,
  type ServiceStatus,
} from '../../../operator/api/v1alpha1/types.ts';
import type { Verdict } from '../../../operator/reconcile/conditions.ts';
import type { ServicePlan } from '../../../operator/reconcile/desired.ts';
import { deliveryHealth } from '../../../operator/reconcile/health.ts';
import { computeStatus, type ServiceObservation } from '../../../operator/reconcile/status.ts';
import { buildServiceReport, type ServiceStatusReport } from '../../../operator/runner/reporting/status-report.ts';
import type { Backlog } from '../../../operator/runner/store/backlog.ts';
import { nextRunTimes } from '../../../operator/schedule/index.ts';
import { repoRoot } from '../../cluster/local-cluster.ts';
import { computeKstatus, ensureKstatus, type KstatusResult, type KstatusStatus } from './kstatus.ts';
import { ensureLua, evaluateHealth, type Health } from './lua.ts';

const healthConfig = parse(readFileSync(join(repoRoot, 'config/argocd/argocd-cm-health.yaml'), 'utf8')) as {
  data: Record<string, string>;
};
const script = healthConfig.data['resource.customizations.health.switchyard.dev_Merchant']!;

const now = new Date('2026-05-04T12:00:00Z');
const minutesAgo = (minutes: number) => new Date(now.getTime() - minutes * 60_000);

// The Merchant `acme`: Order Delivery Automatic on its watcher, the two pull services on CronJobs.
const merchantPlans: ServicePlan[] = [
  { service: 'orderDelivery', mode: 'automatic', suspended: false, batchSize: 100 },
  {
    service: 'shippingConfirmations',
    mode: 'interval',
    suspended: false,
    batchSize: 100,
    cron: '7,37 * * * *',
    timeZone: 'UTC',
  },
  { service: 'inventory', mode: 'interval', suspended: false, batchSize: 100, cron: '12 * * * *', timeZone: 'UTC' },
];
const suspendedPlans = merchantPlans.map((plan) => ({ ...plan, suspended: true }) as ServicePlan);

/** What the operator observes of each service after applying its workloads, as reconcile.ts reports it. */
function observations(plans: readonly ServicePlan[]): ServiceObservation[] {
  return plans.flatMap((plan): ServiceObservation[] => {
    switch (plan.mode) {
      case 'disabled':
        return [{ service: plan.service, schedule: 'Disabled' }];
      case 'automatic':
        return [
          {
            service: plan.service,
            schedule: 'Automatic',
            ...(!plan.suspended && { workload: { kind: 'Deployment' as const, name: 'acme-watcher' } }),
            cleanup: { nextTimes: [new Date('2026-05-04T14:31:00Z'), new Date('2026-05-05T02:17:00Z')] },
          },
        ];
      case 'interval':
        return [
          {
            service: plan.service,
            schedule: plan.cron,
            workload: { kind: 'CronJob' as const, name: `acme-${plan.service}` },
            ...(!plan.suspended && { nextRunTime: nextRunTimes(plan.cron, plan.timeZone, now, 1)[0]! }),
            lastRunTime: minutesAgo(20),
          },
        ];
    }
  });
}

/** What Order Delivery's watcher reports: its failed records and its backlog. */
function orderDeliveryReport(failed: number, backlog: Backlog): ServiceStatusReport {
  return buildServiceReport(
    'orderDelivery',
    {
      count: failed,
      sample: Array.from({ length: failed }, (_, index) => ({
        id: `web-shop/${1000 + index}`,
        reason: 'HTTP 422: ship method GIFTWRAP is not mapped',
        time: minutesAgo(5 + index),
      })),
    },
    { finishedAt: minutesAgo(1), processed: 40, failed, completed: true },
    backlog,
  );
}
const delivering = orderDeliveryReport(0, { pending: 0, lastDelivery: minutesAgo(1) });

/** The status as the API server holds it: the operator's fields and each runner's, merged by service name. */
function statusOf(
  verdict: Verdict,
  generation: number,
  services: ServiceObservation[] | undefined,
  reports: readonly ServiceStatusReport[],
): OwnerStatus {
  const runnerServices = reports.map((report) => ({ ...report }) as ServiceStatus);
  const operator = computeStatus({ generation, verdict, current: { services: runnerServices }, services, now });
  const merged = (operator.services ?? []).map((entry) => ({
    ...entry,
    ...runnerServices.find((report) => report.name === entry.name),
  }));
  for (const report of runnerServices) {
    if (!merged.some((entry) => entry.name === report.name)) merged.push(report);
  }
  return { ...operator, ...(merged.length > 0 && { services: merged }) };
}

/** A verdict by reason, as reconcile.ts makes it (some reasons are declared by others' work in progress). */
const verdict = (state: Verdict['state'], reason: string, message: string) => ({ state, reason, message }) as Verdict;

const ready = verdict(
  'ready',
  reasons.reconciled,
  'running 2 CronJobs and 1 Automatic service on watcher acme-watcher',
);

/** The verdict reconcile.ts comes to once the workloads are in place: a stall of delivery first, then Ready. */
function settledVerdict(plans: readonly ServicePlan[], reports: readonly ServiceStatusReport[], suspended: boolean) {
  const health = deliveryHealth(plans, reports as ServiceStatus[], now);
  if (health.verdict) return health.verdict;
  return suspended
    ? verdict('ready', reasons.suspended, 'suspended: 2 CronJobs and 1 Automatic service paused')
    : ready;
}

function merchant(status: OwnerStatus | undefined, options: { generation?: number; suspend?: boolean } = {}) {
  const object: Merchant = {
    apiVersion,
    kind: 'Merchant',
    metadata: { name: 'acme', namespace: 'shops', uid: 'uid-acme', generation: options.generation ?? 2 },
    spec: {
      timeZone: 'UTC',
      suspend: options.suspend ?? false,
      warehouse: { type: 'http', url: 'https://wms.example.com/api' },
      services: {
        orderDelivery: { schedule: 'Automatic', suspend: false, batchSize: 100 },
        shippingConfirmations: { schedule: '30m', suspend: false, batchSize: 100 },
        inventory: { schedule: '1h', suspend: false, batchSize: 100 },
      },
    },
  };
  if (status) object.status = status;
  return object;
}

function cart(status: OwnerStatus): Cart {
  return {
    apiVersion,
    kind: 'Cart',
    metadata: { name: 'acme-web', namespace: 'shops', uid: 'uid-web', generation: 1 },
    spec: {
      merchantRef: { name: 'acme' },
      suspend: false,
      platform: { type: 'http', url: 'https://cart.example.com/api' },
      services: {
        orderDownload: { schedule: '15m', suspend: false, batchSize: 100 },
        shipmentUpload: { schedule: 'Automatic', suspend: false, batchSize: 100 },
        inventoryUpload: { schedule: 'Automatic', suspend: false, batchSize: 100 },
      },
    },
    status,
  };
}

type ArgoStatus = 'Healthy' | 'Progressing' | 'Degraded' | 'Suspended';

interface Row {
  /** The case, as the first column of the README's table says it. */
  name: string;
  object: Owner;
  ready: 'True' | 'False';
  reconciling: boolean;
  stalled: boolean;
  reason: string;
  kstatus: KstatusStatus;
  argo: ArgoStatus;
}

const waitingReport = (since: Date, lastDelivery: Date, pending: number) =>
  orderDeliveryReport(0, { pending, pendingSince: since, lastDelivery });

function rows(): Row[] {
  const healthy = merchant(
    statusOf(settledVerdict(merchantPlans, [delivering], false), 2, observations(merchantPlans), [delivering]),
  );
  const refused = orderDeliveryReport(3, { pending: 0, lastDelivery: minutesAgo(1) });
  const catchingUp = waitingReport(minutesAgo(20), minutesAgo(21), 40);
  const stopped = waitingReport(minutesAgo(60), minutesAgo(61), 12);
  const byVerdict = (
    v: Verdict,
    reports: ServiceStatusReport[] = [delivering],
    services = observations(merchantPlans),
  ) => statusOf(v, 2, services, reports);
  return [
    {
      name: 'Healthy',
      object: healthy,
      ready: 'True',
      reconciling: false,
      stalled: false,
      reason: reasons.reconciled,
      kstatus: 'Current',
      argo: 'Healthy',
    },
    {
      name: 'A few refused records',
      object: merchant(byVerdict(settledVerdict(merchantPlans, [refused], false), [refused])),
      ready: 'True',
      reconciling: false,
      stalled: false,
      reason: reasons.reconciled,
      kstatus: 'Current',
      argo: 'Healthy',
    },
    {
      name: 'Records waiting, fewer than three periods',
      object: merchant(byVerdict(settledVerdict(merchantPlans, [catchingUp], false), [catchingUp])),
      ready: 'True',
      reconciling: false,
      stalled: false,
      reason: reasons.reconciled,
      kstatus: 'Current',
      argo: 'Healthy',
    },
    {
      name: 'A service delivered nothing for three of its periods while records wait',
      object: merchant(byVerdict(settledVerdict(merchantPlans, [stopped], false), [stopped])),
      ready: 'False',
      reconciling: false,
      stalled: true,
      reason: reasons.deliveryStalled,
      kstatus: 'Failed',
      argo: 'Degraded',
    },
    {
      name: 'The watcher is rolling out',
      object: merchant(
        byVerdict(
          verdict(
            'progressing',
            reasons.workloadsProgressing,
            "waiting for Deployment acme-watcher to serve this Merchant's Automatic services",
          ),
        ),
      ),
      ready: 'False',
      reconciling: true,
      stalled: false,
      reason: reasons.workloadsProgressing,
      kstatus: 'InProgress',
      argo: 'Progressing',
    },
    {
      name: 'The watcher cannot start',
      object: merchant(
        byVerdict(
          verdict(
            'stalled',
            'WatcherUnavailable',
            'Deployment acme-watcher is not available after 5 minutes: CreateContainerConfigError: secret "acme-wms" not found',
          ),
        ),
      ),
      ready: 'False',
      reconciling: false,
      stalled: true,
      reason: 'WatcherUnavailable',
      kstatus: 'Failed',
      argo: 'Degraded',
    },
    {
      name: 'An invalid spec',
      object: merchant(
        statusOf(
          verdict(
            'stalled',
            reasons.invalidSpec,
            'spec.services.inventory.schedule: "*/20 * * * *" runs every 20 minutes; Inventory runs at most every 60 minutes',
          ),
          2,
          undefined,
          [delivering],
        ),
      ),
      ready: 'False',
      reconciling: false,
      stalled: true,
      reason: reasons.invalidSpec,
      kstatus: 'Failed',
      argo: 'Degraded',
    },
    {
      name: 'A secret reference names the hub store',
      object: merchant(
        statusOf(
          verdict(
            'stalled',
            'ForbiddenSecret',
            "spec.warehouse.credentialsSecretRef: switchyard-hub-store is the hub store's Secret",
          ),
          2,
          undefined,
          [],
        ),
      ),
      ready: 'False',
      reconciling: false,
      stalled: true,
      reason: 'ForbiddenSecret',
      kstatus: 'Failed',
      argo: 'Degraded',
    },
    {
      name: "Another's object has a child's name",
      object: merchant(
        byVerdict(
          verdict(
            'stalled',
            'NameConflict',
            "CronJob acme-inventory exists and is not this Merchant's (managed by kubectl)",
          ),
        ),
      ),
      ready: 'False',
      reconciling: false,
      stalled: true,
      reason: 'NameConflict',
      kstatus: 'Failed',
      argo: 'Degraded',
    },
    {
      name: 'The Merchant is missing',
      object: cart(
        statusOf(
          verdict(
            'progressing',
            reasons.merchantNotFound,
            'Merchant acme does not exist in namespace shops; waiting for it',
          ),
          1,
          undefined,
          [],
        ),
      ),
      ready: 'False',
      reconciling: true,
      stalled: false,
      reason: reasons.merchantNotFound,
      kstatus: 'InProgress',
      argo: 'Progressing',
    },
    {
      name: 'Writing a workload failed',
      object: merchant(
        statusOf(
          verdict(
            'retrying',
            reasons.applyFailed,
            'could not write the workloads: CronJob acme-inventory: 503 ServiceUnavailable',
          ),
          2,
          undefined,
          [delivering],
        ),
      ),
      ready: 'False',
      reconciling: true,
      stalled: false,
      reason: reasons.applyFailed,
      kstatus: 'InProgress',
      argo: 'Progressing',
    },
    {
      // Records wait while suspended; that is what suspension is for.
      name: 'Suspended',
      object: merchant(
        statusOf(settledVerdict(suspendedPlans, [stopped], true), 2, observations(suspendedPlans), [stopped]),
        { suspend: true },
      ),
      ready: 'True',
      reconciling: false,
      stalled: false,
      reason: reasons.suspended,
      kstatus: 'Current',
      argo: 'Suspended',
    },
    {
      name: 'The spec changed; the operator has not acted on it yet',
      object: merchant(healthy.status, { generation: 3 }),
      ready: 'True',
      reconciling: false,
      stalled: false,
      reason: reasons.reconciled,
      kstatus: 'InProgress',
      argo: 'Progressing',
    },
    {
      name: 'Being deleted',
      object: {
        ...healthy,
        metadata: { ...healthy.metadata, deletionTimestamp: '2026-05-04T11:59:00Z' },
      },
      ready: 'True',
      reconciling: false,
      stalled: false,
      reason: reasons.reconciled,
      kstatus: 'Terminating',
      argo: 'Progressing',
    },
  ];
}

/** Argo CD's status for kstatus' one, by the mapping the health script keeps. */
function argoFor(kstatus: KstatusResult, object: Owner): ArgoStatus {
  switch (kstatus.status) {
    case 'Current': {
      const readyReason = object.status?.conditions?.find((condition) => condition.type === 'Ready')?.reason;
      return object.spec.suspend && readyReason === reasons.suspended ? 'Suspended' : 'Healthy';
    }
    case 'InProgress':
    case 'Terminating':
      return 'Progressing';
    case 'Failed':
      return 'Degraded';
    default:
      throw new Error(`kstatus said ${kstatus.status}, which no state of the operator's should give`);
  }
}

const conditionOf = (object: Owner, type: string) => object.status?.conditions?.find((entry) => entry.type === type);

/** The cells of the first Markdown table after `heading` in README.md, backticks removed. */
function readmeTable(heading: string): string[][] {
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  const start = readme.indexOf(`\n${heading}\n`);
  expect(start, `README.md has a section "${heading}"`).toBeGreaterThan(-1);
  const lines = readme.slice(start).split('\n');
  const first = lines.findIndex((line) => line.startsWith('|'));
  const table = lines.slice(
    first,
    lines.findIndex((line, index) => index > first && !line.startsWith('|')),
  );
  return table.slice(2).map((line) =>
    line
      .split('|')
      .slice(1, -1)
      .map((cell) => cell.trim().replaceAll('`', '')),
  );
}

describe('every tool reads the same health', () => {
  let kstatusBinary: string;
  let judged: { row: Row; kstatus: KstatusResult; argo: Health }[];

  beforeAll(async () => {
    ensureLua();
    kstatusBinary = await ensureKstatus();
    const table = rows();
    const kstatus = await computeKstatus(
      kstatusBinary,
      table.map((row) => row.object),
    );
    const argo = await Promise.all(table.map((row) => evaluateHealth(script, row.object)));
    judged = table.map((row, index) => ({ row, kstatus: kstatus[index]!, argo: argo[index]! }));
  });

  it('gives each case the conditions of the table, from the operator and runner functions', () => {
    for (const { row } of judged) {
      const status = {
        ready: conditionOf(row.object, 'Ready')?.status,
        reconciling: conditionOf(row.object, 'Reconciling')?.status === 'True',
        stalled: conditionOf(row.object, 'Stalled')?.status === 'True',
        reason: conditionOf(row.object, 'Ready')?.reason,
      };
      expect(status, row.name).toEqual({
        ready: row.ready,
        reconciling: row.reconciling,
        stalled: row.stalled,
        reason: row.reason,
      });
      expect(Object.values(reasons), row.name).toContain(row.reason);
    }
  });

  it('is what kstatus says of each case', () => {
    expect(judged.map(({ row, kstatus }) => [row.name, kstatus.status])).toEqual(
      judged.map(({ row }) => [row.name, row.kstatus]),
    );
  });

  it("is what Argo CD's health script says of each case, by kstatus' mapping", () => {
    expect(judged.map(({ row, argo }) => [row.name, argo.status])).toEqual(
      judged.map(({ row, kstatus }) => [row.name, argoFor(kstatus, row.object)]),
    );
    expect(judged.map(({ row, argo }) => [row.name, argo.status])).toEqual(
      judged.map(({ row }) => [row.name, row.argo]),
    );
  });

  it('says why: the reason and message of the condition that decides, and the count of refused records', () => {
    for (const { row, argo } of judged) {
      if (row.argo === 'Degraded' || (row.argo === 'Progressing' && row.reconciling)) {
        const deciding = conditionOf(row.object, row.stalled ? 'Stalled' : 'Reconciling')!;
        expect(argo.message, row.name).toBe(`${deciding.reason}: ${deciding.message}`);
      }
    }
    const refused = judged.find(({ row }) => row.name === 'A few refused records')!;
    expect(refused.argo.message).toBe(
      `${conditionOf(refused.row.object, 'Ready')!.message}; 3 failed records (orderDelivery 3); see status.services`,
    );
    const stalled = judged.find(({ row }) => row.reason === reasons.deliveryStalled)!;
    expect(stalled.argo.message).toBe(
      'DeliveryStalled: orderDelivery has delivered nothing while records waited since 2026-05-04T11:00:00Z, more ' +
        'than 3 periods of 15 minutes: 12 records waiting (last delivery 2026-05-04T10:59:00Z)',
    );
  });

  it('is the table of README.md, "When something goes wrong", row for row', () => {
    const expected = judged.map(({ row }) => [
      row.name,
      row.ready,
      row.reconciling ? 'True' : '—',
      row.stalled ? 'True' : '—',
      row.reason,
      row.kstatus,
      row.argo,
    ]);
    expect(readmeTable('## When something goes wrong').map((cells) => cells.slice(0, 7))).toEqual(expected);
  });

  it("explains every reason of the operator's vocabulary in README.md", () => {
    const explained = readmeTable('### What each reason means').map((cells) => cells[0]);
    expect(explained.sort()).toEqual(Object.values(reasons).sort());
  });

  it("differs in one place only: before the operator's first status, Argo CD waits where kstatus cannot tell", async () => {
    const fresh = merchant(undefined, { generation: 1 });
    const [kstatus] = await computeKstatus(kstatusBinary, [fresh]);
    expect(kstatus!.status).toBe('Current');
    expect(await evaluateHealth(script, fresh)).toEqual({
      status: 'Progressing',
      message: 'Waiting for the operator to report status',
    });
  });
});
