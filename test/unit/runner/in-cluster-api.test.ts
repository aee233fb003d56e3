// The runner's lean API client: how it finds the API server and its credentials, the errors it makes of the API
// server's answers, and the one request a status report is. A loopback HTTPS server (a certificate made by openssl)
// stands in for the API server where the wire matters: token re-reads, timeouts, the CA.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ownerApiVersion, ownerStatusPath } from '../../../operator/api/owner-paths.ts';
import { apiVersion } from '../../../operator/api/v1alpha1/types.ts';
import {
  apiError,
  createInClusterApi,
  defaultServiceAccountDir,
  detectInCluster,
  formatHost,
  KubernetesApiError,
  type KubernetesApi,
  type RequestOptions,
} from '../../../operator/runner/reporting/in-cluster-api.ts';
import {
  applyPatchContentType,
  createKubernetesStatusReporter,
} from '../../../operator/runner/reporting/kubernetes-reporter.ts';
import { statusApplyBody, type ServiceStatusReport } from '../../../operator/runner/reporting/status-report.ts';

/** A self-signed certificate and key (ca.crt, key.pem) in dir; a SAN for 127.0.0.1 when asked. */
function makeCertificate(dir: string, subjectAltName?: string): void {
  const args = ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1'];
  args.push('-subj', '/CN=switchyard-test', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'ca.crt'));
  if (subjectAltName) args.push('-addext', `subjectAltName=${subjectAltName}`);
  execFileSync('openssl', args, { stdio: 'ignore' });
}

const forbidden = {
  kind: 'Status',
  apiVersion: 'v1',
  metadata: {},
  status: 'Failure',
  message:
    'carts.switchyard.dev "web" is forbidden: User "system:serviceaccount:shop:nobody" cannot patch resource ' +
    '"carts/status" in API group "switchyard.dev" in the namespace "shop"',
  reason: 'Forbidden',
  details: { name: 'web', group: 'switchyard.dev', kind: 'carts' },
  code: 403,
};
const statusPath = '/apis/switchyard.dev/v1alpha1/namespaces/shop/carts/web/status';

describe('apiError', () => {
  it('is method, path without the query, status, and the Status reason and message, on one line', () => {
    const error = apiError('PATCH', `${statusPath}?fieldManager=x&force=true`, 403, JSON.stringify(forbidden));
    expect(error).toBeInstanceOf(KubernetesApiError);
    expect(error.message).toBe(`PATCH ${statusPath}: 403 Forbidden: ${forbidden.message}`);
    expect(error.status).toBe(403);
    expect(error.reason).toBe('Forbidden');
  });

  it('makes a multi-line or long Status message one short line', () => {
    const body = JSON.stringify({ kind: 'Status', reason: 'Invalid', message: `bad:\n  ${'x'.repeat(1000)}` });
    const { message } = apiError('PATCH', statusPath, 422, body);
    expect(message).not.toContain('\n');
    expect(message).toMatch(/^PATCH \S+: 422 Invalid: bad: x+…$/);
    expect(message.length).toBeLessThan(400);
  });

  it('falls back to the HTTP reason phrase, and never dumps a body that is not a Status', () => {
    const html = '<html><body>upstream went away</body></html>';
    const error = apiError('GET', '/api/v1/namespaces', 502, html);
    expect(error.message).toBe('GET /api/v1/namespaces: 502 Bad Gateway');
    expect(error.status).toBe(502);
    expect(error.reason).toBe('Bad Gateway');
    expect(apiError('GET', '/x', 599, '').message).toBe('GET /x: 599 Error');
  });
});

describe('formatHost', () => {
  it.each([
    ['10.96.0.1', '10.96.0.1'],
    ['kubernetes.default.svc', 'kubernetes.default.svc'],
    ['fd00:10:96::1', '[fd00:10:96::1]'],
    ['::1', '[::1]'],
  ])('%s is %s in a URL', (host, formatted) => {
    expect(formatHost(host)).toBe(formatted);
  });
});

