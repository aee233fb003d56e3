import { describe, expect, it } from 'vitest';
import { buildCrd } from '../../../operator/api/v1alpha1/crd.ts';
import { ownerKinds } from '../../../operator/api/v1alpha1/services.ts';
import { schemaPaths, type SchemaNode } from '../../support/crd-schema.ts';

type Crd = {
  spec: {
    names: { shortNames?: string[] };
    versions: {
      schema: { openAPIV3Schema: SchemaNode };
      additionalPrinterColumns: { name: string; priority?: number }[];
    }[];
  };
};
const crdOf = (kind: (typeof ownerKinds)[number]) => buildCrd(kind) as Crd;

describe.each(ownerKinds)('the %s CRD', (kind) => {
  const crd = crdOf(kind);
  const version = crd.spec.versions[0]!;
  const paths = schemaPaths(version.schema.openAPIV3Schema);

  it('describes every schema node, status included, so that kubectl explain says what each field is', () => {
    // metadata is the API server's own: a CRD may not describe it.
    const undescribed = paths.filter(({ path, node }) => path !== 'metadata' && !node.description);
    expect(undescribed.map(({ path }) => path)).toEqual([]);
    expect(paths.filter(({ path }) => path.startsWith('status.')).length).toBeGreaterThan(25);
  });

  it('echoes the rejected value in every rule on a string field', () => {
    const rules = paths.flatMap(({ path, node }) =>
      (node['x-kubernetes-validations'] ?? []).map((rule) => ({ path, type: node.type, ...rule })),
    );
    expect(rules.length).toBeGreaterThan(3);
    for (const rule of rules.filter((each) => each.type === 'string')) {
      expect(rule.messageExpression, rule.path).toMatch(/^'"' \+ self \+ '": ' \+ '.+'$/);
    }
  });

  it('has a short name, a Status column for -o wide, and a column that says whether data moves', () => {
    expect(crd.spec.names.shortNames).toHaveLength(1);
    const columns = version.additionalPrinterColumns.map(
      (column) => `${column.name}${column.priority ? ' (wide)' : ''}`,
    );
    expect(columns).toContain('Status (wide)');
    expect(columns).toContain(kind === 'Merchant' ? 'Delivered' : 'Downloaded');
  });
});
