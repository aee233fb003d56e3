// Wiring of informers, the work queue and the reconcile: events become keys, keys become reconciles.
import type * as k8s from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { ownerKinds, type OwnerKind } from '../api/v1alpha1/services.ts';
import { apiVersion, kinds, type Cart, type Merchant, type Owner } from '../api/v1alpha1/types.ts';
import { childKindNames, childKinds, noChildren, type ChildKind } from '../reconcile/child-kinds.ts';
import type { RunnerSettings } from '../reconcile/desired.ts';
import { componentLabel, managedSelector, ownerKindLabel, ownerNameLabel } from '../reconcile/names.ts';
import {
  failureLogFields,
  reconcileOwner,
  type ClusterView,
  type ClusterWriter,
  type EventRecorder,
  ownerKey,
  ownerRefOf,
  type OwnerRef,
} from '../reconcile/reconcile.ts';
import type { ServicePeriod } from '../reconcile/health.ts';
import { podProblem } from '../reconcile/watcher-health.ts';
import { InformerSet, type InformerHandlers, type ResourceType } from './informers.ts';
import type { Metrics } from './metrics.ts';
import { ownerChange, ownerFactsOf, type OwnerFacts } from './owner-events.ts';
import { backlogSamples, type BacklogSamples } from './service-metrics.ts';
import { WorkQueue } from './workqueue.ts';

export interface ControllerOptions {
  kubeConfig: k8s.KubeConfig;
  namespaces: readonly string[];
  concurrency: number;
  resyncSeconds: number;
  settings: RunnerSettings;
  writer: ClusterWriter;
  events: EventRecorder;
  metrics: Metrics;
  log: Logger;
  now?: () => Date;
}

const resourceType = (kind: ChildKind): ResourceType => ({
  apiVersion: childKinds[kind].apiVersion,
  kind,
  plural: childKinds[kind].plural,
});

export function parseOwnerKey(key: string): OwnerRef {
  const [kind, namespace, name] = key.split('/') as [OwnerKind, string, string];
  return { kind, namespace, name };
}

/** The pods of the merchants' watchers (they carry the Deployment's labels), and no other pod. */
const watcherPodSelector = `${componentLabel}=watcher,${managedSelector}`;

type ContainerStatus = k8s.V1ContainerStatus;

/** What a container's status says about trouble: its waiting state, whether it is ready, its last exit. */
function compactContainerStatus({ name, ready, restartCount, state, lastState }: ContainerStatus): ContainerStatus {
  const terminated = lastState?.terminated;
  return {
    name,
    ready,
    restartCount,
    ...(state && { state: state.waiting ? { waiting: state.waiting } : state }),
    ...(terminated && { lastState: { terminated: { exitCode: terminated.exitCode, reason: terminated.reason } } }),
  } as ContainerStatus;
}

/** A watcher pod reduced, in place, to what tells why it does not serve: no spec, a few status fields. */
function compactPod(object: k8s.KubernetesObject): void {
  const pod = object as k8s.V1Pod;
  const { name, namespace, uid, resourceVersion, labels, creationTimestamp, deletionTimestamp } = pod.metadata ?? {};
  pod.metadata = { name, namespace, uid, resourceVersion, labels, creationTimestamp, deletionTimestamp };
  delete pod.spec;
  const status = pod.status;
  if (!status) return;
  pod.status = {
    phase: status.phase,
    conditions: status.conditions?.map(({ type, status: value, reason, message }) => ({
      type,
      status: value,
      reason,
      message,
    })) as k8s.V1PodCondition[],
    initContainerStatuses: status.initContainerStatuses?.map(compactContainerStatus),
    containerStatuses: status.containerStatuses?.map(compactContainerStatus),
  };
}

function ownerRefOfChild(child: k8s.KubernetesObject): OwnerRef | undefined {
  const labels = child.metadata?.labels ?? {};
  const kind = labels[ownerKindLabel];
  const name = labels[ownerNameLabel];
  if (!kind || !name || !child.metadata?.namespace || !(ownerKinds as readonly string[]).includes(kind))
    return undefined;
  return { kind: kind as OwnerKind, namespace: child.metadata.namespace, name };
}

