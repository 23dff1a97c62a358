import os from 'node:os';
import pg from 'pg';
import { advisoryLockHolder } from './advisory-holder.js';

/** A named advisory lock held by a dedicated session for as long as a long-running job lives. */
export interface SessionLock {
  /** Why the session is gone, once it is (the lock went with it). */
  readonly lost: string | undefined;
  release(): Promise<void>;
}

/**
 * Try once to take the session advisory lock `name` on a connection of its
 * own (not a pooled client, which would hand the lock to whoever borrows it
 * next). Returns the lock, or the holder's description when another session
 * has it. The connection names the job in `application_name`, so the
 * refused process can say who holds it.
 *
 * @example
 * const lock = await trySessionLock(pool, 'curtain.rollout:curtain:20260101_x', 'rollout 20260101_x');
 * if ('holder' in lock) throw new Error(`already running: ${lock.holder}`);
 */
export async function trySessionLock(pool: pg.Pool, name: string, job: string): Promise<SessionLock | { holder: string }> {
  const me = `curtain: ${job} (pid ${process.pid} on ${os.hostname()})`.slice(0, 63);
  const client = new pg.Client({ ...pool.options, application_name: me, keepAlive: true });
  let lost: string | undefined;
  // An error on this idle session marks the lock lost; it never crashes the process.
  client.on('error', (err) => (lost ??= `its session ended: ${err.message}`));
  client.on('end', () => (lost ??= 'its session ended'));
  try {
    await client.connect();
    await client.query(
      `SELECT set_config(name, '0', false) FROM pg_settings WHERE name IN ('idle_session_timeout', 'idle_in_transaction_session_timeout', 'statement_timeout')`,
    );
    const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS ok', [name]);
    if (!rows[0]?.ok) {
      const holder = await advisoryLockHolder(client, name);
      await client.end().catch(() => {});
      return { holder };
    }
  } catch (err) {
    await client.end().catch(() => {});
    throw err;
  }
  const keepalive = setInterval(() => {
    if (!lost) client.query('SELECT 1').catch((err: Error) => (lost ??= `its session ended: ${err.message}`));
  }, 15_000);
  keepalive.unref();
  let released = false;
  return {
    get lost() {
      return lost;
    },
    async release() {
      if (released) return;
      released = true;
      clearInterval(keepalive);
      if (!lost) await client.query('SELECT pg_advisory_unlock(hashtext($1))', [name]).catch(() => {});
      await client.end().catch(() => {});
    },
  };
}
