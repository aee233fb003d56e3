// A throwaway PostgreSQL server for tests and benchmarks: Debian's (or PATH's) server binaries, a fresh data
// directory under the system temp dir, loopback only, on a free port, with durability turned off for speed.
// PostgreSQL refuses to run as root, so as root the server runs as the unprivileged `postgres` user.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { appendFile, chown, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { freeLoopbackPort } from './free-port.ts';

const run = promisify(execFile);

export interface PostgresServer {
  /** postgresql://postgres:…@127.0.0.1:PORT/postgres */
  readonly url: string;
  readonly port: number;
  /** Fast shutdown, then the data directory is removed. */
  stop(): Promise<void>;
  /** A real server restart (fast shutdown and start): every connection is dropped. */
  restart(): Promise<void>;
}

const serverBinaries = ['initdb', 'pg_ctl', 'postgres'] as const;
const debianRoot = '/usr/lib/postgresql';
const installHint =
  "PostgreSQL's server binaries (initdb, pg_ctl, postgres) were not found in /usr/lib/postgresql/*/bin or on PATH. " +
  "Install your distribution's PostgreSQL server package (Debian/Ubuntu: `apt-get install postgresql`), " +
  'or put a directory holding them on PATH.';

function hasServerBinaries(dir: string): boolean {
  return serverBinaries.every((name) => existsSync(join(dir, name)));
}

/** The newest Debian version directory first, then PATH. */
function findBinDir(): string | undefined {
  const debian = existsSync(debianRoot)
    ? readdirSync(debianRoot)
        .filter((entry) => /^\d+$/.test(entry))
        .sort((a, b) => Number(b) - Number(a))
        .map((entry) => join(debianRoot, entry, 'bin'))
    : [];
  const onPath = (process.env.PATH ?? '').split(delimiter).filter((dir) => dir !== '');
  return [...debian, ...onPath].find(hasServerBinaries);
}

const isRoot = () => process.getuid?.() === 0;

async function installDebianPackage(): Promise<void> {
  console.log('[postgres] server binaries missing: installing Debian package postgresql (apt-get)');
  await run('apt-get', ['update'], { maxBuffer: 64 << 20 });
  await run('apt-get', ['install', '-y', 'postgresql'], {
    maxBuffer: 64 << 20,
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
}

async function ensureBinDir(): Promise<string> {
  const found = findBinDir();
  if (found) return found;
  if (isRoot() && existsSync('/usr/bin/apt-get')) {
    await installDebianPackage();
    const installed = findBinDir();
    if (installed) return installed;
  }
  throw new Error(installHint);
}

interface ServerUser {
  /** The command prefix that runs a program as that user (empty when we already are unprivileged). */
  readonly prefix: string[];
  readonly uid?: number;
  readonly gid?: number;
}

async function serverUser(): Promise<ServerUser> {
  if (!isRoot()) return { prefix: [] };
  try {
    const uid = Number((await run('id', ['-u', 'postgres'])).stdout.trim());
    const gid = Number((await run('id', ['-g', 'postgres'])).stdout.trim());
    return { prefix: ['runuser', '-u', 'postgres', '--'], uid, gid };
  } catch (error) {
    throw new Error(
      'Running as root, but PostgreSQL refuses to run as root and there is no unprivileged `postgres` user ' +
        "(Debian's postgresql package creates it).",
      { cause: error },
    );
  }
}

export interface PostgresOptions {
  /** max_connections (default 300). */
  readonly maxConnections?: number;
  /**
   * superuser_reserved_connections (PostgreSQL's default 3): slots of max_connections that only superusers, such as
   * this server's `postgres` user, may take. A role without SUPERUSER is refused once the rest are taken.
   */
  readonly superuserReservedConnections?: number;
}

export async function startPostgres(options: PostgresOptions = {}): Promise<PostgresServer> {
  const binDir = await ensureBinDir();
  const user = await serverUser();
  const workDir = await mkdtemp(join(tmpdir(), 'switchyard-pg-'));
  const dataDir = join(workDir, 'data');
  const logFile = join(workDir, 'server.log');
  const passwordFile = join(workDir, 'password');
  const password = randomBytes(12).toString('hex');
  await writeFile(passwordFile, password, { mode: 0o600 });
  if (user.uid !== undefined && user.gid !== undefined) {
    await chown(workDir, user.uid, user.gid);
    await chown(passwordFile, user.uid, user.gid);
  }
  const asServerUser = async (binary: string, args: string[]) => {
    const [command, ...prefixArgs] = [...user.prefix, join(binDir, binary), ...args];
    try {
      await run(command!, prefixArgs, { cwd: workDir, maxBuffer: 16 << 20 });
    } catch (error) {
      const serverLog = await readFile(logFile, 'utf8').catch(() => '');
      const stderr = (error as { stderr?: string }).stderr ?? '';
      throw new Error(`${binary} ${args[0] ?? ''} failed: ${stderr.trim()}\n${serverLog.slice(-2000)}`, {
        cause: error,
      });
    }
  };

  await asServerUser('initdb', [
    '--pgdata',
    dataDir,
    '--username',
    'postgres',
    '--pwfile',
    passwordFile,
    '--auth-host',
    'scram-sha-256',
    '--auth-local',
    'peer',
    '--encoding',
    'UTF8',
    '--locale',
    'C',
    '--no-sync',
  ]);
  const port = await freeLoopbackPort();
  // Loopback TCP only (no Unix socket to collide with a system server); durability off: test data is disposable.
  await appendFile(
    join(dataDir, 'postgresql.conf'),
    [
      "listen_addresses = '127.0.0.1'",
      `port = ${port}`,
      "unix_socket_directories = ''",
      'fsync = off',
      'synchronous_commit = off',
      'full_page_writes = off',
      `max_connections = ${options.maxConnections ?? 300}`,
      `superuser_reserved_connections = ${options.superuserReservedConnections ?? 3}`,
      'shared_buffers = 128MB',
      '',
    ].join('\n'),
  );
  const start = () =>
    asServerUser('pg_ctl', ['start', '--pgdata', dataDir, '--log', logFile, '--wait', '--timeout', '60']);
  const stopServer = () => asServerUser('pg_ctl', ['stop', '--pgdata', dataDir, '--mode', 'fast', '--wait']);
  await start();

  return {
    url: `postgresql://postgres:${password}@127.0.0.1:${port}/postgres`,
    port,
    async stop() {
      await stopServer();
      await rm(workDir, { recursive: true, force: true });
    },
    async restart() {
      await stopServer();
      await start();
    },
  };
}
