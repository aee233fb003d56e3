// What the kubelet gives a pod of its ServiceAccount, made for a local process: a token the API server issues
// (TokenRequest), the cluster's CA and the namespace, in a directory laid out like
// /var/run/secrets/kubernetes.io/serviceaccount, and the variables that point a process at the API server.
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as k8s from '@kubernetes/client-node';

/** The variable that moves the runner's ServiceAccount directory (operator/runner/reporting/in-cluster-api.ts). */
export const serviceAccountDirVariable = 'SWITCHYARD_SERVICE_ACCOUNT_DIR';

export interface IssuedToken {
  readonly token: string;
  readonly expiresAt: Date;
}

/** A token of the ServiceAccount from the TokenRequest API, for the API server's default audience. */
export async function requestServiceAccountToken(
  core: k8s.CoreV1Api,
  namespace: string,
  name: string,
  expirationSeconds = 3600,
): Promise<IssuedToken> {
  const issued = await core.createNamespacedServiceAccountToken({
    namespace,
    name,
    body: { spec: { audiences: [], expirationSeconds } },
  });
  const token = issued.status?.token;
  if (!token) throw new Error(`TokenRequest for ServiceAccount ${namespace}/${name} returned no token`);
  return { token, expiresAt: new Date(issued.status?.expirationTimestamp ?? Date.now() + expirationSeconds * 1000) };
}

/** The PEM of the kubeconfig's current cluster's CA (certificate-authority-data, or the file it names). */
export function clusterCa(kubeConfig: k8s.KubeConfig): Buffer {
  const cluster = kubeConfig.getCurrentCluster();
  if (cluster?.caData) return Buffer.from(cluster.caData, 'base64');
  if (cluster?.caFile) return readFileSync(cluster.caFile);
  throw new Error('the kubeconfig names no certificate authority for its current cluster');
}

/** KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT, as in a pod, for the kubeconfig's API server. */
export function serviceHostEnvironment(kubeConfig: k8s.KubeConfig): Record<string, string> {
  const server = kubeConfig.getCurrentCluster()?.server;
  if (!server) throw new Error('the kubeconfig has no current cluster');
  const url = new URL(server);
  // URL keeps an IPv6 host in brackets; the variable, as Kubernetes sets it, has none.
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return { KUBERNETES_SERVICE_HOST: host, KUBERNETES_SERVICE_PORT: url.port || '443' };
}

/** A private directory (0700) with token, ca.crt and namespace (0600), as the kubelet mounts them. */
export function writeServiceAccountDir(token: string, ca: Buffer, namespace: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-serviceaccount-'));
  writeFileSync(join(dir, 'ca.crt'), ca, { mode: 0o600 });
  writeFileSync(join(dir, 'namespace'), namespace, { mode: 0o600 });
  replaceToken(dir, token);
  return dir;
}

/** Swaps the token in at once, as the kubelet's atomic writer does: a reader sees the old one or the new one. */
export function replaceToken(dir: string, token: string): void {
  const next = join(dir, '.token.next');
  writeFileSync(next, token, { mode: 0o600 });
  renameSync(next, join(dir, 'token'));
}

export function removeServiceAccountDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
