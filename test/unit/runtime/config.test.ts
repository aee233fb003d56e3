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

  it('rejects unknown flags', () => {
    expect(() => loadConfig(['--colour', 'red'], {})).toThrowError(/colour/);
  });
});
