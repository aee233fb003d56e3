// The runner's imperative shell: opens the hub store, binds the configured service to its connector, runs it in
// the requested mode and reports the outcome to the owner's status. main.ts calls it with the real reporter; tests
// call it in-process with a recording one.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { runnerFieldManager } from '../api/runner-environment.ts';
import type { RunnerConfig } from './config.ts';
import { createCartConnector, createWarehouseConnector } from './connectors/create-connector.ts';
import { loggableUrl } from './log.ts';
import { CoalescingReporter } from './reporting/coalescing-reporter.ts';
import type { StatusReporter } from './reporting/reporter.ts';
import { buildServiceReport, maxSampleSize, type ServiceStatusReport } from './reporting/status-report.ts';
import { BackoffGate } from './services/backoff-gate.ts';
import { bindService, type BoundService, type Connectors } from './services/bindings.ts';
import type { DeliveryOptions } from './services/deliver.ts';
import { runOnce } from './services/run-once.ts';
import type { Tally } from './services/tally.ts';
import { watchDeliveries } from './services/watch.ts';
import { createPool, type Pool } from './store/database.ts';
import type { FailureSummary } from './store/failures.ts';
import { registerCart } from './store/intake.ts';
import { applyMigrations } from './store/migrate.ts';

export interface RunnerDependencies {
  readonly log: Logger;
  readonly reporter: StatusReporter;
  /** Ends watch mode (SIGTERM); run and cleanup finish their work regardless. */
  readonly signal: AbortSignal;
  /** Automatic mode writes status at most this often (default 10 s). */
  readonly statusIntervalMs?: number;
}

export const exitCodes = { ok: 0, couldNotWork: 1 } as const;

/** Runs the configured service in the configured mode; resolves with the process exit code. */
export async function runRunner(config: RunnerConfig, deps: RunnerDependencies): Promise<number> {
  const { log } = deps;
  const applicationName = `${runnerFieldManager} ${config.service}`;
  const pool = createPool(config.databaseUrl, applicationName, log);
  const connectors: Connectors =
    config.owner.kind === 'Cart'
      ? { cart: createCartConnector(config) }
      : { warehouse: createWarehouseConnector(config) };
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
    let service: BoundService;
    try {
      service = await prepare(config, pool, connectors);
    } catch (error) {
      log.error({ err: error }, 'could not open the hub store');
      await report(config, deps, undefined, { processed: 0, failed: 0 }, false);
      return exitCodes.couldNotWork;
    }
    const delivery: DeliveryOptions = {
      batchSize: config.batchSize,
      lease: { owner: `${applicationName} ${randomUUID()}`, durationMs: config.leaseMs },
      requestTimeoutMs: config.requestTimeoutMs,
      gate: new BackoffGate(),
      log,
    };
    if (config.mode === 'watch') {
      await watch(config, deps, service, delivery, applicationName);
      return exitCodes.ok;
    }
    const result = await runOnce(service, config.mode, pool, delivery);
    if (result.error !== undefined) log.error({ err: result.error }, 'the run could not complete its work');
    const failures = await service.failures(maxSampleSize).catch((error: unknown) => {
      log.warn({ err: error }, 'could not count failed records');
      return undefined;
    });
    await report(config, deps, failures, result.tally, result.error === undefined);
    return result.error === undefined ? exitCodes.ok : exitCodes.couldNotWork;
  } finally {
    connectors.cart?.close();
    connectors.warehouse?.close();
    await pool.end();
  }
}

async function prepare(config: RunnerConfig, pool: Pool, connectors: Connectors): Promise<BoundService> {
  await applyMigrations(pool);
  if (config.owner.kind === 'Cart') {
    await registerCart(pool, { namespace: config.owner.namespace, cart: config.owner.name, merchant: config.merchant });
  }
  return bindService(config, pool, connectors);
}

function summarize(config: RunnerConfig, failures: FailureSummary | undefined, tally: Tally, completed: boolean) {
  return buildServiceReport(config.service, failures, { finishedAt: new Date(), ...tally, completed });
}

async function report(
  config: RunnerConfig,
  deps: RunnerDependencies,
  failures: FailureSummary | undefined,
  tally: Tally,
  completed: boolean,
): Promise<void> {
  const serviceReport: ServiceStatusReport = summarize(config, failures, tally, completed);
  deps.log.info(
    { ...tally, outcome: serviceReport.lastResult.outcome, failedRecords: failures?.count },
    'run finished',
  );
  await deps.reporter.report(config.owner, serviceReport).catch((error: unknown) => {
    deps.log.warn({ err: error }, 'could not write the status report');
  });
}

async function watch(
  config: RunnerConfig,
  deps: RunnerDependencies,
  service: BoundService,
  delivery: DeliveryOptions,
  applicationName: string,
): Promise<void> {
  // The configuration admits watch only for the Automatic services, which are all delivery services.
  if (service.kind !== 'delivery') throw new Error(`${config.service} has no Automatic mode`);
  const coalescer = new CoalescingReporter(deps.reporter, config.owner, deps.statusIntervalMs ?? 10_000, deps.log);
  // When the store cannot be read, the last known failures stand in: better than reporting none.
  let lastFailures: FailureSummary | undefined;
  await watchDeliveries({
    target: service.target,
    work: service.work,
    delivery,
    databaseUrl: config.databaseUrl,
    applicationName,
    sweepMs: config.sweepMs,
    log: deps.log,
    signal: deps.signal,
    async afterPass(tally, completed) {
      lastFailures = await service.failures(maxSampleSize).catch(() => lastFailures);
      const serviceReport = summarize(config, lastFailures, tally, completed);
      deps.log.info({ ...tally, outcome: serviceReport.lastResult.outcome }, 'pass finished');
      coalescer.offer(serviceReport);
    },
  });
  await coalescer.flush();
}
