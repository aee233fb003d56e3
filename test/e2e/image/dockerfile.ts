// Builds the image without a Docker engine: reads the Dockerfile and .dockerignore and carries out their steps on this
// machine, so that the tests exercise the real build, not a copy of it. Each stage gets a folder that stands for its
// root filesystem, and starts from a stand-in for its base image that the caller describes. Only the instructions the
// Dockerfile uses are understood; anything else fails the build, as a reminder to teach it here.
import { execFile } from 'node:child_process';
import { cpSync, lstatSync, mkdirSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { basename, dirname, join, posix } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface Instruction {
  keyword: string;
  arguments: string;
}

export interface Stage {
  /** The base image as written, build arguments not yet substituted. */
  from: string;
  name: string | undefined;
  instructions: Instruction[];
}

export interface Dockerfile {
  /** ARGs declared before the first FROM, with their defaults (undefined when declared without one). */
  globalArgs: Record<string, string | undefined>;
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
  const globalArgs: Record<string, string | undefined> = {};
  const stages: Stage[] = [];
  for (const line of logicalLines) {
    const [, keyword = '', rest = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    const instruction = { keyword: keyword.toUpperCase(), arguments: rest };
    if (instruction.keyword === 'FROM') {
      const [from = '', as, name] = rest.split(/\s+/);
      stages.push({ from, name: as?.toUpperCase() === 'AS' ? name : undefined, instructions: [] });
    } else if (stages.length === 0) {
      if (instruction.keyword !== 'ARG') throw new Error(`only ARG may come before FROM, not ${line}`);
      const { name, value } = parseArg(rest);
      globalArgs[name] = value;
    } else {
      stages.at(-1)!.instructions.push(instruction);
    }
  }
  return { globalArgs, stages };
}

function parseArg(argumentsText: string): { name: string; value: string | undefined } {
  const [, name = '', value] = /^(\w+)(?:=(.*))?$/.exec(argumentsText) ?? [];
  if (!name) throw new Error(`ARG not understood here: ${argumentsText}`);
  return { name, value };
}

/** `$NAME` and `${NAME}` as Docker substitutes them; an unset variable becomes the empty string. */
function substitute(text: string, variables: Record<string, string>): string {
  return text.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, braced?: string, bare?: string) => variables[braced ?? bare!] ?? '');
}

/** `A=1 B="two words"` (ENV, LABEL) into pairs, values substituted; the older `KEY value` form is not understood. */
function parseKeyValues(argumentsText: string, variables: Record<string, string>): [string, string][] {
  const pairs: [string, string][] = [];
  const pair = /\s*([^\s=]+)=(?:"((?:[^"\\]|\\.)*)"|(\S*))/y;
  while (pair.lastIndex < argumentsText.length) {
    const match = pair.exec(argumentsText);
    if (!match) throw new Error(`key=value pairs not understood here: ${argumentsText}`);
    const [, key = '', quoted, bare] = match;
    pairs.push([key, substitute(quoted?.replace(/\\(.)/g, '$1') ?? bare ?? '', variables)]);
  }
  return pairs;
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

/** A base image as this machine stands in for it. */
export interface BaseImage {
  /** The image's environment, in the image's own terms (PATH of folders inside the image). */
  env: Record<string, string>;
  /** Files of the image that matter here, by their path in the image, each standing for a file of this machine. */
  files: Record<string, string>;
  /** Folders of this machine with the image's own programs (a shell, find), searched after the image's PATH. */
  programs: string[];
}

/** The final stage's configuration, as `docker inspect` shows an image's. */
export interface ImageConfig {
  env: Record<string, string>;
  labels: Record<string, string>;
  workdir: string;
  user: string | undefined;
  entrypoint: string[];
  exposedPorts: string[];
}

export interface BuildOptions {
  /** `docker build --build-arg`: every one must be declared by an ARG, as Docker warns otherwise. */
  buildArgs?: Record<string, string>;
  /** Stand-ins for the base images the stages start FROM, by image reference after substitution. */
  baseImages: Record<string, BaseImage>;
  /** The folder of this machine that stands for the cache mount at each target; a fresh folder otherwise. */
  cacheMounts?: Record<string, string>;
}

export interface BuiltImage {
  /** The final stage's root filesystem: what its base image stand-in seeded plus everything it copied. */
  root: string;
  /** The final stage's WORKDIR under `root`. */
  appDir: string;
  config: ImageConfig;
  /** The config's environment for running on this machine: PATH's folders under `root`, then the base's programs. */
  hostEnv: Record<string, string>;
}

interface StageState {
  /** The ARGs in scope, with their values (a declared ARG without a value is left out, as Docker leaves it unset). */
  args: Record<string, string>;
  config: ImageConfig;
}