describe('ownerStatusPath', () => {
  it('names the status subresource of a Merchant or a Cart', () => {
    expect(ownerStatusPath('Cart', 'shop', 'web')).toBe(statusPath);
    expect(ownerStatusPath('Merchant', 'shop', 'acme')).toBe(
      '/apis/switchyard.dev/v1alpha1/namespaces/shop/merchants/acme/status',
    );
  });

  it('has the group and version of the API types', () => {
    expect(ownerApiVersion).toBe(apiVersion);
  });
});

describe('detectInCluster', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'switchyard-sa-test-'));
    writeFileSync(join(dir, 'token'), 'the-token\n');
    writeFileSync(join(dir, 'namespace'), 'shop');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is in a pod when the service host is set and the token can be read', () => {
    const detected = detectInCluster({
      KUBERNETES_SERVICE_HOST: 'fd00::1',
      KUBERNETES_SERVICE_PORT: '6443',
      SWITCHYARD_SERVICE_ACCOUNT_DIR: dir,
    });
    expect(detected).toEqual({
      ok: true,
      value: { server: 'https://[fd00::1]:6443', serviceAccountDir: dir, namespace: 'shop' },
    });
  });

  it('defaults the port to 443', () => {
    const detected = detectInCluster({ KUBERNETES_SERVICE_HOST: '10.0.0.1', SWITCHYARD_SERVICE_ACCOUNT_DIR: dir });
    expect(detected.ok && detected.value.server).toBe('https://10.0.0.1:443');
  });

  it('is not in a pod without the service host, or without a token', () => {
    expect(detectInCluster({ SWITCHYARD_SERVICE_ACCOUNT_DIR: dir })).toEqual({
      ok: false,
      reason: 'KUBERNETES_SERVICE_HOST is not set',
    });
    const elsewhere = join(dir, 'missing');
    expect(detectInCluster({ KUBERNETES_SERVICE_HOST: '10.0.0.1', SWITCHYARD_SERVICE_ACCOUNT_DIR: elsewhere })).toEqual(
      { ok: false, reason: `no ServiceAccount token can be read at ${join(elsewhere, 'token')}` },
    );
  });

  it("reads the kubelet's directory by default", () => {
    const detected = detectInCluster({ KUBERNETES_SERVICE_HOST: '10.0.0.1' });
    expect(detected.ok ? detected.value.serviceAccountDir : detected.reason).toContain(defaultServiceAccountDir);
  });
});

describe('createKubernetesStatusReporter', () => {
  it('applies the report with one PATCH to the status, under the service’s own field manager', async () => {
    const calls: { method: string; path: string; options: RequestOptions | undefined }[] = [];
    const api: KubernetesApi = {
      request: (method, path, options) => {
        calls.push({ method, path, options });
        return Promise.resolve(undefined);
      },
      close: () => undefined,
    };
    const owner = { kind: 'Cart', namespace: 'shop', name: 'web' } as const;
    const report: ServiceStatusReport = {
      name: 'orderDownload',
      lastResult: { time: '2026-01-01T12:00:00.000Z', outcome: 'Succeeded', processed: 3, failed: 0 },
      lastSuccessTime: '2026-01-01T12:00:00.000Z',
    };
    await createKubernetesStatusReporter(api).report(owner, report);
    expect(calls).toHaveLength(1);
    const [call] = calls;
    expect(call!.method).toBe('PATCH');
    expect(call!.path).toBe(`${statusPath}?fieldManager=switchyard-runner%2ForderDownload&force=true`);
    expect(call!.options?.contentType).toBe(applyPatchContentType);
    expect(JSON.parse(call!.options!.body!)).toEqual(statusApplyBody(owner, apiVersion, report));
  });
});