export class Controller {
  readonly #options: ControllerOptions;
  readonly #owners: Record<OwnerKind, InformerSet>;
  readonly #children: Record<ChildKind, InformerSet>;
  readonly #watcherPods: InformerSet;
  /** Owner key → the names of its children, per kind, so a reconcile need not scan the namespace. */
  readonly #childIndex = new Map<string, Record<ChildKind, Set<string>>>();
  /** Merchant key → the names of its watcher's pods. */
  readonly #podIndex = new Map<string, Set<string>>();
  /** Pod namespace/name → the trouble it last showed ('' for none), so that only a change of it wakes anyone. */
  readonly #podTrouble = new Map<string, string>();
  readonly #queue: WorkQueue;
  /** What was last seen of each Merchant and Cart that a reconcile reads (see owner-events.ts). */
  readonly #ownerFacts = new Map<string, OwnerFacts>();
  /** The status last written per owner key (see ReconcileContext.lastStatusWritten). */
  readonly #lastStatusWritten = new Map<string, string>();
  /** The children last applied per owner key (see ReconcileContext.lastApplied). */
  readonly #lastApplied = new Map<string, Map<string, string>>();
  /** Merchant key → the names of the Carts that name it, so its watcher knows whom it serves. */
  readonly #cartsByMerchant = new Map<string, Set<string>>();
  /** Cart key → the Merchant key it named when last seen, so that a move wakes both Merchants. */
  readonly #merchantOfCart = new Map<string, string>();
  /** The judged services' periods per owner key, as reconciles plan them (see ReconcileContext.servicePeriods). */
  readonly #servicePeriods = new Map<string, readonly ServicePeriod[]>();
  #resyncTimer: NodeJS.Timeout | undefined;
  #synced = false;

