import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acquireMigrateLock, type HeldLock } from '../../../src/db/advisory-lock.js';
import type { Database } from '../../../src/db/connect.js';
import { transaction } from '../../../src/db/transaction.js';
import { ExitCode, LockLostError } from '../../../src/errors.js';
import { readCheckpoint } from '../../../src/store/checkpoints.js';
import { runBackfill } from '../../../src/backfill/run.js';
import { op, sql } from '../../../src/ops/index.js';
import { planMigration } from '../../../src/ops/plan.js';
import { ensureStore } from '../../../src/store/store.js';
import { applySteps } from '../ops/helpers.js';
import { createTestDatabase, type TestDatabase } from '../../support/database.js';

let tdb: TestDatabase;
let conn: Database;
beforeAll(async () => {
  tdb = await createTestDatabase('fence');
  conn = await tdb.connect();
  await ensureStore(conn.pool, 'curtain');
});
afterAll(() => tdb.drop());

/** Run assertHeld in a transaction of its own and return what it threw (undefined: it passed). */
async function check(lock: HeldLock, progress?: string): Promise<unknown> {
  try {
    await transaction(conn.pool, (tx) => lock.assertHeld(tx, progress));
    return undefined;
  } catch (err) {
    return err;
  }
}

/** End the lock's session from outside and wait until the server has let go of it. */
async function terminate(lock: HeldLock): Promise<void> {
  await conn.pool.query('SELECT pg_terminate_backend($1)', [lock.backendPid]);
  for (;;) {
    const { rows } = await conn.pool.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [lock.backendPid]);
    if (rows.length === 0) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('the migrate lock is fenced', () => {
  it('lives on a session of its own that ignores idle_session_timeout and bumps the epoch on each acquisition', async () => {
    await conn.pool.query(`ALTER DATABASE ${tdb.name} SET idle_session_timeout = '1s'`);
    try {
      const other = await tdb.connect();
      const lock = await acquireMigrateLock(other.pool, 'curtain', { command: 'expand', waitMs: 1000 });
      const { rows } = await conn.pool.query(
        `SELECT a.application_name, e.epoch::int, e.backend_pid FROM curtain.migrate_lock e JOIN pg_stat_activity a ON a.pid = e.backend_pid`,
      );
      expect(rows[0]).toMatchObject({ epoch: lock.epoch, backend_pid: lock.backendPid });
      expect(rows[0].application_name).toMatch(/^curtain: migrate expand \(pid \d+/);
      // Idle for longer than the database's idle_session_timeout (observed, not slept: wait for a newer session to be reaped).
      const probe = await tdb.connect();
      await probe.pool.query('SELECT 1');
      const probePid = (await probe.pool.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      for (;;) {
        const { rows: alive } = await conn.pool.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [probePid]);
        if (alive.length === 0) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(lock.lost).toBeUndefined();
      expect(await check(lock)).toBeUndefined();
      await lock.release();
      const again = await acquireMigrateLock(other.pool, 'curtain', { command: 'expand', waitMs: 1000 });
      expect(again.epoch).toBe(lock.epoch + 1);
      await again.release();
    } finally {
      await conn.pool.query(`ALTER DATABASE ${tdb.name} RESET idle_session_timeout`);
    }
  });

  it('assertHeld throws LockLostError (exit 4) once the lock session is terminated', async () => {
    const lock = await acquireMigrateLock(conn.pool, 'curtain', { command: 'expand', waitMs: 1000 });
    expect(await check(lock)).toBeUndefined();
    await terminate(lock);
    const err = await check(lock, 'nothing after step 3 ran');
    expect(err).toBeInstanceOf(LockLostError);
    expect((err as LockLostError).exitCode).toBe(ExitCode.lockBusy);
    expect((err as Error).message).toMatch(/^lost the migrate lock \(.+\); nothing after step 3 ran; rerun to resume$/);
    await lock.release();
  });

  it('a lock someone else took since is never mistaken for ours, even after we reconnect', async () => {
    const first = await acquireMigrateLock(conn.pool, 'curtain', { command: 'expand', waitMs: 1000 });
    await terminate(first);
    const otherDb = await tdb.connect();
    const second = await acquireMigrateLock(otherDb.pool, 'curtain', { command: 'abort', waitMs: 5000 });
    const err = await check(first);
    expect(err).toBeInstanceOf(LockLostError);
    await second.release();
    // The first process reconnects and takes the lock again: its old handle stays fenced off, the new one holds.
    const reconnected = await acquireMigrateLock(conn.pool, 'curtain', { command: 'expand', waitMs: 1000 });
    expect(reconnected.epoch).toBe(second.epoch + 1);
    const stale = await check(first);
    expect(stale).toBeInstanceOf(LockLostError);
    expect(await check(reconnected)).toBeUndefined();
    await reconnected.release();
    await first.release();
  });

  it('the epoch check holds even while the old session is alive: a bumped epoch fences the old holder', async () => {
    const lock = await acquireMigrateLock(conn.pool, 'curtain', { command: 'contract', waitMs: 1000 });
    await conn.pool.query(`UPDATE curtain.migrate_lock SET epoch = epoch + 1, holder = 'someone else'`);
    const err = await check(lock, 'nothing after step 1 ran');
    expect((err as Error).message).toContain(`another migrate took it since: epoch ${lock.epoch} → ${lock.epoch + 1}, someone else`);
    await lock.release();
  });

  it('a waiting second holder names the first, and gets the lock once it is released', async () => {
    const first = await acquireMigrateLock(conn.pool, 'curtain', { command: 'expand', waitMs: 1000 });
    await expect(acquireMigrateLock(conn.pool, 'curtain', { command: 'switch', waitMs: 300 })).rejects.toThrow(
      /another migrate holds the lock on this database \(migrate expand \(pid \d+ on .+, backend \d+/,
    );
    await first.release();
    const second = await acquireMigrateLock(conn.pool, 'curtain', { command: 'switch', waitMs: 1000 });
    expect(await check(second)).toBeUndefined();
    await second.release();
  });
});

describe('taking the lock again and again', () => {
  it('leaves no listeners behind on pooled clients (no MaxListenersExceededWarning)', async () => {
    const { connect } = await import('../../../src/db/connect.js');
    const one = await connect(tdb.url, { max: 1 });
    try {
      for (let i = 0; i < 15; i++) await (await acquireMigrateLock(one.pool, 'curtain', { command: 'switch', waitMs: 1000 })).release();
      const client = await one.pool.connect();
      expect(client.listenerCount('error')).toBe(1);
      client.release();
    } finally {
      await one.close();
    }
  });
});

describe('a fenced backfill', () => {
  it('stops at the first batch after the lock is lost; the batches before it stay recorded', async () => {
    await conn.pool.query(`CREATE TABLE fenced (id int PRIMARY KEY, v int); INSERT INTO fenced SELECT i, i FROM generate_series(1, 1000) i`);
    const plan = await planMigration([op.addColumn('public.fenced', { name: 'w', type: 'int', up: sql`v * 2` })], {
      db: conn.pool,
      migration: 'fenced',
      flag: 'fenced',
      schema: 'curtain',
    });
    await applySteps(conn.pool, plan.expand);
    const lock = await acquireMigrateLock(conn.pool, 'curtain', { command: 'expand', waitMs: 1000 });
    let calls = 0;
    const err = await runBackfill(conn.pool, plan.backfill[0]!, {
      schema: 'curtain',
      migration: 'fenced',
      batchSize: 100,
      fence: async (tx) => {
        // The first call fences the checkpoint's seed; before the fourth batch, the server ends the lock session.
        if (++calls === 5) await terminate(lock);
        await lock.assertHeld(tx, 'nothing after the last backfill batch ran');
      },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LockLostError);
    expect((err as Error).message).toMatch(/^lost the migrate lock \(.+\); nothing after the last backfill batch ran; rerun to resume$/);
    expect(await readCheckpoint(conn.pool, 'curtain', 'fenced', 'public.fenced')).toMatchObject({ rowsDone: 300, lastKey: ['300'] });
    expect((await conn.pool.query(`SELECT count(*)::int AS n FROM fenced WHERE w IS NOT NULL`)).rows[0].n).toBe(300);
    await lock.release();
  });
});
