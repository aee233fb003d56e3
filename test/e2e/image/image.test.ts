// The container image, built without a Docker engine: the Dockerfile's own steps run on this machine (npm ci of the
// production dependencies and their clean-up, npm ci and the build) in a copy of the build context, on stand-ins for
// the base images; then the final stage's file tree is checked, and both entry points start from it as the image
// would run them: with only its environment, its own node, and writing nothing to its own files.
import { execFileSync, spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
} from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { repoRoot } from '../../cluster/local-cluster.ts';
import { useTestNamespace } from '../support/cluster.ts';
import {
  buildWithoutDocker,
  configureImage,
  copyBuildContext,
  parseDockerfile,
  type BaseImage,
  type BuiltImage,
} from './dockerfile.ts';
import { freeLoopbackPort } from '../../support/free-port.ts';

const namespace = useTestNamespace('image');
const workDir = mkdtempSync(join(tmpdir(), 'switchyard-image-'));
const packageJson = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  description: string;
  license: string;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
const packageLock = JSON.parse(readFileSync(join(repoRoot, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { dev?: boolean }>;
};
const dockerfileText = readFileSync(join(repoRoot, 'Dockerfile'), 'utf8');
const buildArgs = {
  VERSION: '1.2.3',
  REVISION: '4f1c2b7e9d0a8c6b5e3f2a1d0c9b8a7f6e5d4c3b',
  SOURCE: 'https://git.example.com/platform/switchyard',
};

/** This machine's programs, by name, as a folder of links: what a base image offers besides its own files. */
function programsFolder(names: string[]): string {
  const folder = join(workDir, 'debian-programs');
  mkdirSync(folder);
  for (const name of names) {
    const path = execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim();
    symlinkSync(path, join(folder, name));
  }
  return folder;
}

// Both base images' PATH, as their own Dockerfiles leave it.
const baseImagePath = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
// Of Debian's programs, those the Dockerfile's RUN steps and the entry points use; no Node.js, no npm among them.
const debianPrograms = programsFolder(['sh', 'dirname', 'find', 'rm']);
const npmPackage = dirname(
  dirname(realpathSync(execFileSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).trim())),
);
const baseImages: Record<string, BaseImage> = {
  // The Node.js image: Debian's slim image plus node (the "node" devDependency installs the same official build of
  // the pinned version), npm and npx in /usr/local.
  [`node:${packageJson.devDependencies.node}-bookworm-slim`]: {
    env: { PATH: baseImagePath },
    files: {
      '/usr/local/bin/node': join(repoRoot, 'node_modules/node/bin/node'),
      '/usr/local/lib/node_modules/npm': npmPackage,
      '/usr/local/bin/npm': join(npmPackage, 'bin/npm-cli.js'),
      '/usr/local/bin/npx': join(npmPackage, 'bin/npx-cli.js'),
    },
    programs: [debianPrograms],
  },
  // Debian's slim image, whose files are all system ones: no Node.js, no npm, and apt lists emptied by its build.
  'debian:bookworm-slim': { env: { PATH: baseImagePath }, files: {}, programs: [debianPrograms] },
};
// The image's HOME does not exist: a process that wants to write there would fail on a read-only root filesystem.
const missingHome = join(workDir, 'no-home');
let image: BuiltImage;
let filesAfterBuild: string[];

/** Every file and folder under `dir`, relative to it; links are listed, not followed. */
function pathsUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
    .sort();
}

/** Every file and folder under `dir`, with size and modification time: equal lists mean nothing was written. */
function snapshot(dir: string): string[] {
  return pathsUnder(dir).map((path) => {
    const stats = statSync(join(dir, path));
    return `${path} ${stats.size} ${stats.mtimeMs}`;
  });
}

/**
 * The packages under a node_modules folder, as the lockfile names them (node_modules/a/node_modules/b), and anything
 * else found where only packages belong: npm's .bin and hidden lockfile, a cache, a scope folder left empty.
 */
function installedPackages(nodeModules: string, prefix = 'node_modules'): { packages: string[]; strays: string[] } {
  const packages: string[] = [];
  const strays: string[] = [];
  const visitPackage = (folder: string, path: string) => {
    if (!existsSync(join(folder, 'package.json'))) {
      strays.push(path);
      return;
    }
    packages.push(path);
    if (existsSync(join(folder, 'node_modules'))) {
      const inner = installedPackages(join(folder, 'node_modules'), `${path}/node_modules`);
      packages.push(...inner.packages);
      strays.push(...inner.strays);
    }
  };
  for (const entry of readdirSync(nodeModules, { withFileTypes: true })) {
    const folder = join(nodeModules, entry.name);
    if (entry.name.startsWith('@') && entry.isDirectory()) {
      const scoped = readdirSync(folder);
      if (scoped.length === 0) strays.push(`${prefix}/${entry.name}`);
      for (const name of scoped) visitPackage(join(folder, name), `${prefix}/${entry.name}/${name}`);
    } else {
      visitPackage(folder, `${prefix}/${entry.name}`);
    }
  }
  return { packages: packages.sort(), strays };
}

