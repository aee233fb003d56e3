// The runner's imperative shell: opens the hub store within its connection budget, binds the configured services to
// their connectors, runs them in the requested mode and reports the outcome to the owners' status. main.ts calls it
// with the real reporter; tests call it in-process with a recording one.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { runnerEnv, runnerFieldManager } from '../api/runner-contract.ts';
import type { ServiceName } from '../api/v1alpha1/services.ts';
import type { MigrateConfig, OwnerRef, RunnerConfig, ServiceRunConfig, WatchConfig } from './config.ts';
import type { DeliveryOutcome } from './connectors/connector.ts';
import { createConnectors } from './connectors/create-connector.ts';
import { loggableUrl } from './log.ts';
import { CoalescingReporter } from './reporting/coalescing-reporter.ts';
import type { StatusReporter } from './reporting/reporter.ts';
import { buildServiceReport, maxSampleSize } from './reporting/status-report.ts';
import { BackoffGate } from './services/backoff-gate.ts';
import { bindService, type Connectors } from './services/bindings.ts';
import type { DeliveryOptions } from './services/deliver.ts';
import { startHealthServer, type Listening } from './services/health-server.ts';
import { WatcherMetrics, type DeliveryOutcomeLabel } from './services/watcher-metrics.ts';
import { runOnce } from './services/run-once.ts';
import type { Tally } from './services/tally.ts';
import { watchDeliveries, type WatchedDelivery } from './services/watch.ts';
import { BacklogTracker, deliveryBacklog, type Backlog } from './store/backlog.ts';
import { createPool, type Pool } from './store/database.ts';
import type { FailureSummary } from './store/failures.ts';
import { registerCart, syncMerchantCarts } from './store/carts.ts';
import { migrate } from './store/migrate.ts';
import { waitForConnection, waitForSchema } from './store/readiness.ts';

export interface RunnerDependencies {
  readonly log: Logger;
  readonly reporter: StatusReporter;
  /** Ends watch mode (SIGTERM), and the waits for the hub store; run and cleanup finish their work regardless. */
  readonly signal: AbortSignal;
  /** Automatic mode writes status at most this often per service (default 10 s). */
  readonly statusIntervalMs?: number;
  /** How long a run or cleanup waits for the hub store (a full server, a migration) before it gives up (2 min). */
  readonly storeWaitMs?: number;
}

export const exitCodes = { ok: 0, couldNotWork: 1 } as const;

/** Runs the configured mode; resolves with the process exit code. */
export async function runRunner(config: RunnerConfig, deps: RunnerDependencies): Promise<number> {
  switch (config.mode) {
    case 'migrate':
      return migrateStore(config, deps);
    case 'watch':
      return watch(config, deps);
    case 'run':
    case 'cleanup':
      return runService(config, deps);
  }
}

/** Hub-store sessions carry the runner's role, so that pg_stat_activity shows whose they are. */
function applicationNameOf(what: string): string {
  return `${runnerFieldManager} ${what}`;
}

async function migrateStore(config: MigrateConfig, deps: RunnerDependencies): Promise<number> {
  const pool = createPool(config.databaseUrl, applicationNameOf('migrate'), deps.log);
  try {
    await waitForConnection(pool, { log: deps.log, signal: deps.signal, deadlineMs: deps.storeWaitMs ?? 120_000 });
    await migrate(pool, deps.log);
    return exitCodes.ok;
  } catch (error) {
    deps.log.error({ err: error }, `could not migrate the hub store: ${(error as Error).message}`);
    return exitCodes.couldNotWork;
  } finally {
    await pool.end();
  }
}

/** Waits for a connection and for the schema this runner needs; a run gives up at its deadline, a watcher never. */
async function openStore(pool: Pool, deps: RunnerDependencies, deadlineMs: number | undefined): Promise<void> {
  const options = { log: deps.log, signal: deps.signal, ...(deadlineMs === undefined ? {} : { deadlineMs }) };
  await waitForConnection(pool, options);
  await waitForSchema(pool, options);
}

function deliveryOptions(
  batchSize: number,
  leaseOwner: string,
  timings: { leaseMs: number; requestTimeoutMs: number },
  gate: BackoffGate,
  log: Logger,
  onWrite?: DeliveryOptions['onWrite'],
): DeliveryOptions {
  return {
    batchSize,
    lease: { owner: leaseOwner, durationMs: timings.leaseMs },
    requestTimeoutMs: timings.requestTimeoutMs,
    gate,
    log,
    ...(onWrite && { onWrite }),
  };
}

const outcomeLabels: Record<DeliveryOutcome['kind'], DeliveryOutcomeLabel> = {
  delivered: 'delivered',
  transient: 'failed_transient',
  permanent: 'failed_permanent',
};

