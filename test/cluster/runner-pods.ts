// kwok's nodes only pretend to run containers. This runs the runner container of each Switchyard pod on the local
// cluster as a real process on this machine, with the environment the pod spec gives it (values, the downward API,
// Secret keys) and the pod's own ServiceAccount identity (impersonated), so the operator's workloads do real work.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { repoRoot } from './local-cluster.ts';

const runnerEntryPoint = join(repoRoot, 'operator/runner/main.ts');

export interface RunnerPodsOptions {
  kubeconfig: string;
  namespace: string;
  /** Where each process's output goes, line by line. */
  onOutput?: (pod: string, line: string) => void;
  /** Extra variables for every runner (e.g. shorter timings in tests). */
  extraEnv?: Record<string, string>;
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
    this.#informer.on('delete', (pod) => void this.#stopProcess(pod.metadata!.uid!));
    this.#informer.on('error', () => {
      if (!this.#stopped) setTimeout(() => void this.#informer?.start(), 1_000);
    });
    await this.#informer.start();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#informer?.stop();
    await Promise.all([...this.#processes.keys()].map((uid) => this.#stopProcess(uid)));
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
    env.KUBECONFIG = this.#kubeconfigFor(namespace, pod.spec!.serviceAccountName ?? 'default');
    return env;
  }

  /** A kubeconfig that acts as the pod's ServiceAccount, so the runner has exactly the rights it has in a pod. */
  #kubeconfigFor(namespace: string, serviceAccount: string): string {
    const path = join(tmpdir(), `switchyard-runner-${namespace}-${serviceAccount}.kubeconfig`);
    const kubeConfig = new k8s.KubeConfig();
    kubeConfig.loadFromFile(this.#options.kubeconfig);
    const user = kubeConfig.getCurrentUser()!;
    const impersonating = { ...user, impersonateUser: `system:serviceaccount:${namespace}:${serviceAccount}` };
    kubeConfig.users = kubeConfig.users.map((candidate) => (candidate.name === user.name ? impersonating : candidate));
    writeFileSync(path, kubeConfig.exportConfig(), { mode: 0o600 });
    return path;
  }
}
