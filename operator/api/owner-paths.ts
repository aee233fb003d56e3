// Where Merchants and Carts live in the Kubernetes REST API, for clients that talk to it without a client library
// (the runner). Small on purpose: v1alpha1/types.ts has the same group and version but loads zod and every schema.
// test/unit/runner/in-cluster-api.test.ts checks that the two agree.
import type { OwnerKind } from './v1alpha1/services.ts';

export const ownerGroup = 'switchyard.dev';
export const ownerVersion = 'v1alpha1';
export const ownerApiVersion = `${ownerGroup}/${ownerVersion}`;

export const ownerPlurals: Readonly<Record<OwnerKind, string>> = { Merchant: 'merchants', Cart: 'carts' };

/** `/apis/switchyard.dev/v1alpha1/namespaces/<namespace>/<merchants|carts>/<name>/status` */
export function ownerStatusPath(kind: OwnerKind, namespace: string, name: string): string {
  const segments = ['namespaces', namespace, ownerPlurals[kind], name, 'status'].map(encodeURIComponent);
  return `/apis/${ownerApiVersion}/${segments.join('/')}`;
}