async function runService(config: ServiceRunConfig, deps: RunnerDependencies): Promise<number> {
  const { log } = deps;
  const applicationName = applicationNameOf(config.service);
  const pool = createPool(config.databaseUrl, applicationName, log);
  const connectors = createConnectors(config.owner.kind, config.endpoint, config.requestTimeoutMs, pool);
  log.info(
    {
      owner: config.owner,
      merchant: config.merchant,
      batchSize: config.batchSize,
      endpoint: loggableUrl(config.endpoint.url),
    },
    'runner starting',
  );
  try {
    try {
      await openStore(pool, deps, deps.storeWaitMs ?? 120_000);
      if (config.owner.kind === 'Cart') await registerCartOf(pool, config.owner, config.merchant);
      else await syncCarts(pool, config.owner.namespace, config.merchant, config.merchantCarts, log);
    } catch (error) {
      const message = (error as Error).message;
      log.error({ err: error }, `could not open the hub store: ${message}`);
      await report(deps, config.owner, config.service, undefined, { processed: 0, failed: 0 }, message);
      await recordRunFailure(deps, config, message);
      return exitCodes.couldNotWork;
    }
    const service = bindService(config, pool, connectors);
    const leaseOwner = `${applicationName} ${randomUUID()}`;
    const delivery = deliveryOptions(config.batchSize, leaseOwner, config, new BackoffGate(), log);
    const result = await runOnce(service, config.mode, pool, delivery);
    if (result.error !== undefined) log.error({ err: result.error }, 'the run could not complete its work');
    const failures = await service.failures(maxSampleSize).catch((error: unknown) => {
      log.warn({ err: error }, 'could not count failed records');
      return undefined;
    });
    const backlog =
      service.kind === 'delivery'
        ? await deliveryBacklog(pool, service.target, { kind: 'read' }).catch((error: unknown) => {
            log.warn({ err: error }, 'could not count pending records');
            return undefined;
          })
        : undefined;
    const failedWhy = result.error === undefined ? undefined : (result.error as Error).message;
    await report(deps, config.owner, config.service, failures, result.tally, failedWhy, backlog);
    if (failedWhy !== undefined) await recordRunFailure(deps, config, failedWhy);
    return result.error === undefined ? exitCodes.ok : exitCodes.couldNotWork;
  } finally {
    closeConnectors(connectors);
    await pool.end();
  }
}

function closeConnectors(connectors: Connectors): void {
  connectors.cart?.close();
  connectors.warehouse?.close();
}

/** A Cart the hub has not seen (or saw under another Merchant) gets every inventory level of its merchant. */
function registerCartOf(pool: Pool, owner: OwnerRef, merchant: string): Promise<void> {
  return registerCart(pool, { namespace: owner.namespace, cart: owner.name, merchant });
}

/**
 * A Merchant's runner, before any work, retires the carts deleted or moved away since (store/carts.ts), so that what
 * it takes in opens no deliveries to them. Without the list (a pod template from an operator that did not write it)
 * it leaves the registry as it is.
 */
async function syncCarts(
  pool: Pool,
  namespace: string,
  merchant: string,
  carts: readonly string[] | undefined,
  log: Logger,
): Promise<void> {
  if (carts === undefined) {
    log.info(
      `${runnerEnv.merchantCarts} is not set (a pod template of an older operator): carts deleted or moved away stay registered for now`,
    );
    return;
  }
  const retired = await syncMerchantCarts(pool, { namespace, merchant }, carts);
  if (retired.length > 0)
    log.info({ retired }, 'retired carts deleted or moved away, and closed their open deliveries');
}

/** A run that could not do its work as a whole gets a Warning Event on its owner, besides its status. */
async function recordRunFailure(deps: RunnerDependencies, config: ServiceRunConfig, message: string): Promise<void> {
  await deps.reporter
    .runFailed(config.owner, { service: config.service, mode: config.mode, message })
    .catch((error: unknown) => deps.log.warn({ err: error }, 'could not record the Event of the failed run'));
}

async function report(
  deps: RunnerDependencies,
  owner: OwnerRef,
  service: ServiceName,
  failures: FailureSummary | undefined,
  tally: Tally,
  failedWhy: string | undefined,
  backlog?: Backlog,
): Promise<void> {
  const serviceReport = buildServiceReport(
    service,
    failures,
    {
      finishedAt: new Date(),
      ...tally,
      completed: failedWhy === undefined,
      ...(failedWhy === undefined ? {} : { message: failedWhy }),
    },
    backlog,
  );
  deps.log.info(
    {
      ...tally,
      outcome: serviceReport.lastResult.outcome,
      failedRecords: failures?.count,
      pendingRecords: backlog?.pending,
    },
    'run finished',
  );
  await deps.reporter.report(owner, serviceReport).catch((error: unknown) => {
    deps.log.warn({ err: error }, 'could not write the status report');
  });
}