beforeAll(async () => {
  const contextDir = join(workDir, 'context');
  copyBuildContext(repoRoot, contextDir);
  image = await buildWithoutDocker(dockerfileText, contextDir, join(workDir, 'layers'), {
    buildArgs,
    baseImages,
    // This machine's npm cache stands for BuildKit's cache mount, so that a second run downloads nothing.
    cacheMounts: { '/root/.npm': join(homedir(), '.npm') },
  });
  filesAfterBuild = snapshot(image.root);
}, 300_000);

afterAll(() => {
  rmSync(workDir, { recursive: true, force: true });
});

interface Exit {
  code: number | null;
  output: string;
}

/** Starts an entry point as the container would: by name through the image's PATH, with the image's environment. */
function startEntryPoint(command: string, args: string[], env: Record<string, string> = {}) {
  const child = spawn(command, args, {
    cwd: image.appDir,
    env: { ...image.hostEnv, HOME: missingHome, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<Exit>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, output }));
  });
  return { child, exited, output: () => output };
}

describe('the Dockerfile', () => {
  const dockerfile = parseDockerfile(dockerfileText);

  it('installs and builds on the Node.js image of the pinned version, and runs on the Debian image beneath it', () => {
    expect(dockerfile.globalArgs.NODE_VERSION).toBe(packageJson.devDependencies.node);
    expect(dockerfile.stages.map((stage) => [stage.name, stage.from])).toEqual([
      ['dependencies', 'node:${NODE_VERSION}-bookworm-slim'],
      ['build', 'node:${NODE_VERSION}-bookworm-slim'],
      [undefined, 'debian:bookworm-slim'],
    ]);
    // Nothing runs in the final stage, so nothing installs or downloads there: it takes only the stages' output.
    const finalStage = dockerfile.stages.at(-1)!;
    expect(finalStage.instructions.filter((instruction) => instruction.keyword === 'RUN')).toEqual([]);
    const finalCopies = finalStage.instructions.filter((instruction) => instruction.keyword === 'COPY');
    expect(finalCopies.length).toBeGreaterThan(0);
    for (const copy of finalCopies) expect(copy.arguments).toMatch(/^--from=(dependencies|build) /);
  });

  it('sends only what the build needs as its context', () => {
    const contextDir = join(workDir, 'context');
    expect(readdirSync(contextDir).sort()).toEqual([
      'bin',
      'operator',
      'package-lock.json',
      'package.json',
      'tsconfig.build.json',
      'tsconfig.json',
    ]);
  });

  it('labels the image with OCI annotations: version, revision and source from the build arguments', () => {
    expect(image.config.labels).toEqual({
      'org.opencontainers.image.title': packageJson.name,
      'org.opencontainers.image.description': packageJson.description,
      'org.opencontainers.image.licenses': packageJson.license,
      'org.opencontainers.image.version': buildArgs.VERSION,
      'org.opencontainers.image.revision': buildArgs.REVISION,
      'org.opencontainers.image.source': buildArgs.SOURCE,
    });
    // The operator's switchyard_build_info reads the revision from its environment.
    expect(image.config.env.SWITCHYARD_REVISION).toBe(buildArgs.REVISION);
  });

  it('without build arguments, labels the version of package.json and states no revision or source', () => {
    const { labels } = configureImage(dockerfile, { baseImages });
    expect(labels['org.opencontainers.image.version']).toBe(packageJson.version);
    expect(labels['org.opencontainers.image.revision']).toBe('');
    expect(labels['org.opencontainers.image.source']).toBe('');
  });
});

