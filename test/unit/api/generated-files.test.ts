import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderGeneratedFiles } from '../../../operator/api/generated-files.ts';

const root = join(import.meta.dirname, '../../..');

describe('files generated from the API schemas', () => {
  it.each(Object.entries(renderGeneratedFiles()))('%s is current (run `npm run generate` if not)', (path, content) => {
    expect(readFileSync(join(root, path), 'utf8')).toBe(content);
  });
});
