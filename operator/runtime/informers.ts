// Informers that stay alive. client-node's informer restarts itself only after 410 Gone and client-side timeouts;
// after any other error it stops for good, so each one here is supervised and restarted with backoff.
import * as k8s from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { describeApiError } from '../reconcile/request-error.ts';
import { backoffDelay } from './workqueue.ts';

export interface ResourceType {
  apiVersion: string;
  kind: string;
  plural: string;
}

export type ObjectHandler = (object: k8s.KubernetesObject) => void;

export interface InformerHandlers {
  onChange: ObjectHandler;
  onDelete: ObjectHandler;
}

const restartBackoff = { baseMs: 1_000, maxMs: 60_000 };

export interface InformerOptions {
  /**
   * Hold each object's spec as JSON text, parsed again on every read: thousands of workloads' pod templates take a
   * few kilobytes each as text, and many times that as objects.
   */
  compactSpecs?: boolean;
  /** Reduces each object, in place, to what the operator reads of it, before it is cached. */
  transform?: (object: k8s.KubernetesObject) => void;
}

const specTexts = new WeakMap<object, string>();

function compactSpec(object: k8s.KubernetesObject): void {
  const withSpec = object as { spec?: unknown };
  if (withSpec.spec === undefined) return;
  specTexts.set(object, JSON.stringify(withSpec.spec));
  delete withSpec.spec;
}

function withSpec(object: k8s.KubernetesObject | undefined): k8s.KubernetesObject | undefined {
  const text = object && specTexts.get(object);
  return text === undefined ? object : ({ ...object, spec: JSON.parse(text) as unknown } as k8s.KubernetesObject);
}

function collectionPath(type: ResourceType, namespace: string | undefined): string {
  const prefix = type.apiVersion.includes('/') ? `/apis/${type.apiVersion}` : `/api/${type.apiVersion}`;
  return namespace ? `${prefix}/namespaces/${namespace}/${type.plural}` : `${prefix}/${type.plural}`;
}

/** One list-watch of one resource type in one namespace (or all), restarted whenever it fails. */
export class SupervisedInformer {
  readonly #informer: k8s.Informer<k8s.KubernetesObject> & k8s.ObjectCache<k8s.KubernetesObject>;
  readonly #log: Logger;
  #failures = 0;
  #stopped = false;
  #restartTimer: NodeJS.Timeout | undefined;
  /** Set when a (re)start's list or watch fails; a start that ends without it has filled the cache. */
  #failedSinceStart = false;
  readonly #synced = Promise.withResolvers<void>();

  constructor(
    kubeConfig: k8s.KubeConfig,
    type: ResourceType,
    namespace: string | undefined,
    labelSelector: string | undefined,
    handlers: InformerHandlers,
    log: Logger,
    options: InformerOptions = {},
  ) {
    const custom = kubeConfig.makeApiClient(k8s.CustomObjectsApi);
    const objects = k8s.KubernetesObjectApi.makeApiClient(kubeConfig);
    const [group, version] = type.apiVersion.split('/') as [string, string | undefined];
    // Lists should come back as plain JSON, as watch events do: the generic client does that for any group, but
    // reaches only /apis; the core group (/api/v1) goes through the typed client, whose Dates a JSON round trip undoes.
    const fetchList = async (): Promise<k8s.KubernetesListObject<k8s.KubernetesObject>> => {
      if (version === undefined) {
        const typed = await objects.list(
          type.apiVersion,
          type.kind,
          namespace,
          undefined,
          undefined,
          undefined,
          undefined,
          labelSelector,
        );
        return JSON.parse(JSON.stringify(typed)) as k8s.KubernetesListObject<k8s.KubernetesObject>;
      }
      return (await (namespace
        ? custom.listNamespacedCustomObject({ group, version, namespace, plural: type.plural, labelSelector })
        : custom.listClusterCustomObject({
            group,
            version,
            plural: type.plural,
            labelSelector,
          }))) as k8s.KubernetesListObject<k8s.KubernetesObject>;
    };
    // List items lack apiVersion and kind, which watch events carry: add them so every cached object looks alike.
    const list = async () => {
      const result = await fetchList();
      // A list that came through ends the failures: the next outage starts its backoff afresh.
      this.#failures = 0;
      result.items = result.items.map((item) => ({ ...item, apiVersion: type.apiVersion, kind: type.kind }));
      return result;
    };
    this.#informer = k8s.makeInformer(kubeConfig, collectionPath(type, namespace), list, labelSelector);
    this.#log = log.child({ informer: type.kind, namespace: namespace ?? '*' });
    // The cache keeps the very objects handed to these callbacks: dropping what the operator never reads (the field
    // managers, kubectl's copy of the last applied object) here keeps memory small.
    const keep = (object: k8s.KubernetesObject) => {
      if (object.metadata) {
        delete object.metadata.managedFields;
        delete object.metadata.annotations?.['kubectl.kubernetes.io/last-applied-configuration'];
      }
      options.transform?.(object);
      if (options.compactSpecs) compactSpec(object);
      this.#failures = 0;
      handlers.onChange(object);
    };
    this.#informer.on('add', keep);
    this.#informer.on('update', keep);
    this.#informer.on('delete', handlers.onDelete);
    this.#informer.on('error', (error: unknown) => this.#restartLater(error));
  }

