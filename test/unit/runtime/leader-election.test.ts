// The leader's renewals are bounded by its renew deadline: a renewal that hangs makes it step down (and call
// onLost) before its Lease can expire, so a standby that takes the expired Lease never leads alongside it.
// Against an in-memory Lease API with fake timers (and Date), so that hangs and deadlines take no real time.
import type * as k8s from '@kubernetes/client-node';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  LeaderElector,
  defaultLeaseTimings,
  type LeaseApi,
  type LeaderElectionOptions,
} from '../../../operator/runtime/leader-election.ts';

const log = pino({ level: 'silent' });
const { renewDeadlineMs, retryPeriodMs, leaseDurationSeconds } = defaultLeaseTimings;
const leaseDurationMs = leaseDurationSeconds * 1000;

/** One Lease in memory, with the API server's compare-and-swap on resourceVersion. */
class LeaseStore {
  lease: k8s.V1Lease | undefined;
  #version = 0;
  /** When each write happened, and by whom. */
  readonly writes: { at: number; holder: string | undefined }[] = [];

  copy(): k8s.V1Lease {
    return { metadata: { ...this.lease!.metadata }, spec: { ...this.lease!.spec } };
  }

  write(lease: k8s.V1Lease): k8s.V1Lease {
    this.#version += 1;
    this.lease = { metadata: { ...lease.metadata, resourceVersion: String(this.#version) }, spec: { ...lease.spec } };
    this.writes.push({ at: Date.now(), holder: lease.spec?.holderIdentity });
    return this.copy();
  }
}

type Mode = 'ok' | 'error' | 'hang' | 'hang-ignoring-abort';

/** One replica's view of the API: `mode` decides whether its calls succeed, fail, or hang. */
class FakeLeaseApi implements LeaseApi {
  mode: Mode = 'ok';
  readonly calls: { verb: string; at: number; signal: AbortSignal; settled: boolean }[] = [];
  readonly #store: LeaseStore;

  constructor(store: LeaseStore) {
    this.#store = store;
  }

  pending(): number {
    return this.calls.filter((call) => !call.settled).length;
  }

  #call<T>(verb: string, signal: AbortSignal, work: () => T): Promise<T> {
    const call = { verb, at: Date.now(), signal, settled: false };
    this.calls.push(call);
    const settle = <R>(promise: Promise<R>) => promise.finally(() => (call.settled = true));
    switch (this.mode) {
      case 'ok':
        return settle(Promise.resolve().then(work));
      case 'error':
        return settle(Promise.reject(Object.assign(new Error('connection refused'), { code: 'ECONNREFUSED' })));
      case 'hang':
        // As fetch does: nothing comes back, until the signal aborts the request.
        return settle(
          new Promise<T>((_, reject) => {
            signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
          }),
        );
      case 'hang-ignoring-abort':
        return new Promise<T>(() => undefined);
    }
  }

  read(_namespace: string, _name: string, signal: AbortSignal): Promise<k8s.V1Lease> {
    return this.#call('read', signal, () => {
      if (!this.#store.lease) throw Object.assign(new Error('not found'), { code: 404 });
      return this.#store.copy();
    });
  }

  create(_namespace: string, lease: k8s.V1Lease, signal: AbortSignal): Promise<k8s.V1Lease> {
    return this.#call('create', signal, () => {
      if (this.#store.lease) throw Object.assign(new Error('already exists'), { code: 409 });
      return this.#store.write(lease);
    });
  }

  replace(_namespace: string, _name: string, lease: k8s.V1Lease, signal: AbortSignal): Promise<k8s.V1Lease> {
    return this.#call('replace', signal, () => {
      if (lease.metadata?.resourceVersion !== this.#store.lease?.metadata?.resourceVersion) {
        throw Object.assign(new Error('conflict'), { code: 409 });
      }
      return this.#store.write(lease);
    });
  }
}

function options(identity: string): LeaderElectionOptions {
  return { name: 'switchyard-operator', namespace: 'test', identity, ...defaultLeaseTimings };
}

/** An elector with its own API view, recording when it stepped down. */
function replica(store: LeaseStore, identity: string) {
  const api = new FakeLeaseApi(store);
  const elector = new LeaderElector(undefined, options(identity), log, api);
  const state = { ledAt: undefined as number | undefined, lostAt: undefined as number | undefined, lost: 0 };
  const onLost = () => {
    state.lost += 1;
    state.lostAt = Date.now();
  };
  const acquire = elector.acquire(onLost).then(() => {
    state.ledAt = Date.now();
  });
  return { api, elector, state, acquire };
}

/** Advances the fake clock in small steps, as a real one would pass, until `done` or `limitMs`. */
async function advanceUntil(done: () => boolean, limitMs: number, stepMs = 50): Promise<void> {
  for (let elapsed = 0; elapsed < limitMs && !done(); elapsed += stepMs) {
    await vi.advanceTimersByTimeAsync(stepMs);
  }
}

/** The last write the given replica made (its last successful renewal). */
function lastWriteBy(store: LeaseStore, identity: string): number {
  return store.writes.filter((write) => write.holder === identity).at(-1)!.at;
}

