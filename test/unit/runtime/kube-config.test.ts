// Every request used to get a dispatcher (a connection pool) of its own; with shareConnections they share one.
import * as k8s from '@kubernetes/client-node';
import { RequestContext, HttpMethod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { shareConnections } from '../../../operator/runtime/kube-config.ts';

function kubeConfig(caData: string, config = new k8s.KubeConfig()): k8s.KubeConfig {
  config.loadFromOptions({
    clusters: [{ name: 'local', server: 'https://127.0.0.1:6443', caData, skipTLSVerify: false }],
    users: [{ name: 'admin', token: 'secret' }],
    contexts: [{ name: 'local', cluster: 'local', user: 'admin' }],
    currentContext: 'local',
  });
  return config;
}

async function dispatcherOf(config: k8s.KubeConfig): Promise<unknown> {
  const context = new RequestContext('https://127.0.0.1:6443/api/v1/namespaces', HttpMethod.GET);
  await config.applySecurityAuthentication(context);
  return context.getDispatcher();
}

const ca = Buffer.from('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n').toString('base64');

describe('shareConnections', () => {
  it('gives every request the same dispatcher, where the client alone makes one per request', async () => {
    const plain = kubeConfig(ca);
    expect(await dispatcherOf(plain)).not.toBe(await dispatcherOf(plain));
    const shared = shareConnections(kubeConfig(ca));
    const first = await dispatcherOf(shared);
    expect(first).toBeDefined();
    expect(await dispatcherOf(shared)).toBe(first);
  });

  it('makes a new pool when the TLS settings change', async () => {
    const config = shareConnections(kubeConfig(ca));
    const first = await dispatcherOf(config);
    kubeConfig(Buffer.from('another').toString('base64'), config);
    expect(await dispatcherOf(config)).not.toBe(first);
    // The old pool is closed, not left behind.
    expect((first as { closed: boolean }).closed).toBe(true);
  });
});
