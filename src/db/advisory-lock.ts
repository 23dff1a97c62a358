import os from 'node:os';
import pg from 'pg';
import { advisoryLockHolder } from './advisory-holder.js';
import { CurtainError, ExitCode, LockBusyError, LockLostError } from '../errors.js';
import { quoteIdent } from './identifiers.js';
import type { Queryable } from './queryable.js';

/**
 * A held database-wide migrate lock. Holding it is proven, not assumed:
 * call {@link HeldLock.assertHeld} inside every transaction that records
 * progress, and release it exactly once.
 */
export interface HeldLock {
  /** This acquisition's epoch in `<schema>.migrate_lock` (bumped by every acquisition). */
  readonly epoch: number;
  /** The backend of the dedicated lock session. */
  readonly backendPid: number;
  /** Why the lock session is gone, once it is (set by its error listener and keepalive). */
  readonly lost: string | undefined;
  /**
   * Inside the caller's transaction: check that the epoch row still carries
   * our epoch (and share-lock it, so a new holder's bump waits for this
   * transaction) and that our lock session still holds the advisory lock.
   * Throws {@link LockLostError} otherwise; `progress` completes its message,
   * e.g. "nothing after step 3 ran".
   */
  assertHeld(tx: Queryable, progress?: string): Promise<void>;
  release(): Promise<void>;
}

/** Options of {@link acquireMigrateLock}. */
export interface MigrateLockOptions {
  /** Named in the holder's `application_name`, so a waiting process can say who holds it. */
  command: string;
  /** How long to wait for another holder before {@link LockBusyError} (exit 4). */
  waitMs: number;
  /** Interval of the lock session's keepalive query (default 15 s). */
  keepaliveMs?: number;
  /** Stop waiting for another holder (SIGINT): throws a CurtainError. */
  signal?: AbortSignal;
}

const LOCK_NAME = 'curtain.migrate';

/**
 * Take the one advisory lock that serialises mutating curtain commands on a
 * database, on a dedicated session of its own (not a pooled client): TCP
 * keepalive on, `idle_session_timeout` off for that session, a periodic
 * cheap query, and an error listener that marks the lock lost instead of
 * crashing the process. Each acquisition bumps the lock epoch in the curtain
 * schema, so a command whose session was ended (timeout, proxy,
 * `pg_terminate_backend`) can never mistake a lock someone else took since
 * for its own.
 *
 * @example
 * const lock = await acquireMigrateLock(pool, 'curtain', { command: 'expand', waitMs: 10_000 });
 * try {
 *   await transaction(pool, async (tx) => { await lock.assertHeld(tx, 'nothing after step 2 ran'); ... });
 * } finally { await lock.release(); }
 */
export async function acquireMigrateLock(pool: pg.Pool, schema: string, options: MigrateLockOptions): Promise<HeldLock> {
  const key = `${LOCK_NAME}:${schema}`;
  const me = `curtain: migrate ${options.command} (pid ${process.pid} on ${os.hostname()})`.slice(0, 63);
  const client = new pg.Client({ ...pool.options, application_name: me, keepAlive: true });
  let lost: string | undefined;
  // An error on this idle session must mark the lock lost, never crash the process.
  client.on('error', (err) => (lost ??= `the lock session ended: ${err.message}`));
  client.on('end', () => (lost ??= 'the lock session ended'));
  const started = Date.now();
  let epoch: number;
  let backendPid: number;
  try {
    await client.connect();
    // The session idles between keepalives: a server-wide idle_session_timeout must not end it.
    await client.query(
      `SELECT set_config(name, '0', false) FROM pg_settings WHERE name IN ('idle_session_timeout', 'idle_in_transaction_session_timeout', 'statement_timeout')`,
    );
    for (;;) {
      const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS ok', [key]);
      if (rows[0]?.ok) break;
      const waited = Date.now() - started;
      if (waited >= options.waitMs) throw new LockBusyError(await advisoryLockHolder(client, key), waited);
      if (options.signal?.aborted) throw new CurtainError('interrupted while waiting for the migrate lock; nothing was done', { exitCode: ExitCode.lockBusy });
      await new Promise((r) => setTimeout(r, Math.min(200, options.waitMs - waited)));
    }
    const { rows } = await client.query<{ epoch: string; backend_pid: number }>(
      `INSERT INTO ${quoteIdent(schema)}.migrate_lock AS l (id, epoch, holder, backend_pid) VALUES (true, 1, $1, pg_backend_pid())
       ON CONFLICT (id) DO UPDATE SET epoch = l.epoch + 1, holder = EXCLUDED.holder, backend_pid = EXCLUDED.backend_pid, acquired_at = now()
       RETURNING epoch::text, backend_pid`,
      [me],
    );
    epoch = Number(rows[0]!.epoch);
    backendPid = rows[0]!.backend_pid;
  } catch (err) {
    await client.end().catch(() => {});
    throw err;
  }

  // A cheap query now and then: notices a dead session early and keeps proxies from reaping it.
  const keepalive = setInterval(() => {
    if (!lost) client.query('SELECT 1').catch((err: Error) => (lost ??= `the lock session ended: ${err.message}`));
  }, options.keepaliveMs ?? 15_000);
  keepalive.unref();

  let released = false;
  return {
    epoch,
    backendPid,
    get lost() {
      return lost;
    },
    async assertHeld(tx, progress) {
      if (released) throw new LockLostError('it was already released', progress);
      if (lost) throw new LockLostError(lost, progress);
      const { rows } = await tx.query<{ epoch: string; holder: string; held: boolean }>(
        `SELECT l.epoch::text, l.holder,
                EXISTS (SELECT 1 FROM pg_locks k
                         WHERE k.locktype = 'advisory' AND k.granted AND k.pid = $1 AND k.objsubid = 1
                           AND k.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                           AND k.classid = ((hashtext($2)::bigint >> 32) & 4294967295)::oid
                           AND k.objid = (hashtext($2)::bigint & 4294967295)::oid) AS held
           FROM ${quoteIdent(schema)}.migrate_lock l FOR SHARE`,
        [backendPid, key],
      );
      const row = rows[0];
      if (!row) throw new LockLostError('its epoch row is gone', progress);
      if (Number(row.epoch) !== epoch) {
        throw new LockLostError(`another migrate took it since: epoch ${epoch} → ${row.epoch}, ${row.holder}`, progress);
      }
      if (!row.held) throw new LockLostError(`the lock session, backend ${backendPid}, no longer holds it`, progress);
    },
    async release() {
      if (released) return;
      released = true;
      clearInterval(keepalive);
      // With the session gone, the session lock went with it.
      if (!lost) await client.query('SELECT pg_advisory_unlock(hashtext($1))', [key]).catch(() => {});
      await client.end().catch(() => {});
    },
  };
}
