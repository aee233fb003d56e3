// Runs Argo CD health scripts with Debian's lua5.1: Argo CD's gopher-lua implements Lua 5.1, so a script that runs
// here on a real object runs there.
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const interpreter = 'lua5.1';

function hasInterpreter(): boolean {
  try {
    execFileSync(interpreter, ['-v'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Installs lua5.1 with apt when it is missing and this is root; otherwise says what to install. */
export function ensureLua(): void {
  if (hasInterpreter()) return;
  if (process.getuid?.() === 0) {
    const apt = (...args: string[]) => execFileSync('apt-get', args, { stdio: 'ignore', timeout: 300_000 });
    try {
      apt('install', '-y', '--no-install-recommends', interpreter);
    } catch {
      // A fresh machine has no package lists yet.
      apt('update');
      apt('install', '-y', '--no-install-recommends', interpreter);
    }
    if (hasInterpreter()) return;
  }
  throw new Error(
    `the Argo CD health-check tests need ${interpreter} (Lua 5.1, as Argo CD's gopher-lua): apt-get install -y ${interpreter}`,
  );
}

/** A Lua 5.1 string literal: it knows no \u escapes, so control characters go as decimal \ddd. */
function luaString(text: string): string {
  let literal = '"';
  for (const character of text) {
    const code = character.codePointAt(0)!;
    if (character === '\\' || character === '"') literal += `\\${character}`;
    else if (code < 32 || code === 127) literal += `\\${code.toString().padStart(3, '0')}`;
    else literal += character;
  }
  return `${literal}"`;
}

/** A JSON value as a Lua table constructor, as Argo CD hands the live object to the script (null fields absent). */
export function toLuaLiteral(value: unknown): string {
  if (value === null || value === undefined) return 'nil';
  if (typeof value === 'string') return luaString(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return `{ ${value.map(toLuaLiteral).join(', ')} }`;
  if (typeof value === 'object') {
    const fields = Object.entries(value as Record<string, unknown>)
      .filter(([, field]) => field !== null && field !== undefined)
      .map(([key, field]) => `[${luaString(key)}] = ${toLuaLiteral(field)}`);
    return `{ ${fields.join(', ')} }`;
  }
  throw new Error(`cannot express ${typeof value} in Lua`);
}

export interface Health {
  status: string;
  message: string;
}

/** Runs a health script on an object, as Argo CD does: the object in the global `obj`, the script's return value. */
export async function evaluateHealth(script: string, object: unknown): Promise<Health> {
  const folder = mkdtempSync(join(tmpdir(), 'switchyard-lua-'));
  const scriptFile = join(folder, 'health.lua');
  const driverFile = join(folder, 'driver.lua');
  writeFileSync(scriptFile, script);
  writeFileSync(
    driverFile,
    [
      `obj = ${toLuaLiteral(object)}`,
      'local health = assert(loadfile(arg[1]))()',
      'io.write(tostring(health.status), "\\n", tostring(health.message))',
    ].join('\n'),
  );
  const { stdout } = await run(interpreter, [driverFile, scriptFile]);
  const [status = '', ...message] = stdout.split('\n');
  return { status, message: message.join('\n') };
}
