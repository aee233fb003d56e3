// Builds the image's application folder without a Docker engine: reads the Dockerfile and .dockerignore and carries
// out their steps on this machine, so that the test exercises the real build, not a copy of it. Only the instructions
// the Dockerfile uses are understood; anything else fails the build, as a reminder to teach it here.
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface Instruction {
  keyword: string;
  arguments: string;
}

export interface Stage {
  /** The base image, build arguments substituted. */
  from: string;
  name: string | undefined;
  instructions: Instruction[];
}

export interface Dockerfile {
  /** ARGs declared before the first FROM, with their defaults. */
  globalArgs: Record<string, string>;
  stages: Stage[];
}

export function parseDockerfile(text: string): Dockerfile {
  const logicalLines = text
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('#'))
    .join('\n')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
  const globalArgs: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const line of logicalLines) {
    const [, keyword = '', rest = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    const instruction = { keyword: keyword.toUpperCase(), arguments: rest };
    if (instruction.keyword === 'FROM') {
      const [image = '', as, name] = rest.split(/\s+/);
      const from = image.replace(/\$\{(\w+)\}/g, (_, arg: string) => globalArgs[arg] ?? '');
      stages.push({ from, name: as?.toUpperCase() === 'AS' ? name : undefined, instructions: [] });
    } else if (stages.length === 0) {
      if (instruction.keyword !== 'ARG') throw new Error(`only ARG may come before FROM, not ${line}`);
      const [name = '', value = ''] = rest.split('=', 2);
      globalArgs[name] = value;
    } else {
      stages.at(-1)!.instructions.push(instruction);
    }
  }
  return { globalArgs, stages };
}

function globToRegExp(pattern: string): RegExp {
  const source = pattern
    .split('**')
    .map((part) =>
      part
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*/g, '[^/]*')
        .replace(/\?/g, '[^/]'),
    )
    .join('.*');
  return new RegExp(`^${source}$`);
}

interface IgnoreRule {
  pattern: string;
  negated: boolean;
  matcher: RegExp;
}

function parseDockerignore(text: string): IgnoreRule[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const negated = line.startsWith('!');
      const pattern = (negated ? line.slice(1) : line).replace(/^\/+|\/+$/g, '');
      return { pattern, negated, matcher: globToRegExp(pattern) };
    });
}

/** Docker's rule: the last pattern that matches the path or one of its parent folders decides. */
function isIgnored(path: string, rules: IgnoreRule[]): boolean {
  const parts = path.split('/');
  const candidates = parts.map((_, index) => parts.slice(0, index + 1).join('/'));
  let ignored = false;
  for (const rule of rules) {
    if (candidates.some((candidate) => rule.matcher.test(candidate))) ignored = !rule.negated;
  }
  return ignored;
}

