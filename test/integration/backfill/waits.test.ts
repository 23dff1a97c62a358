import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCheckpoint } from '../../../src/store/checkpoints.js';
import { runBackfill, type BlockingSession } from '../../../src/backfill/run.js';
import { verifyBackfill } from '../../../src/backfill/verify.js';
import type { Database } from '../../../src/db/connect.js';
import { BackfillPausedError, BackfillRowError } from '../../../src/errors.js';
import { op, sql } from '../../../src/ops/index.js';
import type { BackfillTask, Operation } from '../../../src/ops/operation.js';
import { planMigration } from '../../../src/ops/plan.js';
import { ensureStore } from '../../../src/store/store.js';
import { createTestDatabase, type TestDatabase } from '../../support/database.js';
import { applySteps } from '../ops/helpers.js';

const CURTAIN = 'curtain';
let tdb: TestDatabase;
let conn: Database;
beforeAll(async () => {
  tdb = await createTestDatabase('bfwait');
  conn = await tdb.connect();
  await ensureStore(conn.pool, CURTAIN);
});
afterAll(() => tdb.drop());

let n = 0;
async function prepare(ddl: string, ops: Operation[]): Promise<{ task: BackfillTask; migration: string }> {
  const migration = `w${++n}`;
  await conn.pool.query(`DROP SCHEMA IF EXISTS bw CASCADE; CREATE SCHEMA bw; ${ddl}`);
  const plan = await planMigration(ops, { db: conn.pool, migration, flag: migration, schema: CURTAIN });
  await applySteps(conn.pool, plan.expand);
  return { task: plan.backfill[0]!, migration };
}

describe('a backfill meeting rows locked by the application', () => {
  it('names the blocking session, pauses with the checkpoint kept when the wait is over, and a rerun completes', async () => {
    const { task, migration } = await prepare(
      `CREATE TABLE bw.t (id int PRIMARY KEY, name text NOT NULL); INSERT INTO bw.t SELECT i, 'n' || i FROM generate_series(1, 1000) i`,
      [op.addColumn('bw.t', { name: 'upper_name', type: 'text', up: sql`upper(name)` })],
    );
    // The application holds row 550 in an open transaction.
    const holder = new pg.Client({ connectionString: tdb.url, application_name: 'row-holder' });
    await holder.connect();
    await holder.query('BEGIN');
    await holder.query('SELECT * FROM bw.t WHERE id = 550 FOR UPDATE');
    const holderPid = (await holder.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    try {
      // While waiting, progress names the blocker; the test stops the backfill once it has.
      const stop = new AbortController();
      let seen: BlockingSession | undefined;
      const first = await runBackfill(conn.pool, task, {
        schema: CURTAIN,
        migration,
        batchSize: 100,
        lockTimeoutMs: 2000,
        lockRetries: 1000,
        signal: stop.signal,
        onProgress: (e) => {
          if (e.waitingFor) {
            seen = e.waitingFor;
            stop.abort();
          }
        },
      });
      expect(first).toMatchObject({ done: false, rowsDone: 500 });
      expect(seen).toMatchObject({ pid: holderPid, applicationName: 'row-holder', state: 'idle in transaction' });
      expect(seen!.query).toBe('SELECT pg_backend_pid() AS pid');

      // With a short maximum wait it stops: exit 1, the checkpoint kept, the rows before the locked one done.
      const paused = await runBackfill(conn.pool, task, { schema: CURTAIN, migration, batchSize: 100, lockTimeoutMs: 200, maxLockWaitMs: 1500 }).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(paused).toBeInstanceOf(BackfillPausedError);
      expect((paused as BackfillPausedError).exitCode).toBe(1);
      expect((paused as BackfillPausedError).resumable).toBe(true);
      expect((paused as Error).message).toMatch(/^expand paused at key \(id\)=\(500\) of bw\.t \(waited \d+ s for row locks.*\); rerun to resume$/);
      expect(await readCheckpoint(conn.pool, CURTAIN, migration, 'bw.t')).toMatchObject({ lastKey: ['500'], rowsDone: 500, done: false });
      const filled = await conn.pool.query(`SELECT count(*)::int AS n, max(id) AS last FROM bw.t WHERE upper_name IS NOT NULL`);
      expect(filled.rows[0]).toEqual({ n: 500, last: 500 });

      // lockRetries is honoured too: no retry at all pauses after the first lock timeout.
      const noRetries = await runBackfill(conn.pool, task, { schema: CURTAIN, migration, batchSize: 100, lockTimeoutMs: 100, lockRetries: 0 }).catch(
        (err: unknown) => err,
      );
      expect((noRetries as Error).message).toMatch(/^expand paused at key \(id\)=\(500\) of bw\.t \(could not get the row locks in 1 attempt[;)]/);
    } finally {
      await holder.query('ROLLBACK');
      await holder.end();
    }
    const rerun = await runBackfill(conn.pool, task, { schema: CURTAIN, migration, batchSize: 100 });
    expect(rerun).toMatchObject({ done: true, rowsDone: 1000 });
    expect(await verifyBackfill(conn.pool, task)).toEqual({ table: 'bw.t', outOfSync: 0 });
  });
});

describe('a backfill failing on the data', () => {
  it('names the table, the row key, the column and the expression of a cast error', async () => {
    const { task, migration } = await prepare(
      `CREATE TABLE bw.t (id int PRIMARY KEY, age_text text NOT NULL);
       INSERT INTO bw.t SELECT i, i::text FROM generate_series(1, 1000) i; UPDATE bw.t SET age_text = 'oops' WHERE id = 777`,
      [op.addColumn('bw.t', { name: 'age', type: 'int', up: sql`age_text::int` })],
    );
    const err = await runBackfill(conn.pool, task, { schema: CURTAIN, migration, batchSize: 300 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackfillRowError);
    expect((err as BackfillRowError).key).toBe('(id)=(777)');
    expect((err as BackfillRowError).columns).toEqual(['age']);
    expect((err as Error).message).toContain('the backfill of bw.t fails on the row (id)=(777), column age: invalid input syntax for type integer: "oops"');
    expect((err as Error).message).toContain(`(in age = ${task.set.age})`);
    // Nothing of the failing batch was written; the batches before it were.
    expect(await readCheckpoint(conn.pool, CURTAIN, migration, 'bw.t')).toMatchObject({ lastKey: ['600'], rowsDone: 600 });
    expect((await conn.pool.query(`SELECT count(*)::int AS n FROM bw.t WHERE age IS NOT NULL`)).rows[0].n).toBe(600);
  });

  it('finds the row on a table without a primary key too (by ctid)', async () => {
    const { task, migration } = await prepare(
      `CREATE TABLE bw.t (v text); INSERT INTO bw.t SELECT i::text FROM generate_series(1, 2000) i; UPDATE bw.t SET v = 'x' WHERE v = '1500'`,
      [op.addColumn('bw.t', { name: 'n', type: 'int', up: sql`v::int` })],
    );
    const err = await runBackfill(conn.pool, task, { schema: CURTAIN, migration, batchSize: 500 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackfillRowError);
    const ctid = (await conn.pool.query(`SELECT ctid::text AS c FROM bw.t WHERE v = 'x'`)).rows[0].c as string;
    expect((err as BackfillRowError).key).toBe(`ctid ${ctid}`);
    expect((err as Error).message).toContain('invalid input syntax for type integer: "x"');
  });
});
