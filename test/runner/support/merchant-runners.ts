// What a Merchant's pod templates add to runnerEnvironment and watcherEnvironment: the Merchant's Carts
// (SWITCHYARD_MERCHANT_CARTS) and Disabled services the watcher only counts. support/runners.ts's runOn and watchOn run
// the runner on such an environment.
import { runnerEnv, type WatchTarget } from '../../../operator/api/runner-contract.ts';
import type { ServiceName } from '../../../operator/api/v1alpha1/services.ts';

type Env = Record<string, string>;

export function withMerchantCarts(env: Env, carts: readonly string[]): Env {
  return { ...env, [runnerEnv.merchantCarts]: JSON.stringify(carts) };
}

/** A watcher's environment in which these services of these owners are Disabled: counted, not sent. */
export function countingOnly(env: Env, counted: readonly { owner: string; service: ServiceName }[]): Env {
  const targets = JSON.parse(env[runnerEnv.watchTargets]!) as WatchTarget[];
  const isCounted = (owner: string, service: ServiceName) =>
    counted.some((entry) => entry.owner === owner && entry.service === service);
  const marked = targets.map((target) => ({
    ...target,
    services: target.services.map((service) =>
      isCounted(target.name, service.name) ? { ...service, countOnly: true as const } : service,
    ),
  }));
  return { ...env, [runnerEnv.watchTargets]: JSON.stringify(marked) };
}
