/**
 * A real primary and a real streaming standby, started from the PostgreSQL
 * server binaries on this machine (initdb, pg_ctl, pg_basebackup -R), for
 * tests that need replication: the throttle's replica lag, and a backfill
 * that must wait for a standby.
 *
 * Data directories live under a fresh temp directory; when the tests run as
 * root, the servers run as the `postgres` OS user (PostgreSQL refuses root)
 * and the directory is handed to that user. Both servers listen on free
 * ports on 127.0.0.1 with trust authentication, fsync off. The standby is
 * named by `cluster_name`, so the primary lists it under that name in
 * `pg_stat_replication.application_name`.
 *
 * Where the binaries are missing, `startReplicaPair` fails with what to
 * install; it never skips.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { appendFile, chown, mkdir, mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';

/** A running primary + standby pair. */
export interface ReplicaPair {
  /** `postgres://postgres@127.0.0.1:<port>/postgres` of the primary. */
  primaryUrl: string;
  /** The standby's URL (read-only: it is in recovery). */
  standbyUrl: string;
  /** The standby's name in the primary's `pg_stat_replication`. */
  standbyName: string;
  /** A database URL on the primary (`postgres` unless created with {@link ReplicaPair.createDatabase}). */
  urlFor(database: string, on?: 'primary' | 'standby'): string;
  /** Create a database on the primary and wait until the standby has it. */
  createDatabase(name: string): Promise<void>;
  /** `pg_wal_replay_pause()` on the standby, returning once replay is actually paused. */
  pause(): Promise<void>;
  /** `pg_wal_replay_resume()` on the standby. */
  resume(): Promise<void>;
  /** Wait until the standby has replayed everything the primary had written when called. */
  waitForCatchUp(timeoutMs?: number): Promise<void>;
  /** Stop both servers (immediate) and remove their data. Safe to call twice. */
  stop(): Promise<void>;
}

const INSTALL_HINT =
  'a real streaming replica needs the PostgreSQL server binaries initdb, pg_ctl and pg_basebackup: ' +
  'install them (Debian/Ubuntu: apt-get install postgresql-15, which puts them in /usr/lib/postgresql/15/bin) ' +
  'or point CURTAIN_PG_SERVER_BIN at the directory that has them';

/**
 * The directory with initdb, pg_ctl and pg_basebackup: `CURTAIN_PG_SERVER_BIN`,
 * else the newest `/usr/lib/postgresql/<major>/bin`, else the PATH.
 *
 * @example
 * const bin = findServerBinaries(); // '/usr/lib/postgresql/15/bin'
 */
export function findServerBinaries(env: NodeJS.ProcessEnv = process.env): string {
  const needed = ['initdb', 'pg_ctl', 'pg_basebackup'];
  const has = (dir: string) => needed.every((b) => existsSync(path.join(dir, b)));
  const candidates: string[] = [];
  if (env.CURTAIN_PG_SERVER_BIN) candidates.push(env.CURTAIN_PG_SERVER_BIN);
  if (existsSync('/usr/lib/postgresql')) {
    const majors = readdirSync('/usr/lib/postgresql').filter((d) => /^\d+$/.test(d)).sort((a, b) => Number(b) - Number(a));
    candidates.push(...majors.map((m) => `/usr/lib/postgresql/${m}/bin`));
  }
  candidates.push(...(env.PATH ?? '').split(path.delimiter).filter(Boolean));
  const found = candidates.find(has);
  if (!found) throw new Error(`${INSTALL_HINT} (looked in ${candidates.slice(0, 4).join(', ')}${candidates.length > 4 ? ', ...' : ''})`);
  return found;
}

/**
 * Start a primary and a streaming standby (named `standbyName`, default `r1`).
 *
 * @example
 * const pair = await startReplicaPair();
 * await pair.pause();   // the standby stops replaying: lag grows with every write on the primary
 * await pair.resume();
 * await pair.waitForCatchUp();
 * await pair.stop();
 */
