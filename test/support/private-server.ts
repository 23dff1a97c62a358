/**
 * A PostgreSQL server of the test's own, from the server binaries on this
 * machine (initdb, pg_ctl), for tests that need server settings the shared
 * server does not have (e.g. `autovacuum_naptime = 1s`, so an autovacuum
 * worker shows up within seconds). Same rules as replica.ts: runs as the
 * `postgres` OS user when we are root, fails with what to install when the
 * binaries are missing, never skips.
 */
import { existsSync, readFileSync } from 'node:fs';
import { appendFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { freePorts, serverWorkspace } from './replica.js';

export interface PrivateServer {
  /** `postgres://postgres@127.0.0.1:<port>/<database>` */
  urlFor(database: string): string;
  /** Stop (immediate) and remove the data. Safe to call twice. */
  stop(): Promise<void>;
}

/**
 * Start a fresh server with `settings` appended to its postgresql.conf.
 *
 * @example
 * const server = await startPrivateServer(['autovacuum_naptime = 1']);
 * const pool = new pg.Pool({ connectionString: server.urlFor('postgres') });
 */
export async function startPrivateServer(settings: string[] = []): Promise<PrivateServer> {
  const { root, sockets, run } = await serverWorkspace('curtain-server-');
  const dir = path.join(root, 'data');
  const [port] = await freePorts(1);
  let started = false;
  const stop = async () => {
    if (started) await run('pg_ctl', ['-D', dir, '-m', 'immediate', '-w', 'stop']).catch(() => {});
    started = false;
    await rm(root, { recursive: true, force: true });
  };
  try {
    await run('initdb', ['-D', dir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync', '--no-instructions']);
    await appendFile(
      path.join(dir, 'postgresql.conf'),
      [`port = ${port}`, `listen_addresses = '127.0.0.1'`, `unix_socket_directories = '${sockets}'`, 'fsync = off', 'shared_buffers = 32MB', 'max_connections = 40', ...settings, ''].join('\n'),
    );
    await run('pg_ctl', ['-D', dir, '-l', path.join(root, 'server.log'), '-w', '-t', '120', 'start']);
    started = true;
  } catch (err) {
    const log = path.join(root, 'server.log');
    const tail = existsSync(log) ? `\n--- server.log\n${readFileSync(log, 'utf8').slice(-2000)}` : '';
    await stop();
    throw new Error(`could not start a private PostgreSQL server: ${(err as Error).message}${tail}`);
  }
  return { urlFor: (database) => `postgres://postgres@127.0.0.1:${port}/${database}`, stop };
}
