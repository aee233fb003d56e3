// The chart's documentation comes from one place: the `# --` comment above each value in values.yaml (helm-docs'
// convention). From those comments this writes the values table of the chart's README.md and the `description` of
// each value in values.schema.json, and it finds values without a comment, and values and schema properties that do
// not match.
//   npm run chart-docs              writes README.md and values.schema.json
//   npm run chart-docs -- --check   fails when either is stale or a value is undocumented
import { readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import * as prettier from 'prettier';
import { isMap, isScalar, parseDocument, type YAMLMap } from 'yaml';

export const chartDir = join(import.meta.dirname, '../charts/switchyard');

export interface JsonSchema {
  description?: string;
  properties?: Record<string, JsonSchema>;
  [keyword: string]: unknown;
}

export interface ValueDoc {
  /** Dotted path, as `--set` takes it. */
  path: string;
  type: string;
  /** The default as JSON; undefined for an object whose own values are documented one by one. */
  defaultValue: string | undefined;
  description: string;
}

export interface ChartDocs {
  values: ValueDoc[];
  /** The schema with every documented value's description set from its comment. */
  schema: JsonSchema;
  problems: string[];
}

const valuesTableStart = '<!-- values:start (written by `npm run chart-docs` from values.yaml; do not edit) -->';
const valuesTableEnd = '<!-- values:end -->';

/** The `# --` comment of a key: from its `--` line to the key, lines joined; undefined without one. */
function docComment(commentBefore: readonly (string | null | undefined)[]): string | undefined {
  const lines = commentBefore
    .filter((comment): comment is string => Boolean(comment))
    .join('\n')
    .split('\n')
    .map((line) => line.trim());
  const start = lines.findLastIndex((line) => line.startsWith('--'));
  if (start === -1) return undefined;
  const text = [lines[start]!.slice(2), ...lines.slice(start + 1)].join(' ');
  return text.replace(/\s+/g, ' ').trim() || undefined;
}

function typeOf(value: unknown): string {
  if (Array.isArray(value)) return 'list';
  if (value === null) return 'null';
  if (typeof value === 'number') return Number.isInteger(value) ? 'int' : 'float';
  if (typeof value === 'boolean') return 'bool';
  return typeof value;
}

/**
 * Walks values.yaml beside the schema. An object the schema shapes (it lists its `properties`) is documented value by
 * value and must match the schema key for key; any other value (a scalar, a list, a map the user shapes) is one row.
 */
export function documentChart(valuesYaml: string, schema: JsonSchema): ChartDocs {
  const document = parseDocument(valuesYaml);
  if (!isMap(document.contents)) throw new Error('values.yaml is not a map');
  const described = structuredClone(schema);
  const values: ValueDoc[] = [];
  const problems: string[] = [];

  const walk = (map: YAMLMap, schemaNode: JsonSchema, prefix: string) => {
    const properties = schemaNode.properties ?? {};
    const keys = new Set<string>();
    map.items.forEach((pair, index) => {
      if (!isScalar(pair.key)) throw new Error(`${prefix}: a key that is not a scalar`);
      const key = String(pair.key.value);
      const path = `${prefix}${key}`;
      keys.add(key);
      const description = docComment(
        index === 0 ? [map.commentBefore, pair.key.commentBefore] : [pair.key.commentBefore],
      );
      if (!description) problems.push(`${path} has no \`# --\` comment in values.yaml`);
      const property = properties[key];
      if (!property) {
        problems.push(`${path} is in values.yaml but not in values.schema.json`);
        return;
      }
      const shaped = property.properties !== undefined && isMap(pair.value);
      const value: unknown = (pair.value as { toJSON?: () => unknown } | null)?.toJSON?.() ?? null;
      values.push({
        path,
        type: typeOf(value),
        defaultValue: shaped ? undefined : JSON.stringify(value),
        description: description ?? '',
      });
      if (description) {
        const { description: _old, ...rest } = property;
        properties[key] = { description, ...rest };
      }
      if (shaped) walk(pair.value as YAMLMap, properties[key]!, `${path}.`);
    });
    for (const [key, property] of Object.entries(properties)) {
      if (!keys.has(key) && !property.description) {
        problems.push(`${prefix}${key} is in values.schema.json without a description, and not in values.yaml`);
      }
    }
  };
  walk(document.contents, described, '');
  return { values, schema: described, problems };
}

const tableCell = (text: string) => text.replaceAll('|', '\\|');

export function renderValuesTable(values: readonly ValueDoc[]): string {
  const rows = values.map((value) =>
    [
      `\`${value.path}\``,
      value.type,
      value.defaultValue === undefined ? '' : `\`${tableCell(value.defaultValue)}\``,
      tableCell(value.description),
    ].join(' | '),
  );
  return [
    '| Key | Type | Default | Description |',
    '| --- | --- | --- | --- |',
    ...rows.map((row) => `| ${row} |`),
  ].join('\n');
}

/** The README with its values table replaced; the text around the markers is the README's own. */
export function injectValuesTable(readme: string, table: string): string {
  const start = readme.indexOf(valuesTableStart);
  const end = readme.indexOf(valuesTableEnd);
  if (start === -1 || end < start) {
    throw new Error(`README.md needs the markers ${valuesTableStart} and ${valuesTableEnd}`);
  }
  return `${readme.slice(0, start + valuesTableStart.length)}\n\n${table}\n\n${readme.slice(end)}`;
}

async function formatted(file: string, text: string, options: prettier.Options = {}): Promise<string> {
  const config = (await prettier.resolveConfig(file)) ?? {};
  return prettier.format(text, { ...config, ...options, filepath: file });
}

/** README.md and values.schema.json as they should be, by path relative to the chart, and what is undocumented. */
export async function renderChartDocs(
  chart = chartDir,
): Promise<{ files: Record<string, string>; problems: string[] }> {
  const read = (file: string) => readFileSync(join(chart, file), 'utf8');
  const docs = documentChart(read('values.yaml'), JSON.parse(read('values.schema.json')) as JsonSchema);
  const readme = injectValuesTable(read('README.md'), renderValuesTable(docs.values));
  return {
    files: {
      'README.md': await formatted(join(chart, 'README.md'), readme),
      // Objects that fit on a line stay on one, as the schema was written.
      'values.schema.json': await formatted(join(chart, 'values.schema.json'), JSON.stringify(docs.schema), {
        objectWrap: 'collapse',
      }),
    },
    problems: docs.problems,
  };
}

if (import.meta.main) {
  const check = process.argv.includes('--check');
  const { files, problems } = await renderChartDocs();
  const stale = Object.entries(files).filter(
    ([file, content]) => readFileSync(join(chartDir, file), 'utf8') !== content,
  );
  if (!check) for (const [file, content] of stale) writeFileSync(join(chartDir, file), content);
  for (const problem of problems) console.error(problem);
  if (check && stale.length > 0) {
    const paths = stale.map(([file]) => relative(process.cwd(), join(chartDir, file)));
    console.error(`Stale: ${paths.join(', ')}. Run: npm run chart-docs`);
  }
  if (problems.length > 0 || (check && stale.length > 0)) process.exit(1);
}
