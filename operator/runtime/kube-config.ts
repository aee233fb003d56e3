// The API client's configuration, with connections that are kept and reused.
//
// client-node 2.0.1 builds a new undici Agent for every request (KubeConfig.applySecurityAuthentication calls
// createDispatcher each time), so no connection is ever reused: every request pays a TLS handshake, and every idle
// socket and its TLS buffers linger until they time out. At thousands of requests that is most of the operator's
// memory and much of the API server's work. Here the dispatcher is made once per set of TLS settings and shared.
import { createHash } from 'node:crypto';
import type { Cluster, KubeConfig } from '@kubernetes/client-node';

type CreateDispatcher = (cluster: Cluster | null, agentOptions: object) => unknown;

/** Makes `kubeConfig` reuse one dispatcher (one connection pool) per distinct TLS settings; returns it. */
export function shareConnections(kubeConfig: KubeConfig): KubeConfig {
  // createDispatcher is private in the typings, but it is the one place every request gets its dispatcher from.
  const target = kubeConfig as unknown as { createDispatcher?: CreateDispatcher };
  if (typeof target.createDispatcher !== 'function') {
    throw new Error('@kubernetes/client-node has no KubeConfig.createDispatcher any more: revisit kube-config.ts');
  }
  const create = target.createDispatcher.bind(kubeConfig);
  let current: { key: string; dispatcher: unknown } | undefined;
  target.createDispatcher = (cluster, agentOptions) => {
    // Keyed by the TLS settings themselves: a rotated client certificate gets a new pool, and the old one closes
    // once its requests (watches included) have finished.
    const settings = JSON.stringify(kubeConfig.createDispatcherOptions(cluster, agentOptions));
    const key = createHash('sha256').update(settings).digest('hex');
    if (current?.key !== key) {
      void (current?.dispatcher as { close?: () => Promise<void> } | undefined)?.close?.();
      current = { key, dispatcher: create(cluster, agentOptions) };
    }
    return current.dispatcher;
  };
  return kubeConfig;
}
