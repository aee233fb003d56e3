// A lean client for the API server from inside a pod, on node:https alone. The runner makes one kind of request (an
// apply of its status entry), and @kubernetes/client-node would add about 75 MiB to every runner process for it.
// Credentials are the pod's ServiceAccount as the kubelet mounts them: a projected token that rotates, the cluster's
// CA, and the namespace.
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { STATUS_CODES } from 'node:http';
import { Agent, request as httpsRequest } from 'node:https';
import { isIPv6 } from 'node:net';
import { join } from 'node:path';

/** Where the kubelet mounts the ServiceAccount's token, ca.crt and namespace. */
export const defaultServiceAccountDir = '/var/run/secrets/kubernetes.io/serviceaccount';
/** Overrides that directory: for runner pods run as local processes (test/cluster/runner-pods.ts). */
export const serviceAccountDirVariable = 'SWITCHYARD_SERVICE_ACCOUNT_DIR';

/** The token is re-read at most this often (it is projected and rotates), and at once after a 401. */
export const tokenMaxAgeMs = 60_000;
export const defaultRequestTimeoutMs = 10_000;
/** Longer Status messages are cut: an error must stay one short line in the log. */
export const maxStatusMessageLength = 300;

export interface InClusterConfig {
  /** `https://host:port`, an IPv6 host in brackets. */
  readonly server: string;
  readonly serviceAccountDir: string;
  /** The pod's namespace, from the ServiceAccount directory; undefined when that file is missing. */
  readonly namespace: string | undefined;
}

export type InClusterDetection = { ok: true; value: InClusterConfig } | { ok: false; reason: string };

/** A host as it goes into a URL: IPv6 addresses in brackets. */
export function formatHost(host: string): string {
  return isIPv6(host) ? `[${host}]` : host;
}

export function serviceAccountDirOf(env: NodeJS.ProcessEnv): string {
  return env[serviceAccountDirVariable] || defaultServiceAccountDir;
}

/** In a pod: KUBERNETES_SERVICE_HOST is set and the ServiceAccount's token can be read. */
export function detectInCluster(env: NodeJS.ProcessEnv = process.env): InClusterDetection {
  const host = env.KUBERNETES_SERVICE_HOST;
  if (!host) return { ok: false, reason: 'KUBERNETES_SERVICE_HOST is not set' };
  const serviceAccountDir = serviceAccountDirOf(env);
  const tokenFile = join(serviceAccountDir, 'token');
  try {
    if (!readFileSync(tokenFile, 'utf8').trim()) return { ok: false, reason: `${tokenFile} is empty` };
  } catch {
    return { ok: false, reason: `no ServiceAccount token can be read at ${tokenFile}` };
  }
  let namespace: string | undefined;
  try {
    namespace = readFileSync(join(serviceAccountDir, 'namespace'), 'utf8').trim() || undefined;
  } catch {
    namespace = undefined;
  }
  const port = env.KUBERNETES_SERVICE_PORT || '443';
  return { ok: true, value: { server: `https://${formatHost(host)}:${port}`, serviceAccountDir, namespace } };
}

/** A failed request: the API server's answer (status set), or no answer at all (status undefined, cause set). */
export class KubernetesApiError extends Error {
  override readonly name = 'KubernetesApiError';
  /** The HTTP status code; undefined when no response came (timeout, connection refused). */
  readonly status: number | undefined;
  /** The Kubernetes Status reason (Forbidden, NotFound, Conflict, Invalid, ...), or the HTTP reason phrase. */
  readonly reason: string | undefined;

  constructor(message: string, status: number | undefined, reason: string | undefined, options?: ErrorOptions) {
    super(message, options);
    this.status = status;
    this.reason = reason;
  }
}

function oneLine(text: string, max: number): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length <= max ? line : `${line.slice(0, max - 1)}…`;
}

function statusFields(body: string): { reason?: string; message?: string } {
  try {
    const parsed: unknown = JSON.parse(body);
    if (typeof parsed !== 'object' || parsed === null) return {};
    const { reason, message } = parsed as Record<string, unknown>;
    return {
      ...(typeof reason === 'string' && reason && { reason }),
      ...(typeof message === 'string' && message && { message }),
    };
  } catch {
    return {};
  }
}

/**
 * The error for a response that is not 2xx: `<METHOD> <path>: <status> <reason>[: <message>]`, with the reason and
 * message of the Kubernetes Status body when there is one. No query string, headers or body dump: the message is
 * short, one line, and the same for the same failure.
 */
export function apiError(method: string, path: string, status: number, body: string): KubernetesApiError {
  const fields = statusFields(body);
  const reason = fields.reason ?? STATUS_CODES[status] ?? 'Error';
  const message = fields.message ? `: ${oneLine(fields.message, maxStatusMessageLength)}` : '';
  return new KubernetesApiError(`${method} ${pathOnly(path)}: ${status} ${reason}${message}`, status, reason);
}

