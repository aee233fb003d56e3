// How a destination's answer is read: delivered, needs a person, or worth retrying later.
import { describe, expect, it } from 'vitest';
import {
  classifyWriteError,
  classifyWriteResponse,
  destinationMessage,
  maxRetryAfterMs,
  parseRetryAfter,
} from '../../../operator/runner/connectors/http-outcome.ts';

const now = new Date('2026-01-01T12:00:00Z');

describe('classifyWriteResponse', () => {
  it.each([200, 201, 204])('takes %i as delivered', (status) => {
    expect(classifyWriteResponse(status, '', null, now)).toEqual({ kind: 'delivered' });
  });

  it.each([408, 425, 429, 500, 502, 503, 504])('takes %i as transient', (status) => {
    expect(classifyWriteResponse(status, '{"error":"busy"}', null, now)).toEqual({
      kind: 'transient',
      reason: `HTTP ${status}: busy`,
    });
  });

  it('honours Retry-After on a transient answer', () => {
    expect(classifyWriteResponse(429, '', '7', now)).toEqual({
      kind: 'transient',
      reason: 'HTTP 429',
      retryAfterMs: 7000,
    });
  });

  it.each([400, 404, 409, 422])("takes %i as needing a person, with the destination's reason", (status) => {
    expect(classifyWriteResponse(status, '{"error":"ship method FAST is not mapped"}', null, now)).toEqual({
      kind: 'permanent',
      reason: `HTTP ${status}: ship method FAST is not mapped`,
    });
  });

  it('says so when the credentials were refused, and when the destination redirects', () => {
    expect(classifyWriteResponse(401, '', null, now)).toEqual({
      kind: 'permanent',
      reason: 'HTTP 401 (the destination refused the credentials)',
    });
    expect(classifyWriteResponse(308, '', null, now)).toMatchObject({
      kind: 'permanent',
      reason: expect.stringMatching(/redirected/) as string,
    });
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates, and caps what it reads', () => {
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter('Thu, 01 Jan 2026 12:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Thu, 01 Jan 2026 11:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('999999', now)).toBe(maxRetryAfterMs);
  });

  it('ignores what it cannot read', () => {
    expect(parseRetryAfter(null, now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
  });
});

describe('destinationMessage', () => {
  it('understands the contract and its common variants', () => {
    expect(destinationMessage('{"error":"bad address"}')).toBe('bad address');
    expect(destinationMessage('{"error":{"message":"bad zip"}}')).toBe('bad zip');
    expect(destinationMessage('{"message":"bad city"}')).toBe('bad city');
    expect(destinationMessage('  plain words  ')).toBe('plain words');
    expect(destinationMessage('')).toBeUndefined();
  });
});

describe('classifyWriteError', () => {
  it('takes a timeout and a refused connection as transient', () => {
    const timeout = Object.assign(new Error('aborted'), { name: 'AbortError' });
    expect(classifyWriteError(timeout, 30_000)).toEqual({ kind: 'transient', reason: 'no answer within 30s' });
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    expect(classifyWriteError(refused, 30_000)).toEqual({
      kind: 'transient',
      reason: 'could not reach the destination (ECONNREFUSED)',
    });
  });
});
