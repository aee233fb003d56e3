// The watcher's probes. Ready once it listens for every destination's work, so that a rolling update keeps the old
// pod until the new one hears new records; alive while that listening holds, or is lost for less than a grace (a
// hub store restart), so that a watcher deaf for good is restarted rather than silently idle. /metrics beside them.
import { createServer, type Server } from 'node:http';
import { watcherProbes } from '../../api/runner-contract.ts';
import { expositionContentType } from './watcher-metrics.ts';

export const metricsPath = '/metrics';

export interface Listening {
  readonly listening: boolean;
  deafForMs(): number;
}

/** A watcher deaf for longer than this is not alive. */
export const livenessGraceMs = 120_000;

export function probeAnswer(
  path: string | undefined,
  listening: Listening | undefined,
): { status: number; body: string } {
  switch (path) {
    case watcherProbes.readinessPath:
      return listening?.listening ? { status: 200, body: 'listening\n' } : { status: 503, body: 'not listening yet\n' };
    case watcherProbes.livenessPath: {
      const deafForMs = listening?.deafForMs() ?? 0;
      return deafForMs > livenessGraceMs
        ? { status: 503, body: `not listening for ${Math.round(deafForMs / 1000)} s\n` }
        : { status: 200, body: 'ok\n' };
    }
    default:
      return { status: 404, body: 'not found\n' };
  }
}

/**
 * Serves the probes, and `metrics()` at /metrics, on `port` (0: any free port); resolves with the server once it
 * listens.
 */
export async function startHealthServer(
  port: number,
  listening: () => Listening | undefined,
  metrics: () => string,
): Promise<Server> {
  const server = createServer((request, response) => {
    const path = request.url?.split('?')[0];
    if (path === metricsPath) {
      response.writeHead(200, { 'content-type': expositionContentType }).end(metrics());
      return;
    }
    const { status, body } = probeAnswer(path, listening());
    response.writeHead(status, { 'content-type': 'text/plain' }).end(body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, resolve);
  });
  return server;
}