describe('createInClusterApi against a loopback HTTPS server', () => {
  let dir: string;
  let server: Server;
  let port: number;
  /** What the server saw: the Authorization header of each request. */
  const seen: string[] = [];
  let answer: (path: string, authorization: string) => { status: number; body?: string } | 'hang';

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'switchyard-sa-test-'));
    makeCertificate(dir, 'IP:127.0.0.1');
    writeFileSync(join(dir, 'token'), 'first');
    server = createServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'ca.crt')) });
    server.on('request', (request, response) => {
      const authorization = request.headers.authorization ?? '';
      seen.push(authorization);
      request.resume();
      request.on('end', () => {
        const reply = answer(request.url ?? '', authorization);
        if (reply === 'hang') return;
        response.writeHead(reply.status, { 'Content-Type': 'application/json' }).end(reply.body ?? '');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  const config = () => ({ server: `https://127.0.0.1:${port}`, serviceAccountDir: dir, namespace: 'shop' });

  it('sends the token, trusts the CA, and returns the parsed answer', async () => {
    answer = () => ({ status: 200, body: '{"kind":"Cart"}' });
    const api = createInClusterApi(config());
    try {
      await expect(api.request('GET', '/x')).resolves.toEqual({ kind: 'Cart' });
      expect(seen.at(-1)).toBe('Bearer first');
    } finally {
      api.close();
    }
  });

  it('re-reads a rotated token after a minute, and at once after a 401', async () => {
    writeFileSync(join(dir, 'token'), 'first');
    let now = 0;
    const api = createInClusterApi(config(), { now: () => now });
    answer = (_path, authorization) => (authorization === 'Bearer revoked' ? { status: 401 } : { status: 200 });
    try {
      await api.request('GET', '/x');
      writeFileSync(join(dir, 'token'), 'second');
      now = 59_000;
      await api.request('GET', '/x');
      expect(seen.at(-1)).toBe('Bearer first');
      now = 60_000;
      await api.request('GET', '/x');
      expect(seen.at(-1)).toBe('Bearer second');

      // The token is refused before a minute has passed: read again at once, and the request made once more.
      answer = (_path, authorization) => (authorization === 'Bearer second' ? { status: 401 } : { status: 200 });
      writeFileSync(join(dir, 'token'), 'third');
      const before = seen.length;
      await api.request('GET', '/x');
      expect(seen.slice(before)).toEqual(['Bearer second', 'Bearer third']);

      // Refused and unchanged: one retry would be pointless, so the 401 is the answer.
      answer = () => ({ status: 401, body: JSON.stringify({ kind: 'Status', reason: 'Unauthorized' }) });
      const error = await api.request('GET', '/x').catch((caught: unknown) => caught);
      expect(error).toMatchObject({ status: 401, message: 'GET /x: 401 Unauthorized' });
    } finally {
      api.close();
    }
  });

  it('gives up after the timeout with a short message and no status', async () => {
    answer = () => 'hang';
    const api = createInClusterApi(config(), { timeoutMs: 200 });
    try {
      const error = await api.request('PATCH', '/slow?force=true', { body: '{}' }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(KubernetesApiError);
      expect(error).toMatchObject({ status: undefined, message: 'PATCH /slow: timed out after 0.2 s' });
    } finally {
      api.close();
    }
  });

  it('refuses a server its CA did not sign', async () => {
    const otherDir = mkdtempSync(join(tmpdir(), 'switchyard-sa-test-'));
    writeFileSync(join(otherDir, 'token'), 'first');
    makeCertificate(otherDir);
    answer = () => ({ status: 200 });
    const api = createInClusterApi({ ...config(), serviceAccountDir: otherDir });
    try {
      const error = await api.request('GET', '/x').catch((caught: unknown) => caught);
      expect(error).toMatchObject({ status: undefined });
      expect((error as Error).message).toMatch(/^GET \/x: .*(certificate|self-signed)/i);
    } finally {
      api.close();
      rmSync(otherDir, { recursive: true, force: true });
    }
  });
});
