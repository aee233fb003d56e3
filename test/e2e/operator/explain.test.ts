// `kubectl explain` on the local cluster prints a description for every field of both kinds, status included: the
// CRDs the API server serves, not only the files, say what each field is.
import { describe, expect, it } from 'vitest';
import { buildCrd } from '../../../operator/api/v1alpha1/crd.ts';
import { kinds } from '../../../operator/api/v1alpha1/types.ts';
import { ownerKinds } from '../../../operator/api/v1alpha1/services.ts';
import { schemaPaths, type SchemaNode } from '../../support/crd-schema.ts';
import { kubectl } from '../support/cluster.ts';

function fieldPaths(kind: (typeof ownerKinds)[number]): string[] {
  const crd = buildCrd(kind) as { spec: { versions: { schema: { openAPIV3Schema: SchemaNode } }[] } };
  return schemaPaths(crd.spec.versions[0]!.schema.openAPIV3Schema)
    .map(({ path }) => path)
    .filter((path) => !path.endsWith('[]') && path !== 'metadata' && !path.startsWith('metadata.'));
}

/** The DESCRIPTION section of `kubectl explain`, without its indentation. */
function descriptionOf(explained: string): string {
  const section = explained.split(/^DESCRIPTION:\n/m)[1] ?? '';
  return section
    .split(/\n(?=[A-Z]+:)/)[0]!
    .replace(/\s+/g, ' ')
    .trim();
}

describe.each(ownerKinds)('kubectl explain %s', (kind) => {
  it('describes every field, status included', { timeout: 120_000 }, async () => {
    const paths = fieldPaths(kind);
    expect(paths).toContain('status.services.lastResult.outcome');
    const undescribed: string[] = [];
    // A few at a time: each is one kubectl process.
    for (let start = 0; start < paths.length; start += 6) {
      await Promise.all(
        paths.slice(start, start + 6).map(async (path) => {
          const explained = await kubectl(['explain', `${kinds[kind].plural}.${path}`]);
          if (descriptionOf(explained) === '') undescribed.push(path);
        }),
      );
    }
    expect(undescribed).toEqual([]);
  });
});
