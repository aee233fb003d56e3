// npm run generate        writes the files derived from the API schemas
// npm run generate:check  fails when any of them is stale
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderGeneratedFiles } from './generated-files.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const check = process.argv.includes('--check');
const stale: string[] = [];
for (const [path, content] of Object.entries(renderGeneratedFiles())) {
  const file = join(root, path);
  let current: string | undefined;
  try {
    current = readFileSync(file, 'utf8');
  } catch {
    current = undefined;
  }
  if (current === content) continue;
  if (check) stale.push(relative(process.cwd(), file));
  else writeFileSync(file, content);
}
if (stale.length > 0) {
  console.error(`Generated files are stale: ${stale.join(', ')}. Run: npm run generate`);
  process.exit(1);
}
