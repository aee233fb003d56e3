// Runs Argo CD's Lua scripts (health checks, resource actions) with Debian's lua5.1, in the environment Argo CD gives
// them: Argo CD's gopher-lua implements Lua 5.1 and opens only the base, table and a safe os library (util/lua/lua.go),
// so a script that runs here on a real object runs there.
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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

// The driver: the script sees only what Argo CD opens (util/lua/lua.go and oslib_safe.go: base functions, table, os
// with date and time, require("os"), actionParams) and no string methods, as gopher-lua without its string library.
// Its return value is written as JSON the way Argo CD's gopher-json encodes it: an empty table is [].
const driver = `
local scriptFile, now = arg[1], tonumber(arg[2])
local safeOs = {
  date = function(format, time) return os.date(format, time or now) end,
  time = function(fields)
    if fields == nil then return now or os.time() end
    return os.time(fields)
  end,
}
local sandbox = { obj = object, actionParams = {}, table = table, os = safeOs, _VERSION = _VERSION }
for _, name in ipairs({ "assert", "error", "getmetatable", "ipairs", "next", "pairs", "pcall", "print", "rawequal",
    "rawget", "rawset", "select", "setmetatable", "tonumber", "tostring", "type", "unpack", "xpcall" }) do
  sandbox[name] = _G[name]
end
sandbox._G = sandbox
sandbox.require = function(name)
  if name == "os" then return safeOs end
  error("module " .. tostring(name) .. " not found: Argo CD preloads only os")
end
local stringMethods = getmetatable("").__index
getmetatable("").__index = nil
local result = setfenv(assert(loadfile(scriptFile)), sandbox)()
getmetatable("").__index = stringMethods

local function quote(text)
  return '"' .. string.gsub(text, '[%c"\\\\]', function(character)
    return string.format("\\\\u%04x", string.byte(character))
  end) .. '"'
end
local function encode(value)
  local kind = type(value)
  if kind == "nil" then return "null" end
  if kind == "boolean" then return tostring(value) end
  if kind == "string" then return quote(value) end
  if kind == "number" then
    if value == math.floor(value) and math.abs(value) < 2^53 then return string.format("%d", value) end
    return string.format("%.17g", value)
  end
  if kind ~= "table" then error("cannot encode a " .. kind) end
  local count = 0
  for _ in pairs(value) do count = count + 1 end
  local parts = {}
  if count == #value then
    for index = 1, count do parts[index] = encode(value[index]) end
    return "[" .. table.concat(parts, ",") .. "]"
  end
  for key, field in pairs(value) do
    if type(key) ~= "string" then error("cannot encode a table of mixed keys") end
    table.insert(parts, quote(key) .. ":" .. encode(field))
  end
  return "{" .. table.concat(parts, ",") .. "}"
end
io.write(encode(result))
`;

export interface ScriptOptions {
  /** The time os.date() and os.time() report, in place of the clock's. */
  now?: Date;
}

/**
 * Runs an Argo CD script on an object as Argo CD does (the object in the global `obj`) and returns the script's
 * return value as Argo CD reads it, through JSON.
 */
export async function runArgoCdScript(script: string, object: unknown, options: ScriptOptions = {}): Promise<unknown> {
  const folder = mkdtempSync(join(tmpdir(), 'switchyard-lua-'));
  const scriptFile = join(folder, 'script.lua');
  const driverFile = join(folder, 'driver.lua');
  try {
    writeFileSync(scriptFile, script);
    writeFileSync(driverFile, `local object = ${toLuaLiteral(object)}\n${driver}`);
    const now = options.now === undefined ? [] : [String(Math.floor(options.now.getTime() / 1000))];
    // A local time zone far from UTC, so that a script that forgets os.date's "!" (UTC) shows it.
    const env = { ...process.env, TZ: 'Pacific/Auckland' };
    const { stdout } = await run(interpreter, [driverFile, scriptFile, ...now], { env });
    return JSON.parse(stdout) as unknown;
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

export interface Health {
  status: string;
  message: string;
}

/** Runs a health script on an object: Argo CD reads an absent status or message as empty. */
export async function evaluateHealth(script: string, object: unknown): Promise<Health> {
  const health = (await runArgoCdScript(script, object)) as Partial<Health> | null;
  return { status: health?.status ?? '', message: health?.message ?? '' };
}

/** An action as Argo CD's discovery reports it (ResourceAction): absent `disabled` means offered. */
export interface DiscoveredAction {
  disabled: boolean;
  displayName?: string;
  iconClass?: string;
}

/** Runs a discovery script as Argo CD does (ExecuteResourceActionDiscovery): the actions by name. */
export async function discoverActions(script: string, object: unknown): Promise<Record<string, DiscoveredAction>> {
  const actions = (await runArgoCdScript(script, object)) as Record<string, unknown> | [];
  if (Array.isArray(actions)) return {}; // an empty table: no actions
  return Object.fromEntries(
    Object.entries(actions).map(([name, action]) => {
      const fields = isObject(action) ? action : {}; // an empty table, [], is an action with no fields
      return [name, { ...fields, disabled: fields.disabled === true }];
    }),
  );
}

/**
 * Runs an action script as Argo CD does (ExecuteResourceAction, old style: the script returns the object) and returns
 * the object Argo CD then patches the live one towards.
 */
export async function runAction(script: string, object: unknown, options: ScriptOptions = {}): Promise<unknown> {
  const returned = await runArgoCdScript(script, object, options);
  if (!isObject(returned) || !isObject(object)) throw new Error(`the action returned ${JSON.stringify(returned)}`);
  return restoreEmptyObjects(returned, object);
}

type JsonObject = Record<string, unknown>;
const isObject = (value: unknown): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

// Argo CD's cleanReturnedObj and cleanReturnedArray (util/lua/lua.go): Lua cannot tell an empty object from an empty
// array, so an empty array returned where the live object had an object is an empty object again.
function restoreEmptyObjects(returned: JsonObject, live: JsonObject): JsonObject {
  const restored = { ...returned };
  for (const [key, liveValue] of Object.entries(live)) {
    const value = restored[key];
    if (isObject(value) && isObject(liveValue)) restored[key] = restoreEmptyObjects(value, liveValue);
    else if (Array.isArray(value) && isObject(liveValue) && value.length === 0) restored[key] = {};
    else if (Array.isArray(value) && Array.isArray(liveValue)) restored[key] = restoreEmptyInArray(value, liveValue);
  }
  return restored;
}

function restoreEmptyInArray(returned: unknown[], live: unknown[]): unknown[] {
  return returned.map((value, index) => {
    const liveValue = live[index];
    if (isObject(value) && isObject(liveValue)) return restoreEmptyObjects(value, liveValue);
    if (Array.isArray(value) && Array.isArray(liveValue)) return restoreEmptyInArray(value, liveValue);
    return value;
  });
}