function effectiveGlobalArgs(dockerfile: Dockerfile, buildArgs: Record<string, string>): Record<string, string> {
  const declared = new Set([
    ...Object.keys(dockerfile.globalArgs),
    ...dockerfile.stages.flatMap((stage) =>
      stage.instructions.filter(({ keyword }) => keyword === 'ARG').map(({ arguments: args }) => parseArg(args).name),
    ),
  ]);
  const unused = Object.keys(buildArgs).filter((name) => !declared.has(name));
  if (unused.length > 0) throw new Error(`build arguments that no ARG declares: ${unused.join(', ')}`);
  const values: Record<string, string> = {};
  for (const [name, fallback] of Object.entries(dockerfile.globalArgs)) {
    const value = buildArgs[name] ?? fallback;
    if (value !== undefined) values[name] = value;
  }
  return values;
}

function baseImageOf(stage: Stage, globalArgs: Record<string, string>, baseImages: Record<string, BaseImage>) {
  const reference = substitute(stage.from, globalArgs);
  const baseImage = baseImages[reference];
  if (!baseImage) throw new Error(`no stand-in for the base image ${reference}`);
  return baseImage;
}

/**
 * Applies an instruction that changes only the stage's configuration (ARG, ENV, LABEL, WORKDIR, USER, EXPOSE,
 * ENTRYPOINT); false for one that touches files.
 */
function configure(
  state: StageState,
  { keyword, arguments: args }: Instruction,
  globalArgs: Record<string, string>,
  buildArgs: Record<string, string>,
): boolean {
  const { config } = state;
  const variables = () => ({ ...state.args, ...config.env });
  switch (keyword) {
    case 'ARG': {
      // Inside a stage, an ARG without a value takes the global ARG's; a build argument overrides both.
      const { name, value } = parseArg(args);
      const resolved = buildArgs[name] ?? (value === undefined ? globalArgs[name] : substitute(value, variables()));
      if (resolved !== undefined) state.args[name] = resolved;
      return true;
    }
    case 'ENV':
      for (const [name, value] of parseKeyValues(args, variables())) config.env[name] = value;
      return true;
    case 'LABEL':
      for (const [name, value] of parseKeyValues(args, variables())) config.labels[name] = value;
      return true;
    case 'WORKDIR':
      config.workdir = posix.resolve(config.workdir, substitute(args, variables()));
      return true;
    case 'USER':
      config.user = substitute(args, variables());
      return true;
    case 'EXPOSE':
      config.exposedPorts.push(...args.split(/\s+/));
      return true;
    case 'ENTRYPOINT':
      config.entrypoint = JSON.parse(args) as string[];
      return true;
    default:
      return false;
  }
}

function newStageState(baseImage: BaseImage): StageState {
  return {
    args: {},
    config: { env: { ...baseImage.env }, labels: {}, workdir: '/', user: undefined, entrypoint: [], exposedPorts: [] },
  };
}

