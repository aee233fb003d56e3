import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../operator/config.ts';

describe('loadConfig', () => {
  it('has defaults for everything', () => {
    const config = loadConfig([], {});
    expect(config).toMatchObject({ watchNamespaces: [], concurrency: 16, httpPort: 8080, leaderElection: true });
  });

  it('reads the environment, and a flag wins over it', () => {
    const config = loadConfig(['--concurrency', '4'], {
      SWITCHYARD_CONCURRENCY: '8',
      SWITCHYARD_WATCH_NAMESPACES: 'shops, more-shops',
      SWITCHYARD_LEADER_ELECTION: 'false',
      SWITCHYARD_RUNNER_IMAGE_PULL_SECRETS: 'regcred,mirror.example',
    });
    expect(config.concurrency).toBe(4);
    expect(config.runnerImagePullSecrets).toEqual(['regcred', 'mirror.example']);
    expect(config.watchNamespaces).toEqual(['shops', 'more-shops']);
    expect(config.leaderElection).toBe(false);
  });

  it('names every bad value and its rule', () => {
    const load = () =>
      loadConfig(['--http-port', '70000'], {
        SWITCHYARD_RUNNER_CPU_LIMIT: 'lots',
        SWITCHYARD_LEADER_ELECTION: 'maybe',
        SWITCHYARD_RUNNER_IMAGE_PULL_SECRETS: 'regcred,Bad_Name',
      });
    expect(load).toThrowError(/--http-port="70000": .*65535/);
    expect(load).toThrowError(
      /SWITCHYARD_RUNNER_CPU_LIMIT="lots": must be a Kubernetes quantity such as 100m or 128Mi/,
    );
    expect(load).toThrowError(/SWITCHYARD_LEADER_ELECTION="maybe"/);
    expect(load).toThrowError(/SWITCHYARD_RUNNER_IMAGE_PULL_SECRETS="regcred,Bad_Name": must be Secret names/);
  });

  it('holds resource quantities in the form the API server stores, so that children it applies match', () => {
    const config = loadConfig(['--runner-memory-limit', '2048Mi'], {
      SWITCHYARD_RUNNER_MEMORY_REQUEST: '1024Mi',
      SWITCHYARD_RUNNER_CPU_REQUEST: '0.5',
      SWITCHYARD_RUNNER_CPU_LIMIT: '1000m',
    });
    expect(config).toMatchObject({
      runnerMemoryRequest: '1Gi',
      runnerMemoryLimit: '2Gi',
      runnerCpuRequest: '500m',
      runnerCpuLimit: '1',
    });
    expect(loadConfig([], {})).toMatchObject({
      runnerCpuRequest: '50m',
      runnerCpuLimit: '500m',
      runnerMemoryRequest: '64Mi',
      runnerMemoryLimit: '256Mi',
    });
  });

  it('refuses a runner request above its limit, which the API server would refuse in every pod', () => {
    const load = () =>
      loadConfig(['--runner-cpu-request', '2'], {
        SWITCHYARD_RUNNER_CPU_LIMIT: '1500m',
        SWITCHYARD_RUNNER_MEMORY_REQUEST: '1Gi',
        SWITCHYARD_RUNNER_MEMORY_LIMIT: '1024Mi',
      });
    expect(load).toThrowError(/--runner-cpu-request="2": exceeds SWITCHYARD_RUNNER_CPU_LIMIT \(1500m\)/);
    // Equal is fine, whatever the spelling.
    expect(() => load()).not.toThrowError(/MEMORY/);
  });

  it('rejects unknown flags', () => {
    expect(() => loadConfig(['--colour', 'red'], {})).toThrowError(/colour/);
  });
});