function pathOnly(path: string): string {
  const query = path.indexOf('?');
  return query === -1 ? path : path.slice(0, query);
}

export interface RequestOptions {
  /** The request body, already serialized. */
  readonly body?: string;
  readonly contentType?: string;
}

export interface KubernetesApi {
  /** Resolves with the parsed JSON of a 2xx response; rejects with a KubernetesApiError. */
  request(method: string, path: string, options?: RequestOptions): Promise<unknown>;
  /** Closes the kept-alive connections. */
  close(): void;
}

export interface InClusterApiOptions {
  readonly timeoutMs?: number;
  /** The clock of the token's re-reads (tests). */
  readonly now?: () => number;
}

/** Marks a failure on a kept-alive connection that the server had closed: worth one more try. */
const staleSocket = Symbol('staleSocket');

interface Response {
  readonly status: number;
  readonly body: string;
}

/** The ServiceAccount token, re-read at most every tokenMaxAgeMs, or at once when forced (after a 401). */
class TokenSource {
  readonly #file: string;
  readonly #now: () => number;
  #token: string | undefined;
  #readAt = Number.NEGATIVE_INFINITY;

  constructor(file: string, now: () => number) {
    this.#file = file;
    this.#now = now;
  }

  async get(forceRead = false): Promise<string> {
    if (this.#token !== undefined && !forceRead && this.#now() - this.#readAt < tokenMaxAgeMs) return this.#token;
    try {
      const token = (await readFile(this.#file, 'utf8')).trim();
      if (token) this.#token = token;
    } catch (error) {
      // A token read before stays usable while the file cannot be read; without one there is nothing to send.
      if (this.#token === undefined) {
        throw new KubernetesApiError(`cannot read the ServiceAccount token ${this.#file}`, undefined, undefined, {
          cause: error,
        });
      }
    }
    this.#readAt = this.#now();
    if (this.#token === undefined) {
      throw new KubernetesApiError(`the ServiceAccount token ${this.#file} is empty`, undefined, undefined);
    }
    return this.#token;
  }
}

export function createInClusterApi(config: InClusterConfig, options: InClusterApiOptions = {}): KubernetesApi {
  const timeoutMs = options.timeoutMs ?? defaultRequestTimeoutMs;
  const agent = new Agent({
    ca: readFileSync(join(config.serviceAccountDir, 'ca.crt')),
    keepAlive: true,
    maxSockets: 4,
  });
  const tokens = new TokenSource(join(config.serviceAccountDir, 'token'), options.now ?? Date.now);

  function send(method: string, path: string, token: string, request: RequestOptions): Promise<Response> {
    const headers: Record<string, string | number> = {
      Accept: 'application/json',
      Authorization: `Bearer ${token}`,
      'User-Agent': 'switchyard-runner',
    };
    if (request.body !== undefined) {
      headers['Content-Type'] = request.contentType ?? 'application/json';
      headers['Content-Length'] = Buffer.byteLength(request.body);
    }
    const signal = AbortSignal.timeout(timeoutMs);
    return new Promise((resolve, reject) => {
      const fail = (error: Error, reusedSocket: boolean) => {
        const what = signal.aborted ? `timed out after ${timeoutMs / 1000} s` : error.message;
        const failure = new KubernetesApiError(`${method} ${pathOnly(path)}: ${what}`, undefined, undefined, {
          cause: error,
        });
        reject(Object.assign(failure, { [staleSocket]: reusedSocket && !signal.aborted }));
      };
      const req = httpsRequest(new URL(path, config.server), { method, agent, headers, signal }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', (error) => fail(error, false));
      });
      req.on('error', (error) => fail(error, req.reusedSocket));
      req.end(request.body);
    });
  }

  /** Once more on a fresh connection when a kept-alive one turned out closed by the server. */
  async function sendOnce(method: string, path: string, token: string, request: RequestOptions) {
    try {
      return await send(method, path, token, request);
    } catch (error) {
      if ((error as { [staleSocket]?: boolean })[staleSocket]) return send(method, path, token, request);
      throw error;
    }
  }

  return {
    async request(method, path, request = {}) {
      const token = await tokens.get();
      let response = await sendOnce(method, path, token, request);
      if (response.status === 401) {
        // The token rotated under us (or expired): read it again, and try once more if it changed.
        const fresh = await tokens.get(true);
        if (fresh !== token) response = await sendOnce(method, path, fresh, request);
      }
      if (response.status < 200 || response.status > 299) {
        throw apiError(method, path, response.status, response.body);
      }
      if (!response.body) return undefined;
      try {
        return JSON.parse(response.body) as unknown;
      } catch {
        return response.body;
      }
    },
    close() {
      agent.destroy();
    },
  };
}
