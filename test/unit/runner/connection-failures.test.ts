// What a runner says when the hub store cannot be reached, and whether it waits: from the errors pg and Node.js give.
import { describe, expect, it } from 'vitest';
import { backoffDelay, formatDuration } from '../../../operator/runner/store/backoff.ts';
import { describeConnectionFailure } from '../../../operator/runner/store/connection-failures.ts';

/** An error as pg reports a server's ErrorResponse: the SQLSTATE in `code`, the server's text in `message`. */
const serverError = (code: string, message: string) => Object.assign(new Error(message), { code, severity: 'FATAL' });
const nodeError = (code: string, message: string, extra: Record<string, unknown> = {}) =>
  Object.assign(new Error(message), { code, ...extra });

describe('a server that is full', () => {
  it.each([
    ['sorry, too many clients already'],
    ['remaining connection slots are reserved for non-replication superuser connections'],
    ['remaining connection slots are reserved for roles with the SUPERUSER attribute'],
  ])('(%s) is waited out, and the message points at max_connections', (text) => {
    expect(describeConnectionFailure(serverError('53300', text))).toEqual({
      retryable: true,
      code: '53300',
      message:
        'the hub store refused the connection: too many clients (PostgreSQL max_connections is reached; ' +
        'see the connection budget in docs/hub-store.md)',
    });
  });

  it("is waited out when the role's or database's own limit is reached", () => {
    const failure = describeConnectionFailure(serverError('53400', 'too many connections for role "runner"'));
    expect(failure.retryable).toBe(true);
    expect(failure.message).toMatch(/connection limit of the role or database is reached/);
  });
});

describe('a server that is restarting', () => {
  it.each([
    ['57P03', 'the database system is starting up'],
    ['57P03', 'the database system is shutting down'],
    ['57P03', 'the database system is in recovery mode'],
    ['57P01', 'terminating connection due to administrator command'],
  ])('%s (%s) is waited out, and says what the server said', (code, text) => {
    const failure = describeConnectionFailure(serverError(code, text));
    expect(failure.retryable).toBe(true);
    expect(failure.message).toContain(text);
  });

  it('that does not listen is waited out, naming where it was looked for', () => {
    const refused = nodeError('ECONNREFUSED', 'connect ECONNREFUSED 10.0.0.5:5432', {
      address: '10.0.0.5',
      port: 5432,
    });
    expect(describeConnectionFailure(refused)).toEqual({
      retryable: true,
      code: 'ECONNREFUSED',
      message:
        'the hub store refused the TCP connection at 10.0.0.5:5432: PostgreSQL is not listening there ' +
        "(restarting, or the database URL's host or port is wrong)",
    });
  });

  it('that refuses every address of its name (an AggregateError) is read by the first', () => {
    const both = Object.assign(
      new AggregateError([
        nodeError('ECONNREFUSED', 'connect ECONNREFUSED ::1:5432', { address: '::1', port: 5432 }),
        nodeError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432', { address: '127.0.0.1', port: 5432 }),
      ]),
      {},
    );
    const failure = describeConnectionFailure(both);
    expect(failure).toMatchObject({ retryable: true, code: 'ECONNREFUSED' });
    expect(failure.message).toContain('at ::1:5432');
  });

  it.each([
    [new Error('Connection terminated unexpectedly'), /closed the connection unexpectedly/],
    [new Error('timeout expired'), /did not answer in time/],
    [new Error('Connection terminated due to connection timeout'), /did not answer in time/],
    [nodeError('ECONNRESET', 'read ECONNRESET'), /was reset/],
    [nodeError('ETIMEDOUT', 'connect ETIMEDOUT'), /did not answer/],
    [nodeError('EAI_AGAIN', 'getaddrinfo EAI_AGAIN hub-db', { hostname: 'hub-db' }), /host name hub-db does not/],
    [serverError('08006', 'connection failure'), /connection to the hub store failed/],
  ])('%s is waited out', (error, message) => {
    const failure = describeConnectionFailure(error);
    expect(failure.retryable).toBe(true);
    expect(failure.message).toMatch(message);
  });
});

describe('what waiting does not fix', () => {
  it.each([
    [serverError('28P01', 'password authentication failed for user "runner"'), /refused the password/],
    [serverError('28000', 'no pg_hba.conf entry for host "10.1.2.3", user "runner"'), /pg_hba\.conf/],
    [serverError('3D000', 'database "hub" does not exist'), /no such database/],
    [serverError('42501', 'permission denied for database hub'), /lacks a privilege/],
    [nodeError('SELF_SIGNED_CERT_IN_CHAIN', 'self-signed certificate in certificate chain'), /TLS certificate/],
    [new Error('The server does not support SSL connections'), /does not support TLS/],
    [
      serverError('08P01', 'unsupported startup parameter: statement_timeout'),
      /pooler refused a session setting \(unsupported startup parameter: statement_timeout\); list it in PgBouncer's ignore_startup_parameters/,
    ],
    [new Error('SASL: SCRAM-SERVER-FIRST-MESSAGE: client password must be a string'), /asks for a password/],
  ])('%s is not waited for', (error, message) => {
    const failure = describeConnectionFailure(error);
    expect(failure.retryable).toBe(false);
    expect(failure.message).toMatch(message);
  });

  it('an invalid URL is reported without the URL, which holds the password', () => {
    const invalid = Object.assign(new TypeError('Invalid URL'), {
      code: 'ERR_INVALID_URL',
      input: 'postgresql://runner:s3cret@hub db/hub',
    });
    const failure = describeConnectionFailure(invalid);
    expect(failure).toMatchObject({ retryable: false, message: 'the database URL is not a valid URL' });
    expect(JSON.stringify(failure)).not.toContain('s3cret');
  });
});

describe('an error of another kind', () => {
  it('is waited out, with its own text, stripped of credentials and cut short', () => {
    const odd = new Error(`something odd about postgresql://runner:s3cret@hub-db:5432/hub ${'x'.repeat(400)}`);
    const failure = describeConnectionFailure(odd);
    expect(failure.retryable).toBe(true);
    expect(failure.message).toMatch(
      /^could not reach the hub store \(something odd about postgresql:\/\/hub-db:5432\/hub x+…\)$/,
    );
    expect(failure.message).not.toContain('s3cret');
    expect(failure.message.length).toBeLessThan(260);
  });

  it('that is not an Error at all is still described', () => {
    expect(describeConnectionFailure('boom')).toEqual({
      retryable: true,
      message: 'could not reach the hub store (boom)',
    });
  });
});

describe('the backoff between attempts', () => {
  it('doubles from half a second up to 30 s, taking off at most half at random', () => {
    const low = () => 0;
    const high = () => 1;
    expect([0, 1, 2, 3].map((n) => backoffDelay(n, undefined, high))).toEqual([500, 1000, 2000, 4000]);
    expect([0, 1, 2, 3].map((n) => backoffDelay(n, undefined, low))).toEqual([250, 500, 1000, 2000]);
    expect(backoffDelay(6, undefined, high)).toBe(30_000);
    expect(backoffDelay(1000, undefined, high)).toBe(30_000);
    expect(backoffDelay(1000, undefined, low)).toBe(15_000);
  });

  it('is written for people in log lines', () => {
    expect([250, 4200, 30_000, 120_000].map(formatDuration)).toEqual(['250 ms', '4.2 s', '30 s', '2 min']);
  });
});
