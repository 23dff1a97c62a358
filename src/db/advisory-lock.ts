import os from 'node:os';
import type pg from 'pg';
import { LockBusyError } from '../errors.js';

/** A held database-wide lock; release it exactly once. */
export interface HeldLock {
  release(): Promise<void>;
}

const LOCK_NAME = 'curtain.migrate';

/**
 * Take the one advisory lock that serialises mutating curtain commands on a
 * database. The holder names itself in `application_name`, so a second
 * process that gives up after `waitMs` can say who holds it (exit 4).
 *
 * @example
 * const lock = await acquireMigrateLock(pool, 'curtain', { command: 'expand', waitMs: 10_000 });
 * try { ... } finally { await lock.release(); }
 */
export async function acquireMigrateLock(
  pool: pg.Pool,
  schema: string,
  options: { command: string; waitMs: number },
): Promise<HeldLock> {
  const client = await pool.connect();
  // This connection idles for the whole command; if the server ends it (restart,
  // failover), pg emits 'error' on it, and unhandled that would kill the process.
  // The lock is gone with the session: the command's next statement fails cleanly.
  let lost = false;
  const onError = () => {
    lost = true;
  };
  client.on('error', onError);
  const key = `${LOCK_NAME}:${schema}`;
  const me = `curtain: migrate ${options.command} (pid ${process.pid} on ${os.hostname()})`.slice(0, 63);
  const started = Date.now();
  try {
    await client.query(`SELECT set_config('application_name', $1, false)`, [me]);
    for (;;) {
      const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS ok', [key]);
      if (rows[0]?.ok) break;
      const waited = Date.now() - started;
      if (waited >= options.waitMs) throw new LockBusyError(await holder(client, key), waited);
      await new Promise((r) => setTimeout(r, Math.min(200, options.waitMs - waited)));
    }
  } catch (err) {
    client.off('error', onError);
    client.release();
    throw err;
  }
  let released = false;
  return {
    async release() {
      if (released) return;
      released = true;
      let broken = lost;
      if (!broken) {
        // The connection may be gone, and the session lock with it.
        broken = await client.query('SELECT pg_advisory_unlock(hashtext($1))', [key]).then(() => false, () => true);
      }
      // Pooled clients are reused: a listener left behind would pile up, one per command.
      client.off('error', onError);
      client.release(broken);
    },
  };
}

async function holder(client: pg.PoolClient, key: string): Promise<string> {
  const { rows } = await client.query<{ application_name: string; pid: number; client_addr: string | null; backend_start: Date }>(
    `SELECT a.application_name, a.pid, a.client_addr::text, a.backend_start
       FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'advisory' AND l.granted AND l.objid = (hashtext($1)::bigint & 4294967295)::oid
        AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
      LIMIT 1`,
    [key],
  );
  const r = rows[0];
  if (!r) return 'holder unknown';
  const name = r.application_name?.startsWith('curtain:') ? r.application_name.slice('curtain: '.length) : r.application_name || 'a session';
  return `${name}, backend ${r.pid}, since ${r.backend_start.toISOString()}`;
}
