// /healthz (the process is alive), /readyz (the caches are synced, or this replica is a standby) and /metrics.
import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';

export function startHttpServer(port: number, registry: Registry, isReady: () => boolean): Promise<Server> {
  const server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (path === '/healthz') {
      response.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    } else if (path === '/readyz') {
      const ready = isReady();
      response.writeHead(ready ? 200 : 503, { 'content-type': 'text/plain' }).end(ready ? 'ok' : 'not ready');
    } else if (path === '/metrics') {
      registry
        .metrics()
        .then((body) => response.writeHead(200, { 'content-type': registry.contentType }).end(body))
        .catch((error: unknown) => response.writeHead(500).end(String(error)));
    } else {
      response.writeHead(404).end();
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, () => resolve(server));
  });
}