  /** Lists, then watches; resolves once a list is in the cache (after restarts, if the first attempts fail). */
  async start(): Promise<void> {
    await this.#startOnce();
    await this.#synced.promise;
  }

  async #startOnce(): Promise<void> {
    this.#failedSinceStart = false;
    await this.#informer.start();
    if (!this.#failedSinceStart) this.#synced.resolve();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#restartTimer);
    await this.#informer.stop();
  }

  list(namespace?: string): readonly k8s.KubernetesObject[] {
    return this.#informer.list(namespace).map((object) => withSpec(object)!);
  }

  get(name: string, namespace: string): k8s.KubernetesObject | undefined {
    return withSpec(this.#informer.get(name, namespace));
  }

  #restartLater(error: unknown): void {
    if (this.#stopped) return;
    this.#failedSinceStart = true;
    this.#failures += 1;
    const delay = backoffDelay(this.#failures, restartBackoff, Math.random);
    // One line: the API's answer (code, reason, message), not the client's exception with its request headers.
    const { code, reason, message } = describeApiError(error);
    this.#log.warn({ code, reason, message, retryInMs: delay }, 'watch failed; restarting the informer');
    this.#restartTimer = setTimeout(() => {
      this.#startOnce().catch((startError: unknown) => this.#restartLater(startError));
    }, delay);
  }
}

/** The same resource type watched in several namespaces, or in all of them, behind one cache interface. */
export class InformerSet {
  readonly #informers: Map<string, SupervisedInformer>;
  readonly #clusterWide: SupervisedInformer | undefined;

  constructor(
    kubeConfig: k8s.KubeConfig,
    type: ResourceType,
    namespaces: readonly string[],
    labelSelector: string | undefined,
    handlers: InformerHandlers,
    log: Logger,
    options: InformerOptions = {},
  ) {
    const make = (namespace: string | undefined) =>
      new SupervisedInformer(kubeConfig, type, namespace, labelSelector, handlers, log, options);
    this.#clusterWide = namespaces.length === 0 ? make(undefined) : undefined;
    this.#informers = new Map(namespaces.map((namespace) => [namespace, make(namespace)]));
  }

  #all(): SupervisedInformer[] {
    return this.#clusterWide ? [this.#clusterWide] : [...this.#informers.values()];
  }

  async start(): Promise<void> {
    await Promise.all(this.#all().map((informer) => informer.start()));
  }

  async stop(): Promise<void> {
    await Promise.all(this.#all().map((informer) => informer.stop()));
  }

  get(name: string, namespace: string): k8s.KubernetesObject | undefined {
    return (this.#clusterWide ?? this.#informers.get(namespace))?.get(name, namespace);
  }

  list(namespace?: string): readonly k8s.KubernetesObject[] {
    if (this.#clusterWide) return this.#clusterWide.list(namespace);
    if (namespace) return this.#informers.get(namespace)?.list(namespace) ?? [];
    return [...this.#informers.values()].flatMap((informer) => informer.list());
  }
}
