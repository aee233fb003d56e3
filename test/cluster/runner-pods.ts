// kwok's nodes only pretend to run containers. This runs the runner container of each Switchyard pod on the local
// cluster as a real process on this machine, with the environment the pod spec gives it (values, the downward API,
// Secret keys) and what the kubelet mounts of the pod's ServiceAccount: a token the API server issued to it (renewed
// before it expires), the cluster's CA and the namespace, so the operator's workloads do real work with exactly the
// rights they have in a pod.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { runnerEnv } from '../../operator/api/runner-contract.ts';
import { repoRoot } from './local-cluster.ts';
import {
  clusterCa,
  removeServiceAccountDir,
  replaceToken,
  requestServiceAccountToken,
  serviceAccountDirVariable,
  serviceHostEnvironment,
  writeServiceAccountDir,
} from './service-account-token.ts';

const runnerEntryPoint = join(repoRoot, 'operator/runner/main.ts');

export interface RunnerPodsOptions {
  kubeconfig: string;
  namespace: string;
  /** Where each process's output goes, line by line. */
  onOutput?: (pod: string, line: string) => void;
  /** Extra variables for every runner (e.g. shorter timings in tests). */
  extraEnv?: Record<string, string>;
}

/** Tokens live an hour and are renewed at 80% of that, as the kubelet does. */
const tokenSeconds = 3600;
const renewAt = 0.8;

/** A pod's mounted ServiceAccount: its directory, and the timer that renews the token in it. */
interface MountedIdentity {
  readonly dir: string;
  renewal: NodeJS.Timeout | undefined;
}

interface RunningProcess {
  child: ChildProcess;
  /** Watchers are restarted when they exit; Job pods run once. */
  restart: boolean;
}

export class RunnerPods {
  readonly #options: RunnerPodsOptions;
  readonly #kubeConfig = new k8s.KubeConfig();
  readonly #core: k8s.CoreV1Api;
  readonly #processes = new Map<string, RunningProcess>();
  /** Pods whose run has begun (Job pods are not started again after their process exits). */
  readonly #started = new Set<string>();
  /** By pod uid: kept across a watcher's restarts, removed when its pod goes or its Job pod's process is done. */
  readonly #identities = new Map<string, MountedIdentity>();
  #informer: (k8s.Informer<k8s.V1Pod> & k8s.ObjectCache<k8s.V1Pod>) | undefined;
  #stopped = false;

  constructor(options: RunnerPodsOptions) {
    this.#options = options;
    this.#kubeConfig.loadFromFile(options.kubeconfig);
    this.#core = this.#kubeConfig.makeApiClient(k8s.CoreV1Api);
  }

