// Lease-based leader election, so that two replicas never reconcile at once. Expiry is judged by how long the
// Lease has gone unchanged on this replica's own clock (as client-go does), not by comparing clocks.
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

// Lease times are MicroTime: six fractional digits, which client-node's V1MicroTime writes.
const microTime = (date: Date) => new k8s.V1MicroTime(date);

export class LeaderElector {
  readonly #api: k8s.CoordinationV1Api;
  readonly #options: LeaderElectionOptions;
  readonly #log: Logger;
  #observed: { resourceVersion: string; holder: string; at: number } | undefined;
  #leading = false;
  #stopped = false;
  #timer: NodeJS.Timeout | undefined;

  constructor(kubeConfig: k8s.KubeConfig, options: LeaderElectionOptions, log: Logger) {
    this.#api = kubeConfig.makeApiClient(k8s.CoordinationV1Api);
    this.#options = options;
    this.#log = log.child({ lease: `${options.namespace}/${options.name}`, identity: options.identity });
  }

  /** Resolves once this replica leads; then renews until `onLost` is called or `release` ends it. */
  async acquire(onLost: () => void): Promise<void> {
    this.#log.info('waiting to become the leader');
    while (!this.#stopped && !(await this.#tryAcquireOrRenew())) {
      await new Promise((resolve) => setTimeout(resolve, this.#options.retryPeriodMs));
    }
    if (this.#stopped) return;
    this.#leading = true;
    this.#log.info('became the leader');
    let lastRenewal = Date.now();
    const renew = async () => {
      if (this.#stopped) return;
      if (await this.#tryAcquireOrRenew()) lastRenewal = Date.now();
      else if (Date.now() - lastRenewal > this.#options.renewDeadlineMs) {
        this.#leading = false;
        this.#log.error('could not renew the lease in time; stepping down');
        onLost();
        return;
      }
      this.#timer = setTimeout(() => void renew(), this.#options.retryPeriodMs);
    };
    this.#timer = setTimeout(() => void renew(), this.#options.retryPeriodMs);
  }

  /** Gives the lease up (on SIGTERM) so that another replica takes over at once instead of after expiry. */
  async release(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    if (!this.#leading) return;
    this.#leading = false;
    try {
      const lease = await this.#api.readNamespacedLease({
        name: this.#options.name,
        namespace: this.#options.namespace,
      });
      if (lease.spec?.holderIdentity !== this.#options.identity) return;
      lease.spec = {
        ...lease.spec,
        holderIdentity: undefined,
        leaseDurationSeconds: 1,
        renewTime: microTime(new Date()),
      };
      await this.#api.replaceNamespacedLease({
        name: this.#options.name,
        namespace: this.#options.namespace,
        body: lease,
      });
      this.#log.info('released the lease');
    } catch (error) {
      this.#log.warn({ err: error }, 'could not release the lease; it will expire');
    }
  }

  async #tryAcquireOrRenew(): Promise<boolean> {
    const { name, namespace, identity, leaseDurationSeconds } = this.#options;
    const now = new Date();
    const mine: k8s.V1LeaseSpec = {
      holderIdentity: identity,
      leaseDurationSeconds,
      renewTime: microTime(now),
    };
    try {
      let lease: k8s.V1Lease;
      try {
        lease = await this.#api.readNamespacedLease({ name, namespace });
      } catch (error) {
        if ((error as { code?: number }).code !== 404) throw error;
        await this.#api.createNamespacedLease({
          namespace,
          body: { metadata: { name, namespace }, spec: { ...mine, acquireTime: microTime(now), leaseTransitions: 0 } },
        });
        return true;
      }
      const holder = lease.spec?.holderIdentity ?? '';
      const resourceVersion = lease.metadata?.resourceVersion ?? '';
      if (this.#observed?.resourceVersion !== resourceVersion) {
        this.#observed = { resourceVersion, holder, at: Date.now() };
      }
      const duration = (lease.spec?.leaseDurationSeconds ?? leaseDurationSeconds) * 1000;
      const expired = Date.now() - this.#observed.at > duration;
      if (holder !== identity && holder !== '' && !expired) return false;
      const transitions = (lease.spec?.leaseTransitions ?? 0) + (holder === identity ? 0 : 1);
      lease.spec = {
        ...lease.spec,
        ...mine,
        acquireTime: holder === identity ? lease.spec?.acquireTime : microTime(now),
        leaseTransitions: transitions,
      };
      // The resourceVersion in the body makes this a compare-and-swap: of two contenders, one gets a 409.
      await this.#api.replaceNamespacedLease({ name, namespace, body: lease });
      return true;
    } catch (error) {
      this.#log.debug({ err: error }, 'lease attempt failed');
      return false;
    }
  }
}