export async function startReplicaPair(options: { standbyName?: string } = {}): Promise<ReplicaPair> {
  const standbyName = options.standbyName ?? 'r1';
  const { root, sockets, run } = await serverWorkspace('curtain-replica-');
  const primaryDir = path.join(root, 'primary');
  const standbyDir = path.join(root, 'standby');
  const [primaryPort, standbyPort] = await freePorts(2);
  const started: string[] = [];

  const stop = async () => {
    for (const dir of started.splice(0).reverse()) {
      await run('pg_ctl', ['-D', dir, '-m', 'immediate', '-w', 'stop']).catch(() => {});
    }
    await rm(root, { recursive: true, force: true });
  };

  try {
    await run('initdb', ['-D', primaryDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync', '--no-instructions']);
    await appendFile(
      path.join(primaryDir, 'postgresql.conf'),
      [
        `port = ${primaryPort}`,
        `listen_addresses = '127.0.0.1'`,
        `unix_socket_directories = '${sockets}'`,
        'wal_level = replica',
        'max_wal_senders = 5',
        'fsync = off',
        'synchronous_commit = off',
        'full_page_writes = off',
        'shared_buffers = 32MB',
        'max_connections = 40',
        '',
      ].join('\n'),
    );
    await run('pg_ctl', ['-D', primaryDir, '-l', path.join(root, 'primary.log'), '-w', '-t', '120', 'start']);
    started.push(primaryDir);

    await run('pg_basebackup', ['-h', '127.0.0.1', '-p', String(primaryPort), '-U', 'postgres', '-D', standbyDir, '-R', '-X', 'stream', '--no-sync']);
    await appendFile(
      path.join(standbyDir, 'postgresql.conf'),
      // Replay progress reported every second, so it shows quickly in the primary's pg_stat_replication.
      [`port = ${standbyPort}`, `cluster_name = '${standbyName}'`, 'hot_standby = on', 'wal_receiver_status_interval = 1s', ''].join('\n'),
    );
    await run('pg_ctl', ['-D', standbyDir, '-l', path.join(root, 'standby.log'), '-w', '-t', '120', 'start']);
    started.push(standbyDir);
  } catch (err) {
    const logs = ['primary.log', 'standby.log']
      .map((f) => path.join(root, f))
      .filter((f) => existsSync(f))
      .map((f) => `--- ${path.basename(f)}\n${readFileSync(f, 'utf8').slice(-2000)}`)
      .join('\n');
    await stop();
    throw new Error(`could not start the primary/standby pair: ${(err as Error).message}\n${logs}`);
  }

  const urlFor = (database: string, on: 'primary' | 'standby' = 'primary') =>
    `postgres://postgres@127.0.0.1:${on === 'primary' ? primaryPort : standbyPort}/${database}`;
  const one = async <T extends pg.QueryResultRow>(url: string, sql: string): Promise<T> => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      return (await client.query<T>(sql)).rows[0]!;
    } finally {
      await client.end();
    }
  };
  const primaryUrl = urlFor('postgres');
  const standbyUrl = urlFor('postgres', 'standby');

  const waitForCatchUp = async (timeoutMs = 60_000) => {
    const { lsn } = await one<{ lsn: string }>(primaryUrl, 'SELECT pg_current_wal_lsn()::text AS lsn');
    await waitFor(
      async () => (await one<{ ok: boolean }>(standbyUrl, `SELECT pg_last_wal_replay_lsn() >= '${lsn}'::pg_lsn AS ok`)).ok,
      timeoutMs,
      `the standby to replay up to ${lsn}`,
    );
  };

  try {
    // Streaming, as the primary sees it.
    await waitFor(
      async () =>
        (await one<{ n: number }>(primaryUrl, `SELECT count(*)::int AS n FROM pg_stat_replication WHERE application_name = '${standbyName}' AND state = 'streaming'`)).n === 1,
      60_000,
      `the standby ${standbyName} to stream from the primary`,
    );
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    primaryUrl,
    standbyUrl,
    standbyName,
    urlFor,
    async createDatabase(name) {
      await one(primaryUrl, `CREATE DATABASE "${name.replace(/"/g, '""')}"`);
      await waitForCatchUp();
    },
    async pause() {
      await one(standbyUrl, 'SELECT pg_wal_replay_pause()');
      await waitFor(
        async () => (await one<{ s: string }>(standbyUrl, 'SELECT pg_get_wal_replay_pause_state() AS s')).s === 'paused',
        30_000,
        'replay to pause on the standby',
      );
    },
    async resume() {
      await one(standbyUrl, 'SELECT pg_wal_replay_resume()');
    },
    waitForCatchUp,
    stop,
  };
}

/** Poll `probe` until it is true (observed state, not elapsed time); throws after `timeoutMs`. */
export async function waitFor(probe: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * A fresh temp folder for servers of a test's own, with a socket folder, both
 * handed to the `postgres` OS user when we are root; `run` calls a server
 * binary (initdb, pg_ctl, ...) as that user, in the folder.
 *
 * @example
 * const { root, sockets, run } = await serverWorkspace('curtain-server-');
 * await run('initdb', ['-D', path.join(root, 'data'), '-U', 'postgres', '--auth=trust']);
 */
export async function serverWorkspace(prefix: string): Promise<{ root: string; sockets: string; run: (tool: string, args: string[]) => Promise<string> }> {
  const bin = findServerBinaries();
  const user = serverUser();
  const root = await mkdtemp(path.join(os.tmpdir(), prefix));
  const sockets = path.join(root, 'sockets');
  await mkdir(sockets);
  if (user) {
    await chown(root, user.uid, user.gid);
    await chown(sockets, user.uid, user.gid);
  }
  return { root, sockets, run: (tool, args) => runAs(user, path.join(bin, tool), args, root) };
}

/** The `postgres` OS user when running as root (PostgreSQL will not run as root); else null (run as ourselves). */
function serverUser(): { uid: number; gid: number } | null {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return null;
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('postgres:'));
  if (!line) throw new Error('running as root, but there is no `postgres` OS user to run the servers as (PostgreSQL refuses to run as root)');
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

function runAs(user: { uid: number; gid: number } | null, file: string, args: string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      { cwd, ...(user ? { uid: user.uid, gid: user.gid } : {}), env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8' } },
      (err, stdout, stderr) => (err ? reject(new Error(`${path.basename(file)} ${args.join(' ')}: ${err.message}\n${stderr}`)) : resolve(stdout)),
    );
  });
}

/** Ports nothing listens on right now, on 127.0.0.1. */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, () => new Promise<net.Server>((resolve, reject) => {
      const s = net.createServer();
      s.once('error', reject);
      s.listen(0, '127.0.0.1', () => resolve(s));
    })),
  );
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}
