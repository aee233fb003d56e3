// Outbound HTTP has a connect timeout and a total timeout: a destination that takes the TCP connection but never
// finishes the TLS handshake, or one that never answers, costs a bounded wait and becomes a transient failure.
import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createHttpConnector } from '../../../operator/runner/connectors/http-connector.ts';

const servers: Server[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  sockets.splice(0).forEach((socket) => socket.destroy());
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

/** A TCP server that accepts connections and then says nothing at all. */
async function silentServer(): Promise<number> {
  const server = createServer((socket) => sockets.push(socket));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

const write = { recordKey: 'A-1', idempotencyKey: 'k-1', body: { id: 'A-1' } };

describe('the http connector', () => {
  it('gives up a connection whose TLS handshake never completes after the connect timeout', async () => {
    const port = await silentServer();
    const connector = createHttpConnector({
      url: `https://127.0.0.1:${port}/`,
      timeoutMs: 30_000,
      connectTimeoutMs: 300,
    });
    const outcome = await connector.postOrder(write);
    connector.close();
    // The connect timeout, not the 30 s total, ended it.
    expect(outcome).toEqual({ kind: 'transient', reason: 'could not reach the destination (ECONNECTTIMEOUT)' });
  });

  it('gives up a request that is never answered after the total timeout', async () => {
    const port = await silentServer();
    const connector = createHttpConnector({ url: `http://127.0.0.1:${port}/`, timeoutMs: 1_000 });
    const outcome = await connector.postOrder(write);
    connector.close();
    expect(outcome).toEqual({ kind: 'transient', reason: 'no answer within 1s' });
  });
});
