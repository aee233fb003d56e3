// The container image, built without a Docker engine: the Dockerfile's own steps run on this machine (npm ci, build,
// prune to production dependencies) in a copy of the build context, then both entry points start from the result as
// the image would run them: with only its environment, and writing nothing to its own files.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { repoRoot } from '../../cluster/local-cluster.ts';
import { useTestNamespace } from '../support/cluster.ts';
import { buildWithoutDocker, copyBuildContext, parseDockerfile, type BuiltImage } from './dockerfile.ts';
import { freeLoopbackPort } from '../../support/free-port.ts';

const namespace = useTestNamespace('image');
const workDir = mkdtempSync(join(tmpdir(), 'switchyard-image-'));
const packageJson = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
const packageLock = JSON.parse(readFileSync(join(repoRoot, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { dev?: boolean }>;
};
// The base image's PATH: Node.js 24 (the one running these tests) and a shell.
const basePath = [dirname(process.execPath), '/usr/local/bin', '/usr/bin', '/bin'].join(':');
// The image's HOME does not exist: a process that wants to write there would fail on a read-only root filesystem.
const missingHome = join(workDir, 'no-home');
let image: BuiltImage;
let filesAfterBuild: string[];

/** Every file and folder under `dir`, with size and modification time: equal lists mean nothing was written. */
function snapshot(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true }).map((entry) => {
    const path = join(entry.parentPath, entry.name);
    const stats = statSync(path);
    return `${relative(dir, path)} ${stats.size} ${stats.mtimeMs}`;
  });
}

beforeAll(async () => {
  const contextDir = join(workDir, 'context');
  copyBuildContext(repoRoot, contextDir);
  const dockerfile = readFileSync(join(repoRoot, 'Dockerfile'), 'utf8');
  image = await buildWithoutDocker(dockerfile, contextDir, join(workDir, 'layers'), basePath);
  filesAfterBuild = snapshot(image.appDir);
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
    env: { ...image.env, HOME: missingHome, ...env },
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
  it('builds in two stages on the Node.js image of the pinned Node version', () => {
    const dockerfile = parseDockerfile(readFileSync(join(repoRoot, 'Dockerfile'), 'utf8'));
    expect(dockerfile.globalArgs.NODE_VERSION).toBe(packageJson.devDependencies.node);
    expect(dockerfile.stages.map((stage) => stage.from)).toEqual([
      `node:${packageJson.devDependencies.node}-bookworm-slim`,
      `node:${packageJson.devDependencies.node}-bookworm-slim`,
    ]);
    // The final stage takes only the build stage's output, nothing from the build context.
    const finalCopies = dockerfile.stages[1]!.instructions.filter((instruction) => instruction.keyword === 'COPY');
    expect(finalCopies.length).toBeGreaterThan(0);
    for (const copy of finalCopies) expect(copy.arguments).toMatch(/^--from=build /);
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
});

describe('the image', () => {
  it('holds the compiled operator and runner and production dependencies, and no sources or dev tools', () => {
    expect(readdirSync(image.appDir).sort()).toEqual(['bin', 'dist', 'node_modules', 'package.json']);
    expect(existsSync(join(image.appDir, 'dist/main.js'))).toBe(true);
    expect(existsSync(join(image.appDir, 'dist/runner/main.js'))).toBe(true);
    const distFiles = readdirSync(join(image.appDir, 'dist'), { recursive: true }) as string[];
    expect(distFiles.filter((file) => file.endsWith('.ts'))).toEqual([]);
    for (const dependency of Object.keys(packageJson.dependencies)) {
      expect(existsSync(join(image.appDir, 'node_modules', dependency)), dependency).toBe(true);
    }
    // What npm's lockfile marks dev-only (devDependencies and what only they need) must be gone.
    const devOnly = Object.entries(packageLock.packages)
      .filter(([path, entry]) => path.startsWith('node_modules/') && entry.dev === true)
      .map(([path]) => path);
    expect(devOnly).toContain('node_modules/typescript');
    expect(devOnly.filter((path) => existsSync(join(image.appDir, path)))).toEqual([]);
  });

  it('runs as a non-root user given by number, with switchyard-operator as its entry point', () => {
    const [user = '', group = ''] = (image.user ?? '').split(':');
    expect(user).toMatch(/^[1-9]\d*$/);
    expect(group).toMatch(/^\d+$/);
    expect(image.entrypoint).toEqual(['switchyard-operator']);
    expect(image.exposedPorts).toEqual(['8080']);
    expect(image.env.NODE_ENV).toBe('production');
  });

  it('switchyard-operator stops with exit code 2 and names a bad setting', async () => {
    const { exited } = startEntryPoint(image.entrypoint[0]!, ['--concurrency', '0']);
    const { code, output } = await exited;
    expect(code).toBe(2);
    expect(output).toContain('--concurrency="0"');
  });

  it('switchyard-operator stops with exit code 2 on a memory limit that is not a number of MiB', async () => {
    const { exited } = startEntryPoint(image.entrypoint[0]!, [], { CONTAINER_MEMORY_LIMIT_MIB: '256Mi' });
    const { code, output } = await exited;
    expect(code).toBe(2);
    expect(output).toContain('CONTAINER_MEMORY_LIMIT_MIB="256Mi": expected a whole number of MiB');
  });

  it('switchyard-operator connects to the cluster and serves /healthz, /readyz and /metrics', async () => {
    const port = await freeLoopbackPort();
    const operator = startEntryPoint(image.entrypoint[0]!, [], {
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
    expect(snapshot(image.appDir)).toEqual(filesAfterBuild);
    expect(existsSync(missingHome)).toBe(false);
  });
});