  async start(): Promise<void> {
    const { namespace } = this.#options;
    const labelSelector = 'app.kubernetes.io/name=switchyard-runner';
    this.#informer = k8s.makeInformer(
      this.#kubeConfig,
      `/api/v1/namespaces/${namespace}/pods`,
      () => this.#core.listNamespacedPod({ namespace, labelSelector }),
      labelSelector,
    );
    const consider = (pod: k8s.V1Pod) => void this.#consider(pod);
    this.#informer.on('add', consider);
    this.#informer.on('update', consider);
    this.#informer.on('delete', (pod) => {
      const uid = pod.metadata!.uid!;
      void this.#stopProcess(uid).then(() => this.#releaseIdentity(uid));
    });
    this.#informer.on('error', () => {
      if (!this.#stopped) setTimeout(() => void this.#informer?.start(), 1_000);
    });
    await this.#informer.start();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#informer?.stop();
    await Promise.all([...this.#processes.keys()].map((uid) => this.#stopProcess(uid)));
    for (const uid of [...this.#identities.keys()]) this.#releaseIdentity(uid);
  }

  async #consider(pod: k8s.V1Pod): Promise<void> {
    const uid = pod.metadata?.uid;
    // Scheduled onto a (fake) node and not being deleted: the kubelet would start it now.
    if (!uid || this.#stopped || !pod.spec?.nodeName || pod.metadata?.deletionTimestamp) return;
    if (this.#started.has(uid)) return;
    this.#started.add(uid);
    const env = await this.#environment(pod);
    if (!env) return;
    this.#launch(pod, env);
  }

  #launch(pod: k8s.V1Pod, env: NodeJS.ProcessEnv): void {
    const uid = pod.metadata!.uid!;
    const name = pod.metadata!.name!;
    const container = pod.spec!.containers[0]!;
    const child = spawn(process.execPath, [runnerEntryPoint, ...(container.args ?? [])], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const restart = pod.spec!.restartPolicy === 'Always';
    this.#processes.set(uid, { child, restart });
    for (const stream of [child.stdout, child.stderr]) {
      stream.on('data', (chunk: Buffer) => {
        for (const line of chunk.toString().split('\n').filter(Boolean)) this.#options.onOutput?.(name, line);
      });
    }
    child.on('exit', () => {
      if (this.#processes.get(uid)?.child !== child) return;
      this.#processes.delete(uid);
      // A watcher's container restarts, as with restartPolicy: Always; a Job's pod is done.
      if (restart && !this.#stopped) setTimeout(() => this.#relaunch(uid), 1_000);
      else this.#releaseIdentity(uid);
    });
  }

  #relaunch(uid: string): void {
    const pod = this.#informer?.list().find((candidate) => candidate.metadata?.uid === uid);
    if (!pod || this.#stopped || pod.metadata?.deletionTimestamp) return;
    void this.#environment(pod).then((env) => env && this.#launch(pod, env));
  }

  #stopProcess(uid: string): Promise<void> {
    const running = this.#processes.get(uid);
    if (!running) return Promise.resolve();
    this.#processes.delete(uid);
    const exited = new Promise<void>((resolve) => running.child.once('exit', () => resolve()));
    running.child.kill('SIGTERM');
    return exited;
  }

  /** The container's environment as the kubelet would build it; undefined when a Secret it needs is missing. */
  async #environment(pod: k8s.V1Pod): Promise<NodeJS.ProcessEnv | undefined> {
    const namespace = pod.metadata!.namespace!;
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, ...this.#options.extraEnv };
    for (const variable of pod.spec!.containers[0]!.env ?? []) {
      if (variable.value !== undefined) env[variable.name] = variable.value;
      else if (variable.valueFrom?.fieldRef?.fieldPath === 'metadata.namespace') env[variable.name] = namespace;
      else if (variable.valueFrom?.secretKeyRef) {
        const { name = '', key, optional } = variable.valueFrom.secretKeyRef;
        try {
          const secret = await this.#core.readNamespacedSecret({ name, namespace });
          const value = secret.data?.[key];
          if (value === undefined) throw new Error(`no key ${key}`);
          env[variable.name] = Buffer.from(value, 'base64').toString('utf8');
        } catch (error) {
          if (optional) continue;
          this.#options.onOutput?.(pod.metadata!.name!, `not started: Secret ${name} key ${key}: ${String(error)}`);
          this.#started.delete(pod.metadata!.uid!);
          return undefined;
        }
      }
    }
    // Pods have a network of their own; these processes share this machine's, so probes listen on any free port.
    if (env[runnerEnv.healthPort] !== undefined) env[runnerEnv.healthPort] = '0';
    if (await this.#mountsToken(pod)) {
      try {
        const dir = await this.#mountIdentity(pod);
        Object.assign(env, serviceHostEnvironment(this.#kubeConfig), { [serviceAccountDirVariable]: dir });
      } catch (error) {
        const serviceAccount = pod.spec!.serviceAccountName ?? 'default';
        this.#options.onOutput?.(
          pod.metadata!.name!,
          `not started: ServiceAccount ${serviceAccount}: ${String(error)}`,
        );
        this.#started.delete(pod.metadata!.uid!);
        return undefined;
      }
    }
    return env;
  }

  /** As the kubelet decides: the pod's automountServiceAccountToken, else its ServiceAccount's, else true. */
  async #mountsToken(pod: k8s.V1Pod): Promise<boolean> {
    if (pod.spec!.automountServiceAccountToken !== undefined) return pod.spec!.automountServiceAccountToken;
    const namespace = pod.metadata!.namespace!;
    const name = pod.spec!.serviceAccountName ?? 'default';
    try {
      const serviceAccount = await this.#core.readNamespacedServiceAccount({ namespace, name });
      return serviceAccount.automountServiceAccountToken ?? true;
    } catch {
      return true; // the TokenRequest then says what is wrong
    }
  }

  /** The pod's ServiceAccount directory, made on first use with a token the API server issued for it. */
  async #mountIdentity(pod: k8s.V1Pod): Promise<string> {
    const uid = pod.metadata!.uid!;
    const existing = this.#identities.get(uid);
    if (existing) return existing.dir;
    const namespace = pod.metadata!.namespace!;
    const serviceAccount = pod.spec!.serviceAccountName ?? 'default';
    const issued = await requestServiceAccountToken(this.#core, namespace, serviceAccount, tokenSeconds);
    const identity: MountedIdentity = {
      dir: writeServiceAccountDir(issued.token, clusterCa(this.#kubeConfig), namespace),
      renewal: undefined,
    };
    this.#identities.set(uid, identity);
    this.#renewIn(uid, identity, namespace, serviceAccount, (issued.expiresAt.getTime() - Date.now()) * renewAt);
    return identity.dir;
  }

  /** Replaces the token with a fresh one after delayMs, as the kubelet does; on failure, tries again in a minute. */
  #renewIn(uid: string, identity: MountedIdentity, namespace: string, serviceAccount: string, delayMs: number): void {
    identity.renewal = setTimeout(
      () => {
        void requestServiceAccountToken(this.#core, namespace, serviceAccount, tokenSeconds).then(
          (next) => {
            if (this.#identities.get(uid) !== identity) return;
            replaceToken(identity.dir, next.token);
            this.#renewIn(uid, identity, namespace, serviceAccount, (next.expiresAt.getTime() - Date.now()) * renewAt);
          },
          () => {
            if (this.#identities.get(uid) === identity) this.#renewIn(uid, identity, namespace, serviceAccount, 60_000);
          },
        );
      },
      Math.max(delayMs, 60_000),
    );
    identity.renewal.unref();
  }

  #releaseIdentity(uid: string): void {
    const identity = this.#identities.get(uid);
    if (!identity) return;
    this.#identities.delete(uid);
    clearTimeout(identity.renewal);
    removeServiceAccountDir(identity.dir);
  }
}