  constructor(options: ControllerOptions) {
    this.#options = options;
    const { kubeConfig, namespaces, log, metrics } = options;
    this.#queue = new WorkQueue({
      concurrency: options.concurrency,
      onDepthChange: (depth) => metrics.queueDepth.set(depth),
      onUnexpectedError: (key, error) => log.error({ key, err: error }, 'reconcile failed unexpectedly'),
    });
    const ownerHandlers = (kind: OwnerKind): InformerHandlers => {
      return {
        onChange: (object) => this.#onOwnerEvent(kind, object, true),
        onDelete: (object) => this.#onOwnerEvent(kind, object, false),
      };
    };
    this.#owners = {
      Merchant: new InformerSet(
        kubeConfig,
        { apiVersion, ...kinds.Merchant },
        namespaces,
        undefined,
        ownerHandlers('Merchant'),
        log,
      ),
      Cart: new InformerSet(
        kubeConfig,
        { apiVersion, ...kinds.Cart },
        namespaces,
        undefined,
        ownerHandlers('Cart'),
        log,
      ),
    };
    const childHandlers = (kind: ChildKind): InformerHandlers => ({
      onChange: (object) => this.#onChildEvent(kind, object, true),
      onDelete: (object) => this.#onChildEvent(kind, object, false),
    });
    // Only the children Switchyard manages: the label selector keeps everything else out of the cache.
    const watchChildren = (kind: ChildKind) =>
      new InformerSet(kubeConfig, resourceType(kind), namespaces, childKinds[kind].selector, childHandlers(kind), log, {
        compactSpecs: true,
      });
    this.#children = Object.fromEntries(childKindNames.map((kind) => [kind, watchChildren(kind)])) as Record<
      ChildKind,
      InformerSet
    >;
    this.#watcherPods = new InformerSet(
      kubeConfig,
      { apiVersion: 'v1', kind: 'Pod', plural: 'pods' },
      namespaces,
      watcherPodSelector,
      {
        onChange: (object) => this.#onWatcherPodEvent(object, true),
        onDelete: (object) => this.#onWatcherPodEvent(object, false),
      },
      log,
      { transform: compactPod },
    );
  }

  #informerSets(): InformerSet[] {
    return [...Object.values(this.#owners), ...Object.values(this.#children), this.#watcherPods];
  }

  get synced(): boolean {
    return this.#synced;
  }

  async start(): Promise<void> {
    const { log, metrics } = this.#options;
    await Promise.all(this.#informerSets().map((set) => set.start()));
    this.#synced = true;
    log.info('caches synced; reconciling');
    const view = this.#view();
    this.#queue.start(async (key) => {
      const ref = parseOwnerKey(key);
      const stopTimer = metrics.reconcileDuration.startTimer({ kind: ref.kind });
      const keyLog = log.child({ [ref.kind.toLowerCase()]: `${ref.namespace}/${ref.name}` });
      try {
        const outcome = await reconcileOwner(ref, {
          view,
          writer: this.#options.writer,
          events: this.#options.events,
          settings: this.#options.settings,
          now: this.#options.now ?? (() => new Date()),
          log: keyLog,
          onCleanupStarted: () => metrics.cleanupRuns.inc(),
          onStatusWritten: (cause) => metrics.statusWrites.inc({ cause }),
          lastStatusWritten: this.#lastStatusWritten,
          lastApplied: this.#lastApplied,
          servicePeriods: this.#servicePeriods,
        });
        this.#queue.forget(key);
        if (outcome.requeueAfterMs !== undefined) this.#queue.addAfter(key, outcome.requeueAfterMs);
        metrics.reconciles.inc({ kind: ref.kind, result: 'success' });
      } catch (error) {
        // Retried with the queue's exponential backoff: the failure's own status write does not bring it back sooner.
        const retryInMs = this.#queue.addRateLimited(key);
        metrics.reconciles.inc({ kind: ref.kind, result: 'error' });
        metrics.reconcileErrors.inc({ kind: ref.kind });
        // One line: verb, object, code, reason and message of the API's answer.
        keyLog.warn({ ...failureLogFields(error), retryInMs }, 'reconcile failed; retrying');
      } finally {
        stopTimer();
      }
    });
    this.#enqueueAll();
    this.#scheduleResync();
  }

  /**
   * The backlog gauges' samples from the caches (no API calls), or undefined until they are synced. Only the leader
   * starts its informers, so a standby exports none, and Prometheus holds one series per service however many
   * replicas it scrapes.
   */
  backlogSamples(): BacklogSamples | undefined {
    if (!this.#synced) return undefined;
    const owners = [...this.#owners.Merchant.list(), ...this.#owners.Cart.list()] as Owner[];
    return backlogSamples({
      owners,
      merchant: (namespace, name) => this.#owners.Merchant.get(name, namespace) as Merchant | undefined,
      deployment: (namespace, name) => this.#children.Deployment.get(name, namespace),
      periods: (owner) => this.#servicePeriods.get(ownerKey(ownerRefOf(owner))),
    });
  }

  async stop(): Promise<void> {
    clearTimeout(this.#resyncTimer);
    await this.#queue.shutdown();
    await Promise.all(this.#informerSets().map((set) => set.stop()));
  }

  #view(): ClusterView {
    return {
      getOwner: (ref) => this.#owners[ref.kind].get(ref.name, ref.namespace) as Owner | undefined,
      childrenOf: (ref) => {
        const names = this.#childIndex.get(ownerKey(ref));
        const observed = noChildren();
        for (const kind of childKindNames) {
          for (const name of names?.[kind] ?? []) {
            const object = this.#children[kind].get(name, ref.namespace);
            if (object) (observed[kind] as k8s.KubernetesObject[]).push(object);
          }
        }
        return observed;
      },
      cartsOf: (merchant) =>
        [...(this.#cartsByMerchant.get(ownerKey(merchant)) ?? [])]
          .map((name) => this.#owners.Cart.get(name, merchant.namespace) as Cart | undefined)
          .filter((cart): cart is Cart => cart !== undefined && cart.spec?.merchantRef?.name === merchant.name),
      getJob: (namespace, name) => this.#children.Job.get(name, namespace),
      watcherPodsOf: (merchant) =>
        [...(this.#podIndex.get(ownerKey(merchant)) ?? [])]
          .map((name) => this.#watcherPods.get(name, merchant.namespace))
          .filter((pod): pod is k8s.V1Pod => pod !== undefined),
    };
  }

  #enqueueAll(): void {
    for (const kind of ownerKinds) {
      for (const object of this.#owners[kind].list()) {
        this.#queue.add(ownerKey({ kind, namespace: object.metadata!.namespace!, name: object.metadata!.name! }));
      }
    }
  }

  /** A periodic full resync, jittered so that replicas and restarts do not line up. */
  #scheduleResync(): void {
    const base = this.#options.resyncSeconds * 1000;
    this.#resyncTimer = setTimeout(
      () => {
        this.#enqueueAll();
        this.#scheduleResync();
      },
      base * (0.9 + Math.random() * 0.2),
    );
    this.#resyncTimer.unref();
  }

  #onOwnerEvent(kind: OwnerKind, object: k8s.KubernetesObject, present: boolean): void {
    const namespace = object.metadata?.namespace;
    const name = object.metadata?.name;
    if (!namespace || !name) return;
    const key = ownerKey({ kind, namespace, name });
    const facts = present ? ownerFactsOf(object) : undefined;
    const change = ownerChange(this.#ownerFacts.get(key), facts);
    if (facts) this.#ownerFacts.set(key, facts);
    else {
      this.#ownerFacts.delete(key);
      this.#lastStatusWritten.delete(key);
      this.#lastApplied.delete(key);
      this.#servicePeriods.delete(key);
    }
    // The operator's own status writes come back as updates: they need no reconcile (see owner-events.ts).
    if (change === 'none') return;
    this.#queue.add(key);
    // Failed records reported by the runner concern this object's status alone.
    if (change === 'runner') return;
    if (kind === 'Cart') {
      this.#indexCart(key, namespace, name, present ? (object as Cart).spec?.merchantRef?.name : undefined);
      return;
    }
    // Carts follow their Merchant's existence and spec (its time zone).
    this.#enqueueCartsOf(key, namespace);
  }

  /**
   * Keeps the Merchant → watcher pods index. A pod's trouble (a container that cannot start, a crash) is what the
   * status reports of a watcher that does not serve, so a change of it wakes the Merchant and its Carts; the rest of a
   * pod's life shows in its Deployment's status, whose events do that already.
   */
  #onWatcherPodEvent(pod: k8s.KubernetesObject, present: boolean): void {
    const owner = ownerRefOfChild(pod);
    const name = pod.metadata?.name;
    if (!owner || owner.kind !== 'Merchant' || !name) return;
    const key = ownerKey(owner);
    let pods = this.#podIndex.get(key);
    if (present) {
      if (!pods) this.#podIndex.set(key, (pods = new Set()));
      pods.add(name);
    } else if (pods) {
      pods.delete(name);
      if (pods.size === 0) this.#podIndex.delete(key);
    }
    const podKey = `${owner.namespace}/${name}`;
    const trouble = present ? (podProblem([pod]) ?? '') : undefined;
    if (this.#podTrouble.get(podKey) === trouble) return;
    if (trouble === undefined) this.#podTrouble.delete(podKey);
    else this.#podTrouble.set(podKey, trouble);
    this.#queue.add(key);
    this.#enqueueCartsOf(key, owner.namespace);
  }

  /**
   * Keeps the Merchant → Carts index, and wakes the Merchants a Cart event concerns: its watcher serves the Cart's
   * Automatic services. A Cart that moved wakes both its old and its new Merchant.
   */
  #indexCart(cartKey: string, namespace: string, cart: string, merchant: string | undefined): void {
    const before = this.#merchantOfCart.get(cartKey);
    const after = merchant === undefined ? undefined : ownerKey({ kind: 'Merchant', namespace, name: merchant });
    if (before !== after && before !== undefined) {
      this.#cartsByMerchant.get(before)?.delete(cart);
      if (this.#cartsByMerchant.get(before)?.size === 0) this.#cartsByMerchant.delete(before);
    }
    if (after === undefined) this.#merchantOfCart.delete(cartKey);
    else {
      this.#merchantOfCart.set(cartKey, after);
      let carts = this.#cartsByMerchant.get(after);
      if (!carts) this.#cartsByMerchant.set(after, (carts = new Set()));
      carts.add(cart);
    }
    for (const merchantKey of new Set([before, after])) if (merchantKey) this.#queue.add(merchantKey);
  }

  #enqueueCartsOf(merchantKey: string, namespace: string): void {
    for (const cart of this.#cartsByMerchant.get(merchantKey) ?? []) {
      this.#queue.add(ownerKey({ kind: 'Cart', namespace, name: cart }));
    }
  }

  #onChildEvent(kind: ChildKind, object: k8s.KubernetesObject, present: boolean): void {
    const owner = ownerRefOfChild(object);
    const name = object.metadata?.name;
    if (!owner || !name) return;
    const key = ownerKey(owner);
    let entry = this.#childIndex.get(key);
    if (!entry) {
      entry = Object.fromEntries(childKindNames.map((childKind) => [childKind, new Set<string>()])) as Record<
        ChildKind,
        Set<string>
      >;
      this.#childIndex.set(key, entry);
    }
    if (present) entry[kind].add(name);
    else entry[kind].delete(name);
    if (!present && Object.values(entry).every((names) => names.size === 0)) this.#childIndex.delete(key);
    this.#queue.add(key);
    // The merchant's watcher serves its Carts too: they report whether it runs their services.
    if (kind === 'Deployment' && object.metadata?.labels?.[componentLabel] === 'watcher') {
      this.#enqueueCartsOf(key, owner.namespace);
    }
  }
}