describe('the image', () => {
  it('holds node, the compiled operator and runner and their dependencies, and nothing else', () => {
    const outsideTheAppFolders = pathsUnder(image.root).filter((path) => !/^app\/(bin|dist|node_modules)\//.test(path));
    expect(outsideTheAppFolders).toEqual([
      'app',
      'app/bin',
      'app/dist',
      'app/node_modules',
      'app/package.json',
      'usr',
      'usr/local',
      'usr/local/bin',
      'usr/local/bin/node',
    ]);
    expect(pathsUnder(join(image.appDir, 'bin'))).toEqual(['switchyard-operator', 'switchyard-runner']);
    expect(existsSync(join(image.appDir, 'dist/main.js'))).toBe(true);
    expect(existsSync(join(image.appDir, 'dist/runner/main.js'))).toBe(true);
  });

  it('holds exactly the production packages of the lockfile, and nothing of npm among them', () => {
    const { packages, strays } = installedPackages(join(image.appDir, 'node_modules'));
    const production = Object.entries(packageLock.packages)
      .filter(([path, entry]) => path.startsWith('node_modules/') && entry.dev !== true)
      .map(([path]) => path)
      .sort();
    for (const dependency of Object.keys(packageJson.dependencies))
      expect(production).toContain(`node_modules/${dependency}`);
    expect(production).not.toContain('node_modules/typescript');
    expect(packages).toEqual(production);
    expect(strays).toEqual([]);
  });

  it('keeps no package manager, no cache, and no file that never runs', () => {
    const paths = pathsUnder(image.root);
    const packageManagerOrCache =
      /(^|\/)(npm|npx|corepack|yarn|pnpm|apt|\.npm|\.cache|_cacache|\.yarn|\.pnpm-store|\.bin|\.package-lock\.json)(\/|$)/;
    expect(paths.filter((path) => packageManagerOrCache.test(path))).toEqual([]);
    // Of the dependencies: type declarations, TypeScript sources, source maps and tests.
    const dependencyFiles = paths.filter((path) => path.startsWith('app/node_modules/'));
    const neverRun = /\.[mc]?ts$|\.map$|\/(test|tests|__tests__)(\/|$)/;
    expect(dependencyFiles.filter((path) => neverRun.test(path))).toEqual([]);
    // Of the operator and runner: only the compiled JavaScript, and its source maps, which the entry points'
    // node --enable-source-maps reads for stack traces that name operator/*.ts lines.
    const compiled = pathsUnder(join(image.appDir, 'dist')).filter(
      (path) => !statSync(join(image.appDir, 'dist', path)).isDirectory(),
    );
    const maps = compiled.filter((path) => path.endsWith('.js.map'));
    expect(compiled.filter((path) => !path.endsWith('.js') && !path.endsWith('.js.map'))).toEqual([]);
    expect(maps.filter((path) => !compiled.includes(path.slice(0, -'.map'.length)))).toEqual([]);
  });

  it('runs as a non-root user given by number, with switchyard-operator as its entry point', () => {
    const [user = '', group = ''] = (image.config.user ?? '').split(':');
    expect(user).toMatch(/^[1-9]\d*$/);
    expect(group).toMatch(/^\d+$/);
    expect(image.config.entrypoint).toEqual(['switchyard-operator']);
    expect(image.config.exposedPorts).toEqual(['8080']);
    expect(image.config.env.NODE_ENV).toBe('production');
    expect(image.config.env.PATH).toBe(`/app/bin:${baseImagePath}`);
  });

  it('switchyard-operator stops with exit code 2 and names a bad setting', async () => {
    const { exited } = startEntryPoint(image.config.entrypoint[0]!, ['--concurrency', '0']);
    const { code, output } = await exited;
    expect(code).toBe(2);
    expect(output).toContain('--concurrency="0"');
  });

  it('switchyard-operator stops with exit code 2 on a memory limit that is not a number of MiB', async () => {
    const { exited } = startEntryPoint(image.config.entrypoint[0]!, [], { CONTAINER_MEMORY_LIMIT_MIB: '256Mi' });
    const { code, output } = await exited;
    expect(code).toBe(2);
    expect(output).toContain('CONTAINER_MEMORY_LIMIT_MIB="256Mi": expected a whole number of MiB');
  });

  it('switchyard-operator connects to the cluster and serves /healthz, /readyz and /metrics', async () => {
    const port = await freeLoopbackPort();
    const operator = startEntryPoint(image.config.entrypoint[0]!, [], {
      KUBECONFIG: inject('kubeconfig'),
      SWITCHYARD_LEADER_ELECTION: 'false',
      SWITCHYARD_WATCH_NAMESPACES: namespace.name,
      SWITCHYARD_HTTP_PORT: String(port),
      // What the chart passes from the container's memory limit.
      CONTAINER_MEMORY_LIMIT_MIB: '256',
    });
    try {
      const get = (path: string) => fetch(`http://127.0.0.1:${port}${path}`);
      // switchyard_leader 1: the controller started, its caches filled from the API server.
      const deadline = Date.now() + 60_000;
      for (;;) {
        const metrics = await get('/metrics').then(
          (response) => response.text(),
          () => '',
        );
        if (/^switchyard_leader 1$/m.test(metrics)) break;
        if (operator.child.exitCode !== null || Date.now() > deadline) {
          throw new Error(`the operator did not start:\n${operator.output()}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      expect((await get('/healthz')).status).toBe(200);
      expect((await get('/readyz')).status).toBe(200);
      // The entry point execs Node.js with the heap sized to the limit: half of it for the old generation.
      const commandLine = readFileSync(`/proc/${operator.child.pid!}/cmdline`, 'utf8').split('\0');
      expect(commandLine).toEqual(expect.arrayContaining(['--max-semi-space-size=8', '--max-old-space-size=128']));
      // The image's own node, not one of this machine.
      expect(readlinkSync(`/proc/${operator.child.pid!}/exe`)).toBe(join(image.root, 'usr/local/bin/node'));
    } finally {
      operator.child.kill('SIGTERM');
    }
    expect((await operator.exited).code).toBe(0);
  });

  it('switchyard-runner stops with a non-zero exit code and names a missing variable', async () => {
    const { exited } = startEntryPoint('switchyard-runner', ['run', '--service', 'inventory']);
    const { code, output } = await exited;
    expect(code).toBe(2);
    expect(output).toContain('SWITCHYARD_DATABASE_URL is required');
  });

  it('wrote nothing to its own files or its home while the entry points ran', () => {
    expect(snapshot(image.root)).toEqual(filesAfterBuild);
    expect(existsSync(missingHome)).toBe(false);
  });
});
