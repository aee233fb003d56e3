// The environment the operator's pod templates give a runner (operator/api/runner-contract.ts), built for a
// service from a few facts. Shared by the runner's tests and its benchmark.
import { runnerEnv, tokenVariableOf, type WatchTarget } from '../../operator/api/runner-contract.ts';
import { serviceCatalogue, type ServiceName } from '../../operator/api/v1alpha1/services.ts';

export interface RunnerSetup {
  readonly service: ServiceName;
  readonly namespace: string;
  /** The Merchant's or Cart's name. */
  readonly owner: string;
  readonly merchant: string;
  readonly endpointUrl: string;
  readonly databaseUrl: string;
  readonly token?: string;
  readonly batchSize?: number;
  readonly leaseSeconds?: number;
  readonly sweepSeconds?: number;
  readonly requestTimeoutSeconds?: number;
}

/** The environment the operator's pod template would give this runner. */
export function runnerEnvironment(setup: RunnerSetup): Record<string, string> {
  const optional = (name: string, value: number | string | undefined) =>
    value === undefined ? {} : { [name]: String(value) };
  return {
    [runnerEnv.ownerKind]: serviceCatalogue[setup.service].owner,
    [runnerEnv.ownerName]: setup.owner,
    [runnerEnv.namespace]: setup.namespace,
    [runnerEnv.merchant]: setup.merchant,
    [runnerEnv.service]: setup.service,
    [runnerEnv.batchSize]: String(setup.batchSize ?? 100),
    [runnerEnv.endpointType]: 'http',
    [runnerEnv.endpointUrl]: setup.endpointUrl,
    [runnerEnv.databaseUrl]: setup.databaseUrl,
    // RUNNER_TEST_LOG=debug shows the runners' logs while a test or the benchmark runs.
    [runnerEnv.logLevel]: process.env.RUNNER_TEST_LOG ?? 'silent',
    ...optional(runnerEnv.endpointToken, setup.token),
    ...optional(runnerEnv.leaseSeconds, setup.leaseSeconds),
    ...optional(runnerEnv.sweepSeconds, setup.sweepSeconds),
    ...optional(runnerEnv.requestTimeoutSeconds, setup.requestTimeoutSeconds),
  };
}

/**
 * The environment of a merchant's watcher serving the Automatic services `setups` describe (one per service; setups
 * of one owner share its target), as buildWatcher would give it, with the probes on a free port.
 */
export function watcherEnvironment(setups: readonly RunnerSetup[]): Record<string, string> {
  const [first] = setups;
  if (!first) throw new Error('a watcher serves at least one service');
  const targets = new Map<string, WatchTarget & { services: { name: RunnerSetup['service']; batchSize: number }[] }>();
  const tokens: Record<string, string> = {};
  for (const setup of setups) {
    const kind = serviceCatalogue[setup.service].owner;
    const key = `${kind}/${setup.owner}`;
    let target = targets.get(key);
    if (!target) {
      const tokenVariable = setup.token === undefined ? undefined : tokenVariableOf(kind, setup.owner);
      if (tokenVariable) tokens[tokenVariable] = setup.token!;
      target = {
        kind,
        name: setup.owner,
        endpoint: { type: 'http', url: setup.endpointUrl, ...(tokenVariable && { tokenVariable }) },
        services: [],
      };
      targets.set(key, target);
    }
    target.services.push({ name: setup.service, batchSize: setup.batchSize ?? 100 });
  }
  const optional = (name: string, value: number | undefined) => (value === undefined ? {} : { [name]: String(value) });
  return {
    [runnerEnv.namespace]: first.namespace,
    [runnerEnv.merchant]: first.merchant,
    [runnerEnv.watchTargets]: JSON.stringify([...targets.values()]),
    [runnerEnv.healthPort]: '0',
    [runnerEnv.databaseUrl]: first.databaseUrl,
    [runnerEnv.logLevel]: process.env.RUNNER_TEST_LOG ?? 'silent',
    ...tokens,
    ...optional(runnerEnv.leaseSeconds, first.leaseSeconds),
    ...optional(runnerEnv.sweepSeconds, first.sweepSeconds),
    ...optional(runnerEnv.requestTimeoutSeconds, first.requestTimeoutSeconds),
  };
}
