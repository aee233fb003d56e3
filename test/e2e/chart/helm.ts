// The pinned helm and kubectl against the test cluster, for the chart's tests: commands whose exit code matters,
// the chart rendered into objects, and a kubeconfig that acts as one ServiceAccount.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as k8s from '@kubernetes/client-node';
import { inject } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import { repoRoot } from '../../cluster/local-cluster.ts';
import { kubectl, testKubeConfig } from '../support/cluster.ts';

export const chartDir = join(repoRoot, 'charts/switchyard');

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

// Helm keeps repositories and caches under these; a folder of the test run's own leaves the developer's alone.
const helmHome = mkdtempSync(join(tmpdir(), 'switchyard-helm-'));
const helmEnv = {
  ...process.env,
  HELM_CONFIG_HOME: join(helmHome, 'config'),
  HELM_CACHE_HOME: join(helmHome, 'cache'),
  HELM_DATA_HOME: join(helmHome, 'data'),
};

function runCommand(file: string, args: string[], input?: string): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(file, args, { env: helmEnv, maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') reject(new Error(`could not run ${file}`, { cause: error }));
      else resolve({ code: typeof error?.code === 'number' ? error.code : 0, stdout, stderr });
    });
    child.stdin?.end(input ?? '');
  });
}

/** helm with the test cluster's kubeconfig; resolves whatever the exit code. */
export function helmResult(args: string[]): Promise<CommandResult> {
  return runCommand(inject('binaries').helm, ['--kubeconfig', inject('kubeconfig'), ...args]);
}

/** helm that must succeed: resolves with stdout, rejects with stderr in the message. */
export async function helm(args: string[]): Promise<string> {
  const result = await helmResult(args);
  if (result.code !== 0) throw new Error(`helm ${args.join(' ')} failed (${result.code}): ${result.stderr.trim()}`);
  return result.stdout;
}

/** kubectl with the test cluster's kubeconfig; resolves whatever the exit code. */
export function kubectlResult(args: string[], input?: string): Promise<CommandResult> {
  return runCommand(inject('binaries').kubectl, ['--kubeconfig', inject('kubeconfig'), ...args], input);
}

/** A release name of its own: the chart's ClusterRoles are named after the release, and the cluster is shared. */
export function uniqueReleaseName(prefix: string): string {
  return `${prefix}-${randomBytes(3).toString('hex')}`;
}

export function parseManifests(yaml: string): k8s.KubernetesObject[] {
  return parseAllDocuments(yaml)
    .map((document) => document.toJS() as k8s.KubernetesObject | null)
    .filter((object): object is k8s.KubernetesObject => object !== null);
}

/** `helm template` of the chart into objects. */
export async function renderChart(release: string, namespace: string, options: string[] = []) {
  return parseManifests(await helm(['template', release, chartDir, '--namespace', namespace, ...options]));
}

export function findObject<T extends k8s.KubernetesObject>(
  objects: readonly k8s.KubernetesObject[],
  kind: string,
  name?: string,
): T {
  const found = objects.find(
    (object) => object.kind === kind && (name === undefined || object.metadata?.name === name),
  );
  if (!found) throw new Error(`no ${kind}${name ? ` ${name}` : ''} among ${objects.map(describeObject).join(', ')}`);
  return found as T;
}

export function describeObject(object: k8s.KubernetesObject): string {
  const namespace = object.metadata?.namespace ? `${object.metadata.namespace}/` : '';
  return `${object.kind}/${namespace}${object.metadata?.name}`;
}

export function serviceAccountUser(namespace: string, name: string): string {
  return `system:serviceaccount:${namespace}:${name}`;
}

/**
 * Writes a kubeconfig that authenticates with a token the API server issued to the ServiceAccount (TokenRequest): the
 * process using it is that ServiceAccount as far as authentication and RBAC go, as in a pod.
 */
export async function serviceAccountKubeconfig(namespace: string, name: string): Promise<string> {
  const token = (await kubectl(['create', 'token', name, '-n', namespace, '--duration=1h'])).trim();
  const cluster = testKubeConfig().getCurrentCluster();
  if (!cluster) throw new Error('the test kubeconfig has no current cluster');
  const clusterEntry: Record<string, string> = { server: cluster.server };
  if (cluster.caFile) clusterEntry['certificate-authority'] = cluster.caFile;
  if (cluster.caData) clusterEntry['certificate-authority-data'] = cluster.caData;
  const file = join(mkdtempSync(join(tmpdir(), 'switchyard-identity-')), 'kubeconfig');
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'test', cluster: clusterEntry }],
    users: [{ name, user: { token } }],
    contexts: [{ name, context: { cluster: 'test', user: name } }],
    'current-context': name,
  };
  writeFileSync(file, stringify(config), { mode: 0o600 });
  return file;
}

export interface AccessScope {
  /** Omitted: across all namespaces. */
  namespace?: string;
  subresource?: string;
}

/** `kubectl auth can-i` as the user (impersonated by the admin): true for yes, false for no. */
export async function canI(user: string, verb: string, resource: string, scope: AccessScope = {}): Promise<boolean> {
  const args = ['auth', 'can-i', verb, resource, '--as', user];
  args.push(...(scope.namespace ? ['--namespace', scope.namespace] : ['--all-namespaces']));
  if (scope.subresource) args.push('--subresource', scope.subresource);
  const result = await kubectlResult(args);
  const answer = result.stdout.trim();
  if (result.code === 0 && answer === 'yes') return true;
  if (result.code === 1 && answer === 'no') return false;
  throw new Error(`kubectl ${args.join(' ')} failed (${result.code}): ${result.stderr.trim()}`);
}
