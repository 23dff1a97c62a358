import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uncoveredPartitions } from '../../../src/backfill/partitions.js';
import { runBackfill, type BackfillProgress } from '../../../src/backfill/run.js';
import { verifyBackfill } from '../../../src/backfill/verify.js';
import type { Database } from '../../../src/db/connect.js';
import { op, sql } from '../../../src/ops/index.js';
import type { MigrationPlan, Operation } from '../../../src/ops/operation.js';
import { planMigration } from '../../../src/ops/plan.js';
import { ensureStore } from '../../../src/store/store.js';
import { createTestDatabase, type TestDatabase } from '../../support/database.js';
import { applySteps } from '../ops/helpers.js';

const CURTAIN = 'curtain';
let tdb: TestDatabase;
let conn: Database;
beforeAll(async () => {
  tdb = await createTestDatabase('bfpart');
  conn = await tdb.connect();
  await ensureStore(conn.pool, CURTAIN);
});
afterAll(() => tdb.drop());

let n = 0;
/**
 * A list-partitioned table with three partitions of 1000 rows and a default
 * partition of 500, an `updated_at` trigger on the parent (cloned onto every
 * partition), expanded (no backfill yet).
 */
async function prepare(pool: pg.Pool, ops: Operation[], key = 'PRIMARY KEY (id, region)'): Promise<{ plan: MigrationPlan; migration: string }> {
  const migration = `bfp${++n}`;
  await pool.query(`DROP SCHEMA IF EXISTS bfp CASCADE; CREATE SCHEMA bfp;
    CREATE TABLE bfp.t (id int NOT NULL, region text NOT NULL, amount int, touched timestamptz NOT NULL DEFAULT '2020-01-01'${key ? `, ${key}` : ''}) PARTITION BY LIST (region);
    CREATE TABLE bfp.t_eu PARTITION OF bfp.t FOR VALUES IN ('eu');
    CREATE TABLE bfp.t_us PARTITION OF bfp.t FOR VALUES IN ('us');
    CREATE TABLE bfp.t_asia PARTITION OF bfp.t FOR VALUES IN ('asia');
    CREATE TABLE bfp.t_other PARTITION OF bfp.t DEFAULT;
    CREATE FUNCTION bfp.touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.touched := clock_timestamp(); RETURN NEW; END $$;
    CREATE TRIGGER touch BEFORE UPDATE ON bfp.t FOR EACH ROW EXECUTE FUNCTION bfp.touch();
    INSERT INTO bfp.t (id, region, amount) SELECT i, r, CASE WHEN i % 7 = 0 THEN NULL ELSE i * 10 END FROM unnest(ARRAY['eu', 'us', 'asia']) r, generate_series(1, 1000) i;
    INSERT INTO bfp.t (id, region, amount) SELECT i, 'r' || (i % 5), i FROM generate_series(1, 500) i;
    ANALYZE bfp.t;`);
  const plan = await planMigration(ops, { db: pool, migration, flag: migration, schema: CURTAIN });
  await applySteps(pool, plan.expand);
  return { plan, migration };
}

const checkpoints = async (pool: pg.Pool, migration: string) =>
  (
    await pool.query(`SELECT table_name, rows_done::int, rows_total::int, done FROM curtain.backfill_checkpoints WHERE migration = $1 ORDER BY table_name`, [migration])
  ).rows;

