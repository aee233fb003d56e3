// The watcher's probes: ready only while listening, alive until deaf for longer than the grace.
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { watcherProbes } from '../../../operator/api/runner-contract.ts';
import {
  livenessGraceMs,
  probeAnswer,
  startHealthServer,
  type Listening,
} from '../../../operator/runner/services/health-server.ts';

const listeningFor = (listening: boolean, deafForMs = 0): Listening => ({ listening, deafForMs: () => deafForMs });

describe('probeAnswer', () => {
  it('is ready only while listening', () => {
    expect(probeAnswer(watcherProbes.readinessPath, listeningFor(true))).toEqual({ status: 200, body: 'listening\n' });
    expect(probeAnswer(watcherProbes.readinessPath, listeningFor(false))).toEqual({
      status: 503,
      body: 'not listening yet\n',
    });
    expect(probeAnswer(watcherProbes.readinessPath, undefined)).toEqual({ status: 503, body: 'not listening yet\n' });
  });

  it('is alive until deaf for longer than the grace', () => {
    expect(probeAnswer(watcherProbes.livenessPath, undefined)).toEqual({ status: 200, body: 'ok\n' });
    expect(probeAnswer(watcherProbes.livenessPath, listeningFor(true))).toEqual({ status: 200, body: 'ok\n' });
    expect(probeAnswer(watcherProbes.livenessPath, listeningFor(false, 5_000))).toEqual({ status: 200, body: 'ok\n' });
    expect(probeAnswer(watcherProbes.livenessPath, listeningFor(false, livenessGraceMs))).toEqual({
      status: 200,
      body: 'ok\n',
    });
    expect(probeAnswer(watcherProbes.livenessPath, listeningFor(false, livenessGraceMs + 1))).toEqual({
      status: 503,
      body: `not listening for ${Math.round((livenessGraceMs + 1) / 1000)} s\n`,
    });
    expect(probeAnswer(watcherProbes.livenessPath, listeningFor(false, 10 * 60_000))).toEqual({
      status: 503,
      body: 'not listening for 600 s\n',
    });
  });

  it('knows no other path', () => {
    for (const path of ['/', '/metrics', '/readyz/', undefined]) {
      expect(probeAnswer(path, listeningFor(true))).toEqual({ status: 404, body: 'not found\n' });
    }
  });
});

describe('startHealthServer', () => {
  let close: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await close?.();
    close = undefined;
  });

  it('answers /readyz over HTTP from the listening it is given at each request', async () => {
    let listening: Listening | undefined;
    const server = await startHealthServer(
      0,
      () => listening,
      () => '',
    );
    close = () => new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    const { port } = server.address() as AddressInfo;
    const readyz = async (query = '') => {
      const response = await fetch(`http://127.0.0.1:${port}${watcherProbes.readinessPath}${query}`);
      return { status: response.status, body: await response.text() };
    };

    expect(await readyz()).toEqual({ status: 503, body: 'not listening yet\n' });
    listening = listeningFor(false);
    expect(await readyz()).toEqual({ status: 503, body: 'not listening yet\n' });
    listening = listeningFor(true);
    expect(await readyz('?verbose=1')).toEqual({ status: 200, body: 'listening\n' });
    const liveness = await fetch(`http://127.0.0.1:${port}${watcherProbes.livenessPath}`);
    expect(liveness.status).toBe(200);
    expect(liveness.headers.get('content-type')).toBe('text/plain');
    await liveness.text();
  });

  it('serves /metrics as its metrics are at each request, in the text exposition format', async () => {
    let exposition = 'switchyard_watcher_up 1\n';
    const server = await startHealthServer(
      0,
      () => undefined,
      () => exposition,
    );
    close = () => new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    const { port } = server.address() as AddressInfo;
    const scrape = async () => {
      const response = await fetch(`http://127.0.0.1:${port}/metrics`);
      return { status: response.status, type: response.headers.get('content-type'), body: await response.text() };
    };
    expect(await scrape()).toEqual({
      status: 200,
      type: 'text/plain; version=0.0.4; charset=utf-8',
      body: 'switchyard_watcher_up 1\n',
    });
    exposition = 'switchyard_watcher_up 2\n';
    expect((await scrape()).body).toBe('switchyard_watcher_up 2\n');
  });
});
