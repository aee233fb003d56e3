// The runner's own API client, as it runs in a pod of a ServiceAccount: a token the API server issued to that
// ServiceAccount, in a directory laid out as the kubelet mounts it, and KUBERNETES_SERVICE_HOST/PORT.
import * as k8s from '@kubernetes/client-node';
import { afterAll } from 'vitest';
import {
  createInClusterApi,
  detectInCluster,
  type InClusterApiOptions,
  type KubernetesApi,
} from '../../../operator/runner/reporting/in-cluster-api.ts';
import {
  clusterCa,
  removeServiceAccountDir,
  requestServiceAccountToken,
  serviceAccountDirVariable,
  serviceHostEnvironment,
  writeServiceAccountDir,
} from '../../cluster/service-account-token.ts';
import { testKubeConfig } from './cluster.ts';

export interface ServiceAccountApi {
  readonly api: KubernetesApi;
  /** The mounted directory (token, ca.crt, namespace). */
  readonly dir: string;
  /** The environment a pod of the ServiceAccount has. */
  readonly env: Record<string, string>;
}

const made: ServiceAccountApi[] = [];
afterAll(() => {
  for (const { api, dir } of made.splice(0)) {
    api.close();
    removeServiceAccountDir(dir);
  }
});

/** The in-cluster client the runner would build in a pod of ServiceAccount namespace/name; closed after the file. */
export async function serviceAccountApi(
  namespace: string,
  name: string,
  options: InClusterApiOptions = {},
): Promise<ServiceAccountApi> {
  const admin = testKubeConfig();
  const { token } = await requestServiceAccountToken(admin.makeApiClient(k8s.CoreV1Api), namespace, name, 3600);
  const dir = writeServiceAccountDir(token, clusterCa(admin), namespace);
  const env = { ...serviceHostEnvironment(admin), [serviceAccountDirVariable]: dir };
  const detected = detectInCluster(env);
  if (!detected.ok) throw new Error(`not detected as in a pod: ${detected.reason}`);
  const result = { api: createInClusterApi(detected.value, options), dir, env };
  made.push(result);
  return result;
}