/**
 * A merchant's watcher: every Automatic service of the Merchant and its Carts in one process, on one hub-store
 * connection for queries and one for LISTEN, and the backlog of their Disabled delivery services. Each service reports
 * to its own owner's status.
 */
async function watch(config: WatchConfig, deps: RunnerDependencies): Promise<number> {
  const { log } = deps;
  const applicationName = applicationNameOf(`watcher ${config.merchant}`);
  const pool = createPool(config.databaseUrl, applicationName, log);
  let listening: Listening | undefined;
  const metrics = new WatcherMetrics();
  const health = await startHealthServer(
    config.healthPort,
    () => listening,
    () => metrics.render(),
  );
  const owners = config.owners.map((watched) => ({
    watched,
    connectors: createConnectors(watched.owner.kind, watched.endpoint, config.requestTimeoutMs, pool),
  }));
  log.info(
    {
      merchant: config.merchant,
      serves: config.owners.map(
        ({ owner, services }) =>
          `${owner.kind}/${owner.name}: ${services.map((s) => (s.countOnly ? `${s.service} (count only)` : s.service)).join(',')}`,
      ),
    },
    'watcher starting',
  );
  const reporters: CoalescingReporter[] = [];
  try {
    try {
      await openStore(pool, deps, undefined);
      await syncCarts(pool, config.namespace, config.merchant, config.merchantCarts, log);
      for (const { watched } of owners) {
        if (watched.owner.kind === 'Cart') await registerCartOf(pool, watched.owner, config.merchant);
      }
    } catch (error) {
      if (deps.signal.aborted) return exitCodes.ok;
      log.error({ err: error }, `could not open the hub store: ${(error as Error).message}`);
      return exitCodes.couldNotWork;
    }
    const leaseOwner = `${applicationName} ${randomUUID()}`;
    const deliveries = owners.flatMap(({ watched, connectors }) => {
      // One gate per destination: a Retry-After from a cart holds back both of its services.
      const gate = new BackoffGate();
      return watched.services.map((planned): WatchedDelivery => {
        const scope = { service: planned.service, owner: watched.owner, merchant: config.merchant };
        const service = bindService(scope, pool, connectors);
        // The configuration admits only the services that offer Automatic, which are all delivery services.
        if (service.kind !== 'delivery') throw new Error(`${planned.service} has no Automatic mode`);
        const serviceLog = log.child({
          owner: `${watched.owner.kind}/${watched.owner.name}`,
          service: planned.service,
        });
        const coalescer = new CoalescingReporter(deps.reporter, watched.owner, deps.statusIntervalMs ?? 10_000, log);
        reporters.push(coalescer);
        // When the store cannot be read, the last known failures and backlog stand in: better than reporting none.
        let lastFailures: FailureSummary | undefined;
        const backlog = new BacklogTracker(pool, service.target);
        let lastBacklog: Backlog | undefined;
        const countOnly = planned.countOnly === true;
        const labels = { kind: watched.owner.kind, name: watched.owner.name, service: planned.service };
        if (!countOnly) metrics.track(labels);
        return {
          target: service.target,
          // A Disabled service is only counted: it gets no way to send.
          ...(!countOnly && {
            sending: {
              work: service.work,
              delivery: deliveryOptions(planned.batchSize, leaseOwner, config, gate, serviceLog, (outcome, seconds) =>
                metrics.recordDelivery(labels, outcomeLabels[outcome], seconds),
              ),
            },
          }),
          async afterPass(tally, completed) {
            lastFailures = await service.failures(maxSampleSize).catch(() => lastFailures);
            lastBacklog = await backlog.afterPass(tally.processed - tally.failed).catch(() => lastBacklog);
            if (!countOnly) metrics.recordPass(labels, completed);
            if (lastBacklog) metrics.setPending(labels, lastBacklog.pending);
            const serviceReport = buildServiceReport(
              planned.service,
              lastFailures,
              { finishedAt: new Date(), ...tally, completed, countOnly },
              lastBacklog,
            );
            serviceLog.debug({ ...tally, outcome: serviceReport.lastResult.outcome }, 'pass finished');
            coalescer.offer(serviceReport);
          },
        };
      });
    });
    await watchDeliveries({
      deliveries,
      databaseUrl: config.databaseUrl,
      applicationName,
      sweepMs: config.sweepMs,
      log,
      signal: deps.signal,
      onListener: (listener) => (listening = listener),
    });
    await Promise.all(reporters.map((reporter) => reporter.flush()));
    return exitCodes.ok;
  } finally {
    owners.forEach(({ connectors }) => closeConnectors(connectors));
    await pool.end();
    await new Promise((resolve) => health.close(resolve));
  }
}