beforeEach(() => {
  vi.useFakeTimers({ now: new Date('2026-03-01T08:00:00Z') });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('LeaderElector renewals', () => {
  it('keeps leading while renewals succeed, renewing every retry period', async () => {
    const store = new LeaseStore();
    const leader = replica(store, 'a');
    await leader.acquire;
    expect(leader.elector.leading).toBe(true);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(leader.state.lost).toBe(0);
    expect(leader.elector.leading).toBe(true);
    // The create, then one renewal per retry period.
    expect(store.writes.length).toBeGreaterThanOrEqual(60_000 / retryPeriodMs);
    expect(store.writes.every((write) => write.holder === 'a')).toBe(true);
  });

  for (const mode of ['hang', 'hang-ignoring-abort'] as const) {
    it(`steps down within the renew deadline, before the lease expires, when renewals ${mode}`, async () => {
      const store = new LeaseStore();
      const leader = replica(store, 'a');
      await leader.acquire;
      await vi.advanceTimersByTimeAsync(5 * retryPeriodMs + 100);
      leader.api.mode = mode;
      const renewedLast = lastWriteBy(store, 'a');

      await advanceUntil(() => leader.state.lost > 0, 2 * leaseDurationMs);

      expect(leader.state.lost).toBe(1);
      expect(leader.elector.leading).toBe(false);
      const sinceRenewal = leader.state.lostAt! - renewedLast;
      // Not before the deadline (it kept trying), not after it, and well before the lease could expire.
      expect(sinceRenewal).toBeGreaterThan(renewDeadlineMs - retryPeriodMs);
      expect(sinceRenewal).toBeLessThanOrEqual(renewDeadlineMs + 100);
      expect(sinceRenewal).toBeLessThan(leaseDurationMs);
      // The hung request was aborted, not left open (a fetch would otherwise hold its socket).
      const hung = leader.api.calls.filter((call) => call.at > renewedLast);
      expect(hung.length).toBeGreaterThan(0);
      expect(hung.every((call) => call.signal.aborted)).toBe(true);
      if (mode === 'hang') expect(leader.api.pending()).toBe(0);
      // And it stops trying once it has stepped down.
      const callsAtStepDown = leader.api.calls.length;
      await vi.advanceTimersByTimeAsync(30_000);
      expect(leader.api.calls.length).toBe(callsAtStepDown);
      expect(leader.state.lost).toBe(1);
    });
  }

  it('survives renewals that fail for less than the renew deadline', async () => {
    const store = new LeaseStore();
    const leader = replica(store, 'a');
    await leader.acquire;
    await vi.advanceTimersByTimeAsync(2 * retryPeriodMs + 100);
    leader.api.mode = 'error';
    await vi.advanceTimersByTimeAsync(renewDeadlineMs - retryPeriodMs - 500);
    leader.api.mode = 'ok';
    await vi.advanceTimersByTimeAsync(30_000);
    expect(leader.state.lost).toBe(0);
    expect(leader.elector.leading).toBe(true);
  });

  it('steps down after the renew deadline when every renewal fails at once', async () => {
    const store = new LeaseStore();
    const leader = replica(store, 'a');
    await leader.acquire;
    await vi.advanceTimersByTimeAsync(retryPeriodMs + 100);
    leader.api.mode = 'error';
    const renewedLast = lastWriteBy(store, 'a');
    await advanceUntil(() => leader.state.lost > 0, 2 * leaseDurationMs);
    expect(leader.state.lost).toBe(1);
    expect(leader.state.lostAt! - renewedLast).toBeGreaterThan(renewDeadlineMs - retryPeriodMs);
    expect(leader.state.lostAt! - renewedLast).toBeLessThanOrEqual(renewDeadlineMs + 100);
  });

  it('steps down at the next renewal when another replica has taken the lease', async () => {
    const store = new LeaseStore();
    const leader = replica(store, 'a');
    await leader.acquire;
    await vi.advanceTimersByTimeAsync(retryPeriodMs + 100);
    const taken = store.copy();
    taken.spec = { ...taken.spec, holderIdentity: 'intruder' };
    const takenAt = Date.now();
    store.write(taken);
    await advanceUntil(() => leader.state.lost > 0, leaseDurationMs);
    expect(leader.state.lost).toBe(1);
    expect(leader.state.lostAt! - takenAt).toBeLessThanOrEqual(retryPeriodMs + 100);
  });

  it('never lets a standby lead while a partitioned leader still believes it leads', async () => {
    const store = new LeaseStore();
    const leader = replica(store, 'a');
    await leader.acquire;
    const standby = replica(store, 'b');
    await vi.advanceTimersByTimeAsync(3 * retryPeriodMs + 100);
    expect(standby.state.ledAt).toBeUndefined();

    // The leader's requests hang (a half-open connection); the standby still reaches the API server.
    leader.api.mode = 'hang';
    await advanceUntil(() => standby.state.ledAt !== undefined, 3 * leaseDurationMs);

    expect(standby.state.ledAt).toBeDefined();
    expect(standby.elector.leading).toBe(true);
    expect(leader.state.lostAt).toBeDefined();
    expect(leader.state.lostAt!).toBeLessThan(standby.state.ledAt!);
    // The standby waited out the whole lease after the leader's last renewal.
    expect(standby.state.ledAt! - lastWriteBy(store, 'a')).toBeGreaterThanOrEqual(leaseDurationMs);
    expect(store.lease?.spec?.holderIdentity).toBe('b');
    expect(store.lease?.spec?.leaseTransitions).toBe(1);
    await standby.elector.release();
  });

  it('releases the lease on release(), and gives up the release when the API hangs', async () => {
    const store = new LeaseStore();
    const first = replica(store, 'a');
    await first.acquire;
    await vi.advanceTimersByTimeAsync(retryPeriodMs + 100);
    await first.elector.release();
    expect(store.lease?.spec?.holderIdentity).toBeUndefined();
    expect(first.state.lost).toBe(0);

    const second = replica(store, 'b');
    await second.acquire;
    expect(store.lease?.spec?.holderIdentity).toBe('b');
    second.api.mode = 'hang-ignoring-abort';
    const releasing = second.elector.release();
    let released = false;
    void releasing.then(() => (released = true));
    await advanceUntil(() => released, 2 * renewDeadlineMs);
    expect(released).toBe(true);
    expect(store.lease?.spec?.holderIdentity).toBe('b');
  });
});
