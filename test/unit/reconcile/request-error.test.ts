// A failed request as the operator reports it: the API's reason and message in one stable sentence, whatever else the
// client's exception carries (request headers, audit ids, dates, the whole body).
import { ApiException } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { describeApiError, meansOwnerGone, RequestError } from '../../../operator/reconcile/request-error.ts';

const invalidRoleRef = {
  kind: 'Status',
  apiVersion: 'v1',
  metadata: {},
  status: 'Failure',
  message:
    'RoleBinding.rbac.authorization.k8s.io "acme-runner" is invalid: roleRef: Invalid value: ' +
    'rbac.RoleRef{APIGroup:"rbac.authorization.k8s.io", Kind:"ClusterRole", Name:"switchyard-runner"}: cannot change roleRef',
  reason: 'Invalid',
  details: {
    name: 'acme-runner',
    group: 'rbac.authorization.k8s.io',
    kind: 'RoleBinding',
    causes: [{ reason: 'FieldValueInvalid', message: 'Invalid value: …: cannot change roleRef', field: 'roleRef' }],
  },
  code: 422,
};

/** An ApiException as client-node 2.x throws it: the body as JSON text, and this request's headers. */
function apiException(code: number, body: unknown, auditId: string) {
  return new ApiException(code, 'Unknown API Status Code!', JSON.stringify(body), {
    'audit-id': auditId,
    'content-type': 'application/json',
    date: new Date().toUTCString(),
    'x-kubernetes-pf-flowschema-uid': auditId.split('').reverse().join(''),
  });
}

describe('describeApiError', () => {
  it('takes the Status reason and message out of the body, and nothing of the headers', () => {
    const answer = describeApiError(apiException(422, invalidRoleRef, '5b0f6b0e-1'));
    expect(answer).toEqual({
      code: 422,
      reason: 'Invalid',
      message: invalidRoleRef.message,
      causes: ['FieldValueInvalid'],
    });
  });

  it('gives the same sentence for the same failure, however the requests differ', () => {
    const first = new RequestError(
      'apply',
      'RoleBinding',
      'shops',
      'acme-runner',
      describeApiError(apiException(422, invalidRoleRef, 'a-1')),
    );
    const second = new RequestError(
      'apply',
      'RoleBinding',
      'shops',
      'acme-runner',
      describeApiError(apiException(422, invalidRoleRef, 'b-2')),
    );
    expect(first.message).toBe(second.message);
    expect(first.message).toBe(`could not apply RoleBinding acme-runner: 422 Invalid: ${invalidRoleRef.message}`);
    expect(first.message).not.toMatch(/audit|Headers|Body/);
    // No stack through the HTTP client: the log line is the sentence.
    expect(first.stack).toBe(`RequestError: ${first.message}`);
    expect(first.logFields).toEqual({
      verb: 'apply',
      object: 'RoleBinding shops/acme-runner',
      code: 422,
      reason: 'Invalid',
      message: invalidRoleRef.message,
    });
  });

  it('reads a connection failure from its cause', () => {
    const refused = new TypeError('fetch failed', {
      cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6443'), { code: 'ECONNREFUSED' }),
    });
    expect(describeApiError(refused)).toEqual({
      code: undefined,
      reason: 'ECONNREFUSED',
      message: 'connect ECONNREFUSED 127.0.0.1:6443',
      causes: [],
    });
  });

  it('keeps the first line of a body that is not a Status', () => {
    const answer = describeApiError(new ApiException(502, 'Bad Gateway', '<html>\n<body>bad gateway</body>', {}));
    expect(answer).toEqual({ code: 502, reason: undefined, message: '<html>', causes: [] });
  });
});

describe('meansOwnerGone', () => {
  const failure = (code: number, reason: string, message: string, causes: string[] = []) =>
    new RequestError('apply', 'CronJob', 'shops', 'acme-inventory', { code, reason, message, causes });

  it('holds for 404 and for a namespace being terminated, not for other refusals', () => {
    expect(meansOwnerGone(failure(404, 'NotFound', 'namespaces "shops" not found'))).toBe(true);
    expect(
      meansOwnerGone(
        failure(
          403,
          'Forbidden',
          'cronjobs.batch "acme-inventory" is forbidden: unable to create new content in namespace shops because it is being terminated',
          ['NamespaceTerminating'],
        ),
      ),
    ).toBe(true);
    expect(meansOwnerGone(failure(403, 'Forbidden', 'cronjobs.batch is forbidden: User "x" cannot patch'))).toBe(false);
    expect(meansOwnerGone(failure(422, 'Invalid', 'field is immutable'))).toBe(false);
    expect(meansOwnerGone(new Error('not found'))).toBe(false);
  });
});
