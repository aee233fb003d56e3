// The chart's documentation is current and complete: README.md's values table and values.schema.json's descriptions
// are what `npm run chart-docs` writes from the `# --` comments of values.yaml, and every value has a comment.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  chartDir,
  documentChart,
  injectValuesTable,
  renderChartDocs,
  renderValuesTable,
  type JsonSchema,
} from '../../../scripts/chart-docs.ts';

describe("the chart's README.md and values.schema.json", () => {
  it('are current, and every value has a `# --` comment (run `npm run chart-docs` if not)', async () => {
    const { files, problems } = await renderChartDocs();
    expect(problems).toEqual([]);
    for (const [file, content] of Object.entries(files)) {
      expect(readFileSync(join(chartDir, file), 'utf8'), file).toBe(content);
    }
  });

  it('describe every value the schema shapes, at every depth', () => {
    const schema = JSON.parse(readFileSync(join(chartDir, 'values.schema.json'), 'utf8')) as JsonSchema;
    const undescribed: string[] = [];
    const walk = (node: JsonSchema, prefix: string) => {
      for (const [key, property] of Object.entries(node.properties ?? {})) {
        if (!property.description) undescribed.push(`${prefix}${key}`);
        walk(property, `${prefix}${key}.`);
      }
    };
    walk(schema, '');
    expect(undescribed).toEqual([]);
    expect(Object.keys(schema.properties ?? {})).toEqual(expect.arrayContaining(['crds', 'networkPolicy']));
  });
});

describe('documentChart', () => {
  const schema: JsonSchema = {
    type: 'object',
    properties: {
      replicas: { type: 'integer' },
      image: {
        type: 'object',
        properties: { repository: { type: 'string' }, tag: { type: 'string' } },
      },
      resources: { type: 'object' },
    },
  };

  it('takes each description from the `# --` line to the key, and leaves other comments out', () => {
    const values = [
      '# A header that documents nothing.',
      '',
      '# -- Replicas of the operator,',
      '# two by default.',
      'replicas: 2',
      '# -- The image.',
      'image:',
      '  # -- Its repository.',
      '  repository: switchyard',
      '  # Not a doc comment.',
      '  # -- Its tag | empty for the default.',
      "  tag: ''",
      '# -- Resources, documented as one value.',
      'resources:',
      '  limits: { memory: 256Mi }',
    ].join('\n');
    const docs = documentChart(values, schema);
    expect(docs.problems).toEqual([]);
    expect(docs.values).toEqual([
      { path: 'replicas', type: 'int', defaultValue: '2', description: 'Replicas of the operator, two by default.' },
      { path: 'image', type: 'object', defaultValue: undefined, description: 'The image.' },
      { path: 'image.repository', type: 'string', defaultValue: '"switchyard"', description: 'Its repository.' },
      { path: 'image.tag', type: 'string', defaultValue: '""', description: 'Its tag | empty for the default.' },
      {
        path: 'resources',
        type: 'object',
        defaultValue: '{"limits":{"memory":"256Mi"}}',
        description: 'Resources, documented as one value.',
      },
    ]);
    expect(docs.schema.properties?.image?.properties?.tag).toEqual({
      description: 'Its tag | empty for the default.',
      type: 'string',
    });
    // The input is left as it was.
    expect(schema.properties?.replicas).toEqual({ type: 'integer' });
    expect(renderValuesTable(docs.values)).toContain(
      '| `image.tag` | string | `""` | Its tag \\| empty for the default. |',
    );
  });

  it('names a value without a `# --` comment, and values and schema properties that do not match', () => {
    const values = [
      '# Replicas, without the marker.',
      'replicas: 2',
      'image:',
      '  # -- Its repository.',
      '  repository: switchyard',
      '# -- Not in the schema.',
      'extra: true',
    ].join('\n');
    expect(documentChart(values, schema).problems).toEqual([
      'replicas has no `# --` comment in values.yaml',
      'image has no `# --` comment in values.yaml',
      'image.tag is in values.schema.json without a description, and not in values.yaml',
      'extra is in values.yaml but not in values.schema.json',
      'resources is in values.schema.json without a description, and not in values.yaml',
    ]);
  });
});

describe('injectValuesTable', () => {
  it('replaces only what lies between the markers', () => {
    const readme = [
      '# Chart',
      '<!-- values:start (written by `npm run chart-docs` from values.yaml; do not edit) -->',
      'old table',
      '<!-- values:end -->',
      'After.',
    ].join('\n');
    const injected = injectValuesTable(readme, 'new table');
    expect(injected).toContain('# Chart\n<!-- values:start');
    expect(injected).toContain('-->\n\nnew table\n\n<!-- values:end -->\nAfter.');
    expect(injected).not.toContain('old table');
    expect(() => injectValuesTable('# No markers', 'table')).toThrow(/needs the markers/);
  });
});
