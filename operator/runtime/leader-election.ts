// Lease-based leader election, so that two replicas never reconcile at once. Expiry is judged by how long the
// Lease has gone unchanged on this replica's own clock (as client-go does), not by comparing clocks.
//
// The leader must stop before any other replica can take over: another replica takes the Lease once it has seen it
// unchanged for the lease duration, so the leader gives up leading once it has failed to renew for the (shorter)
// renew deadline. Every request is bounded by what is left of that deadline: a renewal that hangs (an API server
// that accepts the connection and never answers, a half-open TCP connection) is abandoned in time, rather than
// keeping the leader reconciling while the standby, rightly, takes the expired Lease.
import * as k8s from '@kubernetes/client-node';
import type { Logger } from 'pino';

export interface LeaderElectionOptions {
  name: string;
  namespace: string;
  identity: string;
  leaseDurationSeconds: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

export const defaultLeaseTimings = { leaseDurationSeconds: 15, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };

/** The Lease calls the elector makes; each takes a signal that aborts it when its time is up. */
export interface LeaseApi {
  read(namespace: string, name: string, signal: AbortSignal): Promise<k8s.V1Lease>;
  create(namespace: string, lease: k8s.V1Lease, signal: AbortSignal): Promise<k8s.V1Lease>;
  /** A compare-and-swap on the lease's resourceVersion: fails with 409 when another wrote it first. */
  replace(namespace: string, name: string, lease: k8s.V1Lease, signal: AbortSignal): Promise<k8s.V1Lease>;
}

/** The Lease calls through client-node, with the signal set on each request (its API has no per-call timeout). */
export function leaseApiFor(kubeConfig: k8s.KubeConfig): LeaseApi {
  const api = kubeConfig.makeApiClient(k8s.CoordinationV1Api);
  const withSignal = (signal: AbortSignal): k8s.ConfigurationOptions => ({
    middleware: [
      {
        pre: (context) => {
          context.setSignal(signal);
          return new k8s.Observable(Promise.resolve(context));
        },
        post: (response) => new k8s.Observable(Promise.resolve(response)),
      },
    ],
    middlewareMergeStrategy: 'append',
  });
  return {
    read: (namespace, name, signal) => api.readNamespacedLease({ name, namespace }, withSignal(signal)),
    create: (namespace, body, signal) => api.createNamespacedLease({ namespace, body }, withSignal(signal)),
    replace: (namespace, name, body, signal) =>
      api.replaceNamespacedLease({ name, namespace, body }, withSignal(signal)),
  };
}

export class LeaseTimeoutError extends Error {
  constructor(ms: number) {
    super(`the lease request did not finish within ${ms} ms`);
    this.name = 'LeaseTimeoutError';
  }
}

/**
 * Runs `work` with a signal that aborts after `ms`, and settles by then even if `work` ignores its signal. Timers
 * are setTimeout (not AbortSignal.timeout) so that tests with fake timers control them.
 */
async function withTimeout<T>(ms: number, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => {
        const error = new LeaseTimeoutError(ms);
        controller.abort(error);
        reject(error);
      },
      Math.max(0, ms),
    );
  });
  try {
    return await Promise.race([work(controller.signal), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

type AttemptResult = 'acquired' | 'held' | 'failed';

// Lease times are MicroTime: six fractional digits, which client-node's V1MicroTime writes.
const microTime = (date: Date) => new k8s.V1MicroTime(date);

export class LeaderElector {
  readonly #api: LeaseApi;
  readonly #options: LeaderElectionOptions;
  readonly #log: Logger;
  #observed: { resourceVersion: string; holder: string; at: number } | undefined;
  #leading = false;
  #stopped = false;
  #timer: NodeJS.Timeout | undefined;
  #wake: (() => void) | undefined;
  /** The lease attempt under way, which `release` lets finish (within its bound) so that it cannot undo the release. */
  #inFlight: Promise<unknown> | undefined;

  constructor(kubeConfig: k8s.KubeConfig | undefined, options: LeaderElectionOptions, log: Logger, api?: LeaseApi) {
    if (!api && !kubeConfig) throw new TypeError('LeaderElector needs a KubeConfig or a LeaseApi');
    this.#api = api ?? leaseApiFor(kubeConfig!);
    this.#options = options;
    this.#log = log.child({ lease: `${options.namespace}/${options.name}`, identity: options.identity });
  }

  get leading(): boolean {
    return this.#leading;
  }

  /**
   * Resolves once this replica leads; then renews in the background until `release` ends it, or until a renewal has
   * not succeeded within the renew deadline: then it stops leading and calls `onLost`, before the Lease can expire.
   */
  async acquire(onLost: () => void): Promise<void> {
    this.#log.info('waiting to become the leader');
    let acquiredAt: number;
    for (;;) {
      if (this.#stopped) return;
      const attemptStart = Date.now();
      if ((await this.#tryAcquireOrRenew(this.#options.renewDeadlineMs)) === 'acquired') {
        acquiredAt = attemptStart;
        break;
      }
      await this.#sleep(this.#options.retryPeriodMs);
    }
    if (this.#stopped) return;
    this.#leading = true;
    this.#log.info('became the leader');
    void this.#renewLoop(acquiredAt, onLost);
  }

  /**
   * Renews every retry period. The Lease was last written no earlier than when the last successful attempt began, so
   * the renew deadline counts from there; every attempt gets only what is left of it.
   */
  async #renewLoop(lastRenewal: number, onLost: () => void): Promise<void> {
    const { renewDeadlineMs, retryPeriodMs } = this.#options;
    const stepDown = (reason: string) => {
      this.#leading = false;
      this.#log.error({ sinceLastRenewalMs: Date.now() - lastRenewal, renewDeadlineMs }, reason);
      onLost();
    };
    await this.#sleep(retryPeriodMs);
    while (!this.#stopped) {
      const attemptStart = Date.now();
      const remaining = lastRenewal + renewDeadlineMs - attemptStart;
      const result = remaining > 0 ? await this.#tryAcquireOrRenew(remaining) : 'failed';
      if (this.#stopped) return;
      if (result === 'acquired') {
        lastRenewal = attemptStart;
        await this.#sleep(retryPeriodMs);
        continue;
      }
      if (result === 'held') {
        stepDown('another replica holds the lease; stepping down');
        return;
      }
      const left = lastRenewal + renewDeadlineMs - Date.now();
      if (left <= 0) {
        stepDown('could not renew the lease within the renew deadline; stepping down');
        return;
      }
      await this.#sleep(Math.min(retryPeriodMs, left));
    }
  }

  /** Gives the lease up (on SIGTERM) so that another replica takes over at once instead of after expiry. */
  async release(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#wake?.();
    if (!this.#leading) return;
    this.#leading = false;
    await this.#inFlight?.catch(() => undefined);
    const { name, namespace, identity, renewDeadlineMs } = this.#options;
    try {
      await withTimeout(renewDeadlineMs, async (signal) => {
        const lease = await this.#api.read(namespace, name, signal);
        if (lease.spec?.holderIdentity !== identity) return;
        lease.spec = {
          ...lease.spec,
          holderIdentity: undefined,
          leaseDurationSeconds: 1,
          renewTime: microTime(new Date()),
        };
        await this.#api.replace(namespace, name, lease, signal);
        this.#log.info('released the lease');
      });
    } catch (error) {
      this.#log.warn({ err: error }, 'could not release the lease; it will expire');
    }
  }

  /** Waits `ms`, or less if `release` is called meanwhile. */
  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.#wake = resolve;
      this.#timer = setTimeout(resolve, ms);
    });
  }

  /**
   * One read and, when this replica may hold the Lease, one write, within `budgetMs` together: `acquired` (or
   * renewed), `held` by another replica whose Lease has not expired, or `failed` (an error, a conflict, a timeout).
   */
  async #tryAcquireOrRenew(budgetMs: number): Promise<AttemptResult> {
    const attempt = withTimeout(budgetMs, (signal) => this.#attempt(signal));
    this.#inFlight = attempt;
    try {
      return await attempt;
    } catch (error) {
      this.#log.debug({ err: error }, 'lease attempt failed');
      return 'failed';
    } finally {
      if (this.#inFlight === attempt) this.#inFlight = undefined;
    }
  }

  async #attempt(signal: AbortSignal): Promise<AttemptResult> {
    const { name, namespace, identity, leaseDurationSeconds } = this.#options;
    const now = new Date();
    const mine: k8s.V1LeaseSpec = {
      holderIdentity: identity,
      leaseDurationSeconds,
      renewTime: microTime(now),
    };
    let lease: k8s.V1Lease;
    try {
      lease = await this.#api.read(namespace, name, signal);
    } catch (error) {
      if ((error as { code?: number }).code !== 404) throw error;
      await this.#api.create(
        namespace,
        { metadata: { name, namespace }, spec: { ...mine, acquireTime: microTime(now), leaseTransitions: 0 } },
        signal,
      );
      return 'acquired';
    }
    const holder = lease.spec?.holderIdentity ?? '';
    const resourceVersion = lease.metadata?.resourceVersion ?? '';
    if (this.#observed?.resourceVersion !== resourceVersion) {
      this.#observed = { resourceVersion, holder, at: Date.now() };
    }
    const duration = (lease.spec?.leaseDurationSeconds ?? leaseDurationSeconds) * 1000;
    const expired = Date.now() - this.#observed.at > duration;
    if (holder !== identity && holder !== '' && !expired) return 'held';
    const transitions = (lease.spec?.leaseTransitions ?? 0) + (holder === identity ? 0 : 1);
    lease.spec = {
      ...lease.spec,
      ...mine,
      acquireTime: holder === identity ? lease.spec?.acquireTime : microTime(now),
      leaseTransitions: transitions,
    };
    // The resourceVersion in the body makes this a compare-and-swap: of two contenders, one gets a 409.
    await this.#api.replace(namespace, name, lease, signal);
    return 'acquired';
  }
}