/** Copies the build context (the folder less what its .dockerignore excludes) into `target`. */
export function copyBuildContext(source: string, target: string): void {
  const rules = parseDockerignore(readFileSync(join(source, '.dockerignore'), 'utf8'));
  const walk = (relative: string) => {
    for (const entry of readdirSync(join(source, relative), { withFileTypes: true })) {
      const path = relative ? `${relative}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        // An ignored folder is still entered when a later exception may bring back something inside it.
        const reopened = rules.some((rule) => rule.negated && rule.pattern.startsWith(`${path}/`));
        if (!isIgnored(path, rules) || reopened) walk(path);
      } else if (!isIgnored(path, rules)) {
        mkdirSync(dirname(join(target, path)), { recursive: true });
        cpSync(join(source, path), join(target, path));
      }
    }
  };
  walk('');
}

export interface BuiltImage {
  /** The final stage's WORKDIR, with everything the final stage copied into it. */
  appDir: string;
  /** The final stage's environment, PATH's own folders under the stage's root. */
  env: Record<string, string>;
  user: string | undefined;
  entrypoint: string[];
  exposedPorts: string[];
}

/** `COPY [--from=stage] <source>... <destination>`, sources and destination as written. */
function parseCopy(argumentsText: string): { from: string | undefined; sources: string[]; destination: string } {
  const words = argumentsText.split(/\s+/);
  const flags = words.filter((word) => word.startsWith('--'));
  const paths = words.filter((word) => !word.startsWith('--'));
  const unknown = flags.filter((flag) => !flag.startsWith('--from='));
  if (unknown.length > 0) throw new Error(`COPY flags not understood here: ${unknown.join(' ')}`);
  const from = flags.find((flag) => flag.startsWith('--from='))?.slice('--from='.length);
  return { from, sources: paths.slice(0, -1), destination: paths.at(-1) ?? '' };
}

/** `ENV A=1 B=2` into pairs (values without spaces or quotes, which is all the Dockerfile uses). */
function parseEnv(argumentsText: string): [string, string][] {
  return argumentsText.split(/\s+/).map((pair) => {
    const [name = '', value = ''] = pair.split(/=(.*)/s);
    return [name, value];
  });
}

/**
 * What a build on this machine needs from the host that a Docker daemon would provide: proxies and extra CA
 * certificates to reach the registry, and HOME, so that npm reuses its download cache.
 */
function hostNetworkEnv(): Record<string, string> {
  const wanted = /^(HOME|https?_proxy|no_proxy|NODE_EXTRA_CA_CERTS|SSL_CERT_FILE|SSL_CERT_DIR)$/i;
  return Object.fromEntries(
    Object.entries(process.env).filter((entry): entry is [string, string] => wanted.test(entry[0]) && !!entry[1]),
  );
}

/**
 * Carries out the Dockerfile. Each stage gets a folder that stands for its root filesystem: WORKDIR and COPY
 * destinations land under it, COPY takes from the build context or an earlier stage's folder, and RUN runs `sh -c`
 * in the working folder with `basePath` standing for the base image's PATH (which must offer node and npm).
 */
export async function buildWithoutDocker(
  dockerfileText: string,
  contextDir: string,
  workDir: string,
  basePath: string,
): Promise<BuiltImage> {
  const dockerfile = parseDockerfile(dockerfileText);
  const stageRoots = new Map<string, string>();
  let image: BuiltImage | undefined;
  for (const [index, stage] of dockerfile.stages.entries()) {
    const stageRoot = join(workDir, `stage-${index}`);
    let workdir = '/';
    const inStage = (path: string) => join(stageRoot, path.startsWith('/') ? path : join(workdir, path));
    image = { appDir: inStage('.'), env: { PATH: basePath }, user: undefined, entrypoint: [], exposedPorts: [] };
    const env = image.env;
    for (const { keyword, arguments: args } of stage.instructions) {
      switch (keyword) {
        case 'WORKDIR':
          workdir = args;
          image.appDir = inStage('.');
          mkdirSync(image.appDir, { recursive: true });
          break;
        case 'COPY': {
          const { from, sources, destination } = parseCopy(args);
          const originRoot = from === undefined ? undefined : stageRoots.get(from);
          if (from !== undefined && originRoot === undefined) throw new Error(`COPY --from=${from}: no such stage`);
          for (const source of sources) {
            const sourcePath = originRoot === undefined ? join(contextDir, source) : join(originRoot, source);
            const target = destination.endsWith('/')
              ? join(inStage(destination), basename(source))
              : inStage(destination);
            cpSync(sourcePath, target, { recursive: true });
          }
          break;
        }
        case 'RUN':
          await run('sh', ['-c', args], {
            cwd: inStage('.'),
            env: { ...hostNetworkEnv(), ...env },
            maxBuffer: 64 << 20,
          });
          break;
        case 'ENV':
          for (const [name, value] of parseEnv(args)) {
            env[name] =
              name === 'PATH'
                ? value
                    .split(':')
                    .map((entry) => (/^\$\{?PATH\}?$/.test(entry) ? env.PATH! : join(stageRoot, entry)))
                    .join(':')
                : value;
          }
          break;
        case 'USER':
          image.user = args;
          break;
        case 'EXPOSE':
          image.exposedPorts.push(...args.split(/\s+/));
          break;
        case 'ENTRYPOINT':
          image.entrypoint = JSON.parse(args) as string[];
          break;
        default:
          throw new Error(
            `${keyword} is not understood by the build without Docker: teach test/e2e/image/dockerfile.ts`,
          );
      }
    }
    if (stage.name) stageRoots.set(stage.name, stageRoot);
  }
  if (!image) throw new Error('the Dockerfile has no stage');
  return image;
}