/** The final stage's configuration for these build arguments, without building anything. */
export function configureImage(dockerfile: Dockerfile, options: BuildOptions): ImageConfig {
  const buildArgs = options.buildArgs ?? {};
  const globalArgs = effectiveGlobalArgs(dockerfile, buildArgs);
  const finalStage = dockerfile.stages.at(-1);
  if (!finalStage) throw new Error('the Dockerfile has no stage');
  const state = newStageState(baseImageOf(finalStage, globalArgs, options.baseImages));
  for (const instruction of finalStage.instructions) configure(state, instruction, globalArgs, buildArgs);
  return state.config;
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

/** `RUN [--mount=type=cache,target=<path>]... <command>`: the cache mounts' targets and the shell command. */
function parseRun(argumentsText: string): { cacheTargets: string[]; command: string } {
  const [, flags = '', command = ''] = /^((?:--\S+\s+)*)(.*)$/s.exec(argumentsText) ?? [];
  const cacheTargets = flags
    .split(/\s+/)
    .filter(Boolean)
    .map((flag) => {
      const options = new Map(
        flag.startsWith('--mount=')
          ? flag
              .slice('--mount='.length)
              .split(',')
              .map((option) => option.split('=', 2) as [string, string | undefined])
          : [],
      );
      const understood = [...options.keys()].every((key) => ['type', 'target', 'id', 'sharing'].includes(key));
      const target = options.get('target');
      if (options.get('type') !== 'cache' || !target || !understood) {
        throw new Error(`RUN flag not understood here: ${flag}`);
      }
      return target;
    });
  return { cacheTargets, command };
}

/**
 * What a build on this machine needs from the host that a Docker daemon would provide: proxies and extra CA
 * certificates to reach the registry.
 */
function hostNetworkEnv(): Record<string, string> {
  const wanted = /^(https?_proxy|no_proxy|NODE_EXTRA_CA_CERTS|SSL_CERT_FILE|SSL_CERT_DIR)$/i;
  return Object.fromEntries(
    Object.entries(process.env).filter((entry): entry is [string, string] => wanted.test(entry[0]) && !!entry[1]),
  );
}

/** An environment of the image for this machine: PATH's folders under the stage's root, then the base's programs. */
function hostEnvOf(env: Record<string, string>, stageRoot: string, baseImage: BaseImage): Record<string, string> {
  const path = (env.PATH ?? '')
    .split(':')
    .filter(Boolean)
    .map((folder) => join(stageRoot, folder));
  return { ...env, PATH: [...path, ...baseImage.programs].join(':') };
}

/**
 * Carries out the Dockerfile. Each stage's folder starts with its base image's stand-in files (as links); WORKDIR and
 * COPY destinations land under it; COPY takes from the build context or an earlier stage's folder (a linked source is
 * followed, as Docker copies what a link points to); RUN runs `sh -c` in the working folder as root would, HOME the
 * stage's /root, with each cache mount linked in for the command only and left an empty folder, as BuildKit leaves it.
 */
export async function buildWithoutDocker(
  dockerfileText: string,
  contextDir: string,
  workDir: string,
  options: BuildOptions,
): Promise<BuiltImage> {
  const dockerfile = parseDockerfile(dockerfileText);
  const buildArgs = options.buildArgs ?? {};
  const globalArgs = effectiveGlobalArgs(dockerfile, buildArgs);
  const cacheFolder = (target: string) =>
    options.cacheMounts?.[target] ?? join(workDir, 'cache-mounts', target.replace(/\//g, '_'));
  const stageRoots = new Map<string, string>();
  let image: BuiltImage | undefined;
  for (const [index, stage] of dockerfile.stages.entries()) {
    const baseImage = baseImageOf(stage, globalArgs, options.baseImages);
    const stageRoot = join(workDir, `stage-${index}`);
    const state = newStageState(baseImage);
    const inStage = (path: string) => join(stageRoot, posix.resolve(state.config.workdir, path));
    for (const [imagePath, hostPath] of Object.entries(baseImage.files)) {
      mkdirSync(dirname(inStage(imagePath)), { recursive: true });
      symlinkSync(hostPath, inStage(imagePath));
    }
    for (const instruction of stage.instructions) {
      if (configure(state, instruction, globalArgs, buildArgs)) {
        if (instruction.keyword === 'WORKDIR') mkdirSync(inStage('.'), { recursive: true });
        continue;
      }
      const { keyword, arguments: args } = instruction;
      if (keyword === 'COPY') {
        const { from, sources, destination } = parseCopy(args);
        const originRoot = from === undefined ? undefined : stageRoots.get(from);
        if (from !== undefined && originRoot === undefined) throw new Error(`COPY --from=${from}: no such stage`);
        for (const source of sources) {
          const sourcePath = originRoot === undefined ? join(contextDir, source) : join(originRoot, source);
          const target = destination.endsWith('/')
            ? join(inStage(destination), basename(source))
            : inStage(destination);
          mkdirSync(dirname(target), { recursive: true });
          // A copy replaces a base image's file, which is a link to this machine's here.
          if (lstatSync(target, { throwIfNoEntry: false })?.isSymbolicLink()) rmSync(target);
          cpSync(realpathSync(sourcePath), target, { recursive: true });
        }
      } else if (keyword === 'RUN') {
        if (state.config.user !== undefined) throw new Error('RUN after USER is not understood here: it runs as root');
        const { cacheTargets, command } = parseRun(args);
        for (const target of cacheTargets) {
          mkdirSync(cacheFolder(target), { recursive: true });
          mkdirSync(dirname(inStage(target)), { recursive: true });
          rmSync(inStage(target), { recursive: true, force: true });
          symlinkSync(cacheFolder(target), inStage(target));
        }
        try {
          await run('sh', ['-c', command], {
            cwd: inStage('.'),
            env: {
              ...hostNetworkEnv(),
              ...state.args,
              ...hostEnvOf(state.config.env, stageRoot, baseImage),
              HOME: inStage('/root'),
            },
            maxBuffer: 64 << 20,
          });
        } finally {
          for (const target of cacheTargets) {
            rmSync(inStage(target));
            mkdirSync(inStage(target));
          }
        }
      } else {
        throw new Error(`${keyword} is not understood by the build without Docker: teach test/e2e/image/dockerfile.ts`);
      }
    }
    if (stage.name) stageRoots.set(stage.name, stageRoot);
    image = {
      root: stageRoot,
      appDir: inStage('.'),
      config: state.config,
      hostEnv: hostEnvOf(state.config.env, stageRoot, baseImage),
    };
  }
  if (!image) throw new Error('the Dockerfile has no stage');
  return image;
}
