// Why the hub store could not be reached, in one sentence a platform engineer can act on, and whether waiting helps.
// Refusals because the server is full or restarting are retryable: a runner backs off and says so, rather than
// crash-looping thousands of pods into a server that is already at max_connections. Wrong credentials, a missing
// database or a rejected certificate are not: waiting does not fix them.

export interface ConnectionFailure {
  /** Whether trying again later may succeed. */
  readonly retryable: boolean;
  /** One short sentence; never holds the database URL or its password. */
  readonly message: string;
  /** The SQLSTATE or Node.js error code, when there is one. */
  readonly code?: string;
}

const budget = 'see the connection budget in docs/hub-store.md';

interface ErrorLike {
  readonly message?: unknown;
  readonly code?: unknown;
  readonly address?: unknown;
  readonly port?: unknown;
  readonly hostname?: unknown;
  readonly errors?: unknown;
}

function fields(error: unknown): ErrorLike {
  return typeof error === 'object' && error !== null ? error : { message: String(error) };
}

/** Node.js reports a connection to a name with several addresses as an AggregateError; the first says enough. */
function firstCause(error: ErrorLike): ErrorLike {
  if (typeof error.code === 'string') return error;
  const inner: unknown = Array.isArray(error.errors) ? (error.errors as unknown[])[0] : undefined;
  return inner === undefined ? error : fields(inner);
}

const credentialsInUrl = /([a-z][a-z0-9+.-]*:\/\/)[^\s/@]*@/gi;

/** The error's own text, with any user:password@ in a URL dropped, cut short. */
function detail(error: ErrorLike): string {
  const text = typeof error.message === 'string' && error.message !== '' ? error.message : 'unknown error';
  const clean = text.replace(credentialsInUrl, '$1').replace(/\s+/g, ' ').trim();
  return clean.length > 200 ? `${clean.slice(0, 199)}…` : clean;
}

function where(error: ErrorLike): string {
  if (typeof error.address !== 'string') return '';
  return typeof error.port === 'number' ? ` at ${error.address}:${error.port}` : ` at ${error.address}`;
}

const sqlState = /^[0-9A-Z]{5}$/;

const certificateCodes = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

function fromSqlState(code: string, error: ErrorLike): ConnectionFailure {
  const server = detail(error);
  const retry = (message: string): ConnectionFailure => ({ retryable: true, message, code });
  const stop = (message: string): ConnectionFailure => ({ retryable: false, message, code });
  switch (code) {
    case '53300':
      return retry(
        `the hub store refused the connection: too many clients (PostgreSQL max_connections is reached; ${budget})`,
      );
    case '53400':
      return retry(
        'the hub store refused the connection: the connection limit of the role or database is reached ' +
          `(CONNECTION LIMIT; ${budget})`,
      );
    case '57P03':
      return retry(`the hub store cannot accept connections now (${server}); it is starting, stopping or recovering`);
    case '57P01':
    case '57P02':
      return retry(`the hub store ended the session (${server}); the server is shutting down or restarting`);
    case '57014':
      return retry(`the hub store cancelled the statement (${server})`);
    case '28P01':
      return stop(`the hub store refused the password (${server}); check the database URL's credentials`);
    case '28000':
      return stop(`the hub store refused the runner (${server}); check pg_hba.conf and the database URL's user`);
    case '3D000':
      return stop(`the hub store has no such database (${server}); check the database URL`);
    case '08P01':
      // PgBouncer refuses startup parameters it does not track, such as the runner's session timeouts.
      if (/unsupported startup parameter/i.test(server)) {
        return stop(
          `the hub store's connection pooler refused a session setting (${server}); ` +
            'list it in PgBouncer\'s ignore_startup_parameters (see "PgBouncer" in docs/hub-store.md)',
        );
      }
      return retry(`the connection to the hub store failed (${server})`);
    case '42501':
      return stop(`the runner's role lacks a privilege (${server}); grant it CONNECT and access to the schema`);
  }
  if (code.startsWith('08')) return retry(`the connection to the hub store failed (${server})`);
  if (code.startsWith('53')) return retry(`the hub store is out of resources (${server})`);
  if (code.startsWith('58')) return retry(`the hub store reported a system error (${server})`);
  return stop(`the hub store refused the runner (SQLSTATE ${code}: ${server})`);
}

function fromNodeCode(code: string, error: ErrorLike): ConnectionFailure | undefined {
  const retry = (message: string): ConnectionFailure => ({ retryable: true, message, code });
  switch (code) {
    case 'ECONNREFUSED':
      return retry(
        `the hub store refused the TCP connection${where(error)}: PostgreSQL is not listening there ` +
          "(restarting, or the database URL's host or port is wrong)",
      );
    case 'ECONNRESET':
    case 'EPIPE':
      return retry('the connection to the hub store was reset (the server or a proxy in between dropped it)');
    case 'ETIMEDOUT':
      return retry(`the hub store did not answer${where(error)} (network, or an overloaded server)`);
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return retry(`the hub store's host is unreachable${where(error)}`);
    case 'ENOTFOUND':
    case 'EAI_AGAIN': {
      const host = typeof error.hostname === 'string' ? ` ${error.hostname}` : '';
      return retry(`the hub store's host name${host} does not resolve; check the database URL's host`);
    }
  }
  if (certificateCodes.has(code) || code.startsWith('ERR_TLS_') || code.startsWith('ERR_SSL_')) {
    return {
      retryable: false,
      message: `the hub store's TLS certificate was not accepted (${code}); check sslmode and the CA in the database URL`,
      code,
    };
  }
  return undefined;
}

/** Classifies an error from connecting to the hub store (or from a query on a fresh connection). */
export function describeConnectionFailure(error: unknown): ConnectionFailure {
  const outer = fields(error);
  const cause = firstCause(outer);
  const code = typeof cause.code === 'string' ? cause.code : undefined;
  if (code !== undefined && sqlState.test(code)) return fromSqlState(code, cause);
  const byCode = code === undefined ? undefined : fromNodeCode(code, cause);
  if (byCode) return byCode;

  const text = detail(cause);
  if (/timeout expired|connection timeout|timeout exceeded when trying to connect/i.test(text)) {
    return { retryable: true, message: 'the hub store did not answer in time (network, or an overloaded server)' };
  }
  if (/Connection terminated/i.test(text)) {
    return { retryable: true, message: 'the hub store closed the connection unexpectedly (restarting, or a proxy)' };
  }
  if (/does not support SSL/i.test(text)) {
    return { retryable: false, message: 'the hub store does not support TLS; check sslmode in the database URL' };
  }
  if (/SASL|client password must be a string/i.test(text)) {
    return {
      retryable: false,
      message: 'the hub store asks for a password that the database URL does not give; check its credentials',
    };
  }
  if (/Invalid URL/i.test(text)) {
    return { retryable: false, message: 'the database URL is not a valid URL' };
  }
  return { retryable: true, message: `could not reach the hub store (${text})`, ...(code ? { code } : {}) };
}