describe('runBackfill on a partitioned table', () => {
  it('walks each leaf partition on its own key, one checkpoint row per partition, progress summed over all of them', async () => {
    const { pool } = conn;
    const { plan, migration } = await prepare(pool, [op.alterColumn('bfp.t', 'amount', { type: 'bigint', up: sql`amount::bigint * 100`, down: sql`(amount / 100)::int` })]);
    const task = plan.backfill[0]!;
    const events: BackfillProgress[] = [];
    const result = await runBackfill(pool, task, { schema: CURTAIN, migration, batchSize: 300, onProgress: (e) => events.push(e) });
    // Rows whose amount is NULL are in sync already (NULL::bigint * 100 is NULL): 3 × 142 of them.
    expect(result).toMatchObject({ table: 'bfp.t', done: true, rowsDone: 3500, rowsWritten: 3500 - 426 });
    expect(result.partitions!.map((p) => [p.table, p.rowsDone, p.batches])).toEqual([
      ['bfp.t_asia', 1000, 4],
      ['bfp.t_eu', 1000, 4],
      ['bfp.t_other', 500, 2],
      ['bfp.t_us', 1000, 4],
    ]);
    expect(await checkpoints(pool, migration)).toEqual([
      { table_name: 'bfp.t_asia', rows_done: 1000, rows_total: 1000, done: true },
      { table_name: 'bfp.t_eu', rows_done: 1000, rows_total: 1000, done: true },
      { table_name: 'bfp.t_other', rows_done: 500, rows_total: 500, done: true },
      { table_name: 'bfp.t_us', rows_done: 1000, rows_total: 1000, done: true },
    ]);
    // Every event speaks for the whole table: the total is every partition's, the count only grows.
    expect(events.every((e) => e.table === 'bfp.t' && e.rowsTotal === 3500)).toBe(true);
    expect(events.map((e) => e.partition)).toContain('bfp.t_other');
    expect(events.map((e) => e.rowsDone)).toEqual([...events.map((e) => e.rowsDone)].sort((a, b) => a - b));
    expect(events.at(-1)).toMatchObject({ rowsDone: 3500, etaSeconds: 0 });
    // Exact data, and the user trigger cloned onto the partitions did not fire (replica mode).
    const shadow = Object.keys(task.set)[0]!;
    const bad = await pool.query(`SELECT count(*)::int AS n FROM bfp.t WHERE "${shadow}" IS DISTINCT FROM amount::bigint * 100`);
    expect(bad.rows[0].n).toBe(0);
    expect((await pool.query(`SELECT count(*)::int AS n FROM bfp.t WHERE touched <> '2020-01-01'`)).rows[0].n).toBe(0);
    expect(await verifyBackfill(pool, task)).toEqual({ table: 'bfp.t', outOfSync: 0 });
  });

  it('stopped mid-partition, a rerun resumes at that partition and key and skips the finished ones', async () => {
    const { pool } = conn;
    const { plan, migration } = await prepare(pool, [op.renameColumn('bfp.t', 'amount', 'total')]);
    const task = plan.backfill[0]!;
    const stop = new AbortController();
    let seen = 0;
    // Stop after the first batch of the second partition.
    const first = await runBackfill(pool, task, {
      schema: CURTAIN,
      migration,
      batchSize: 250,
      signal: stop.signal,
      onProgress: (e) => {
        if (e.partition === 'bfp.t_eu' && ++seen === 1) stop.abort();
      },
    });
    expect(first.done).toBe(false);
    expect(await checkpoints(pool, migration)).toEqual([
      { table_name: 'bfp.t_asia', rows_done: 1000, rows_total: 1000, done: true },
      { table_name: 'bfp.t_eu', rows_done: 250, rows_total: 1000, done: false },
      { table_name: 'bfp.t_other', rows_done: 0, rows_total: 500, done: false },
      { table_name: 'bfp.t_us', rows_done: 0, rows_total: 1000, done: false },
    ]);
    const lastKey = (await pool.query(`SELECT last_key FROM curtain.backfill_checkpoints WHERE migration = $1 AND table_name = 'bfp.t_eu'`, [migration])).rows[0].last_key;
    expect(lastKey).toEqual(['250', 'eu']);
    const again = await runBackfill(pool, task, { schema: CURTAIN, migration, batchSize: 250 });
    expect(again.done).toBe(true);
    // The finished partition cost nothing; the stopped one went on from its key.
    expect(again.partitions!.map((p) => [p.table, p.batches, p.rowsWritten])).toEqual([
      ['bfp.t_asia', 0, 0],
      // A full last batch is followed by an empty one that sees the end; NULL amounts are already in sync.
      ['bfp.t_eu', 4, 750 - 107],
      ['bfp.t_other', 3, 500],
      ['bfp.t_us', 5, 1000 - 142],
    ]);
    expect(again.rowsDone).toBe(3500);
    expect((await pool.query(`SELECT count(*)::int AS n FROM bfp.t WHERE total IS DISTINCT FROM amount`)).rows[0].n).toBe(0);
  });

  it('walks partitions without a primary key by ctid pages', async () => {
    const { pool } = conn;
    const { plan, migration } = await prepare(pool, [op.addColumn('bfp.t', { name: 'label', type: 'text', up: sql`region || '-' || id` })], '');
    const result = await runBackfill(pool, plan.backfill[0]!, { schema: CURTAIN, migration, batchSize: 200 });
    expect(result).toMatchObject({ done: true, rowsWritten: 3500 });
    expect((await checkpoints(pool, migration)).map((c) => [c.table_name, c.done])).toEqual([
      ['bfp.t_asia', true],
      ['bfp.t_eu', true],
      ['bfp.t_other', true],
      ['bfp.t_us', true],
    ]);
    expect((await pool.query(`SELECT count(*)::int AS n FROM bfp.t WHERE label IS DISTINCT FROM region || '-' || id`)).rows[0].n).toBe(0);
  });

  it('partitions created after the backfill are in sync through the cloned trigger; an attached one is named with its fill', async () => {
    const { pool } = conn;
    const { plan, migration } = await prepare(pool, [op.renameColumn('bfp.t', 'amount', 'total')]);
    const task = plan.backfill[0]!;
    await runBackfill(pool, task, { schema: CURTAIN, migration });
    // Created with PARTITION OF: the new column and the dual-write trigger come with it.
    await pool.query(`CREATE TABLE bfp.t_africa PARTITION OF bfp.t FOR VALUES IN ('africa');
      INSERT INTO bfp.t (id, region, amount) SELECT i, 'africa', i FROM generate_series(1, 50) i;
      UPDATE bfp.t SET amount = amount + 1 WHERE region = 'africa' AND id <= 10`);
    expect(await uncoveredPartitions(pool, CURTAIN, migration, [task])).toEqual([]);
    // Attached: PostgreSQL wants the same columns, so it has "total", but nothing filled it.
    await pool.query(`CREATE TABLE bfp.t_oc (LIKE bfp.t INCLUDING DEFAULTS);
      INSERT INTO bfp.t_oc (id, region, amount) SELECT i, 'oc', i FROM generate_series(1, 30) i;
      ALTER TABLE bfp.t ATTACH PARTITION bfp.t_oc FOR VALUES IN ('oc')`);
    const dw = await pool.query(`SELECT tgenabled FROM pg_trigger WHERE tgrelid = ANY ('{bfp.t_africa,bfp.t_oc}'::regclass[]) AND tgname LIKE '\\_curtain%'`);
    expect(dw.rows).toEqual([{ tgenabled: 'A' }, { tgenabled: 'A' }]);
    const uncovered = await uncoveredPartitions(pool, CURTAIN, migration, [task]);
    expect(uncovered).toMatchObject([{ partition: 'bfp.t_oc', table: 'bfp.t', outOfSync: 30 }]);
    expect(await verifyBackfill(pool, task)).toEqual({ table: 'bfp.t', outOfSync: 30, partitions: [{ partition: 'bfp.t_oc', outOfSync: 30 }] });
    // The fill it gives works, and leaves the old side as it was.
    await pool.query(uncovered[0]!.fill);
    expect(await uncoveredPartitions(pool, CURTAIN, migration, [task])).toEqual([]);
    expect((await pool.query(`SELECT count(*)::int AS n FROM bfp.t WHERE total IS DISTINCT FROM amount`)).rows[0].n).toBe(0);
    // A rerun of the backfill walks the two new partitions too, and records them.
    const again = await runBackfill(pool, task, { schema: CURTAIN, migration });
    expect(again.partitions!.map((p) => [p.table, p.rowsWritten])).toEqual([
      ['bfp.t_africa', 0],
      ['bfp.t_asia', 0],
      ['bfp.t_eu', 0],
      ['bfp.t_oc', 0],
      ['bfp.t_other', 0],
      ['bfp.t_us', 0],
    ]);
    expect((await checkpoints(pool, migration)).filter((c) => c.done)).toHaveLength(6);
  });
});
