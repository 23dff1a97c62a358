import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCheckpoint } from '../../../src/store/checkpoints.js';
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
  tdb = await createTestDatabase('backfill');
  conn = await tdb.connect();
  await ensureStore(conn.pool, CURTAIN);
});
afterAll(() => tdb.drop());

let n = 0;
/** Create the table, count every UPDATE per row in bf.hits, and expand (no backfill yet). */
async function prepare(pool: pg.Pool, ddl: string, ops: Operation[]): Promise<{ plan: MigrationPlan; migration: string }> {
  const migration = `bf${++n}`;
  await pool.query(`DROP SCHEMA IF EXISTS bf CASCADE; CREATE SCHEMA bf; ${ddl};
    CREATE TABLE bf.hits (k text PRIMARY KEY, n int NOT NULL);
    CREATE FUNCTION bf.count_hit() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO bf.hits VALUES (NEW.k::text, 1) ON CONFLICT (k) DO UPDATE SET n = bf.hits.n + 1;
      RETURN NULL;
    END $$;
    CREATE TRIGGER zz_count AFTER UPDATE ON bf.t FOR EACH ROW EXECUTE FUNCTION bf.count_hit();
    -- The backfill skips user triggers (replica mode); this probe is made to fire anyway.
    ALTER TABLE bf.t ENABLE ALWAYS TRIGGER zz_count;`);
  const plan = await planMigration(ops, { db: pool, migration, flag: migration, schema: CURTAIN });
  await applySteps(pool, plan.expand);
  return { plan, migration };
}

const hits = async (pool: pg.Pool) => (await pool.query(`SELECT count(*)::int AS rows, coalesce(max(n), 0) AS max FROM bf.hits`)).rows[0];

describe('runBackfill', () => {
  it('walks a composite primary key in keyset batches, checkpointing each, and verifies clean', async () => {
    const { pool } = conn;
    const { plan, migration } = await prepare(
      pool,
      `CREATE TABLE bf.t (region text, seq int, name text, PRIMARY KEY (region, seq), k text GENERATED ALWAYS AS (region || ':' || seq) STORED);
       INSERT INTO bf.t (region, seq, name) SELECT r, s, 'n' || s FROM unnest(ARRAY['eu', 'us', 'O''Hare', '']) r, generate_series(1, 250) s`,
      [op.addColumn('bf.t', { name: 'upper_name', type: 'text', up: sql`upper(name) || region` })],
    );
    const events: BackfillProgress[] = [];
    const task = plan.backfill[0]!;
    const result = await runBackfill(pool, task, { schema: CURTAIN, migration, batchSize: 64, onProgress: (e) => events.push(e) });
    expect(result).toMatchObject({ done: true, rowsDone: 1000, rowsWritten: 1000, batches: 16 });
    expect(events.map((e) => e.rowsDone)).toEqual(Array.from({ length: 16 }, (_, i) => Math.min(1000, (i + 1) * 64)));
    expect(events.at(-1)).toMatchObject({ table: 'bf.t', rowsTotal: 1000, etaSeconds: 0 });
    expect(await verifyBackfill(pool, task)).toEqual({ table: 'bf.t', outOfSync: 0 });
    expect(await hits(pool)).toEqual({ rows: 1000, max: 1 });
    expect(await readCheckpoint(pool, CURTAIN, migration, 'bf.t')).toMatchObject({ done: true, rowsDone: 1000, rowsTotal: 1000 });
    // A finished backfill is not redone.
    expect(await runBackfill(pool, task, { schema: CURTAIN, migration })).toMatchObject({ done: true, batches: 0 });
  });

  it('records its checkpoint (0 of the total) before the first batch, so a backfill held from its start shows', async () => {
    const { pool } = conn;
    const { plan, migration } = await prepare(
      pool,
      `CREATE TABLE bf.t (id int PRIMARY KEY, name text, k text GENERATED ALWAYS AS (id::text) STORED);
       INSERT INTO bf.t (id, name) SELECT i, 'n' || i FROM generate_series(1, 1000) i;
       CREATE TABLE bf.go (yes boolean)`,
      [op.addColumn('bf.t', { name: 'upper_name', type: 'text', up: sql`upper(name)` })],
    );
    const throttled: string[] = [];
    // Held by the throttle query until bf.go has a row.
    const running = runBackfill(pool, plan.backfill[0]!, {
      schema: CURTAIN,
      migration,
      throttle: { maxReplicaLagMs: null, throttleQuery: 'SELECT NOT EXISTS (SELECT 1 FROM bf.go)' },
      onProgress: (e) => e.throttled && throttled.push(e.throttled),
    });
    for (;;) {
      if (throttled.length > 0) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(await readCheckpoint(pool, CURTAIN, migration, 'bf.t')).toMatchObject({ done: false, rowsDone: 0, rowsTotal: 1000, lastKey: null });
    expect(await hits(pool)).toEqual({ rows: 0, max: 0 });
    await pool.query('INSERT INTO bf.go VALUES (true)');
    expect(await running).toMatchObject({ done: true, rowsDone: 1000 });
    expect(await readCheckpoint(pool, CURTAIN, migration, 'bf.t')).toMatchObject({ done: true, rowsDone: 1000 });
  });

  it('walks ctid page ranges on a table without a primary key', async () => {
    const { pool } = conn;
    const { plan, migration } = await prepare(
      pool,
      `CREATE TABLE bf.t (k text, v int); INSERT INTO bf.t SELECT 'k' || i, i FROM generate_series(1, 3000) i`,
      [op.addColumn('bf.t', { name: 'v2', type: 'bigint', up: sql`v * 2` })],
    );
    const task = plan.backfill[0]!;
    const result = await runBackfill(pool, task, { schema: CURTAIN, migration, batchSize: 500 });
    expect(result.done).toBe(true);
    expect(result.rowsWritten).toBe(3000);
    expect(result.batches).toBeGreaterThan(1);
    expect(await verifyBackfill(pool, task)).toEqual({ table: 'bf.t', outOfSync: 0 });
    expect(await hits(pool)).toEqual({ rows: 3000, max: 1 });
  });

  it('resumes exactly after being stopped, and after a batch failed mid-way', async () => {
    const { pool } = conn;
    const { plan, migration } = await prepare(
      pool,
      `CREATE TABLE bf.t (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), v int, k text GENERATED ALWAYS AS (id::text) STORED);
       INSERT INTO bf.t (v) SELECT i FROM generate_series(1, 1000) i`,
      [op.addColumn('bf.t', { name: 'w', type: 'int', up: sql`v + 1` })],
    );
    const task = plan.backfill[0]!;
    const stop = new AbortController();
    const first = await runBackfill(pool, task, {
      schema: CURTAIN,
      migration,
      batchSize: 100,
      signal: stop.signal,
      onProgress: (e) => e.rowsDone >= 300 && stop.abort(),
    });
    expect(first).toMatchObject({ done: false, rowsDone: 300, batches: 3 });
    // Exactly the first 300 keys are filled.
    const filled = await pool.query(`SELECT count(*)::int AS n, max(id::text) AS last FROM bf.t WHERE w IS NOT NULL`);
    const firstUnfilled = await pool.query(`SELECT min(id::text) AS first FROM bf.t WHERE w IS NULL`);
    expect(filled.rows[0].n).toBe(300);
    expect(filled.rows[0].last < firstUnfilled.rows[0].first).toBe(true);
    const cp = await readCheckpoint(pool, CURTAIN, migration, 'bf.t');
    expect(cp).toMatchObject({ rowsDone: 300, done: false, lastKey: [filled.rows[0].last] });

    // A batch that dies half-way (here: an error on one row) commits nothing, checkpoint included.
    const victim = (await pool.query(`SELECT id::text AS id FROM bf.t WHERE w IS NULL ORDER BY id OFFSET 150 LIMIT 1`)).rows[0].id as string;
    await pool.query(`CREATE FUNCTION bf.boom() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
      IF NEW.id = '${victim}' THEN RAISE EXCEPTION 'boom'; END IF; RETURN NEW; END $$;
      CREATE TRIGGER boom BEFORE UPDATE ON bf.t FOR EACH ROW EXECUTE FUNCTION bf.boom(); ALTER TABLE bf.t ENABLE ALWAYS TRIGGER boom;`);
    await expect(runBackfill(pool, task, { schema: CURTAIN, migration, batchSize: 100 })).rejects.toThrow(/boom/);
    // The batch holding the victim (the second of this run) rolled back, checkpoint included.
    expect(await readCheckpoint(pool, CURTAIN, migration, 'bf.t')).toMatchObject({ rowsDone: 400, done: false });
    expect((await pool.query(`SELECT count(*)::int AS n FROM bf.t WHERE w IS NOT NULL`)).rows[0].n).toBe(400);
    await pool.query(`DROP TRIGGER boom ON bf.t`);

    const second = await runBackfill(pool, task, { schema: CURTAIN, migration, batchSize: 100 });
    expect(second).toMatchObject({ done: true, rowsDone: 1000 });
    expect(await verifyBackfill(pool, task)).toEqual({ table: 'bf.t', outOfSync: 0 });
    expect(await hits(pool)).toEqual({ rows: 1000, max: 1 });
  });

  it('resumes from the checkpoint after its connection is killed in the middle of a batch', async () => {
    const { pool } = conn;
    const { plan, migration } = await prepare(
      pool,
      `CREATE TABLE bf.t (id int PRIMARY KEY, v int, k text GENERATED ALWAYS AS (id::text) STORED);
       INSERT INTO bf.t SELECT i, i FROM generate_series(1, 500) i;
       CREATE FUNCTION bf.slow() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
         IF NEW.id = 250 THEN PERFORM pg_sleep(30); END IF; RETURN NEW; END $$;
       CREATE TRIGGER slow BEFORE UPDATE ON bf.t FOR EACH ROW EXECUTE FUNCTION bf.slow(); ALTER TABLE bf.t ENABLE ALWAYS TRIGGER slow`,
      [op.addColumn('bf.t', { name: 'w', type: 'int', up: sql`v * 3` })],
    );
    const task = plan.backfill[0]!;
    // Settled right away: the rejection may come while the loop below is still polling.
    const running = runBackfill(pool, task, { schema: CURTAIN, migration, batchSize: 100 }).then(
      () => undefined,
      (err: unknown) => err,
    );
    const killer = await tdb.connect();
    let killed = 0;
    for (let i = 0; i < 200 && killed === 0; i++) {
      const { rows } = await killer.pool.query(
        `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event = 'PgSleep' AND pid <> pg_backend_pid()`,
      );
      killed = rows[0].n;
      if (killed === 0) await new Promise((r) => setTimeout(r, 50));
    }
    expect(killed).toBe(1);
    expect(await running).toBeInstanceOf(Error);
    // Batches 1 and 2 committed with their checkpoint; batch 3 (ids 201–300) died with nothing written.
    expect(await readCheckpoint(pool, CURTAIN, migration, 'bf.t')).toMatchObject({ rowsDone: 200, lastKey: ['200'], done: false });
    expect((await pool.query(`SELECT count(*)::int AS n FROM bf.t WHERE w IS NOT NULL`)).rows[0].n).toBe(200);
    await pool.query(`DROP TRIGGER slow ON bf.t`);
    expect(await runBackfill(pool, task, { schema: CURTAIN, migration, batchSize: 100 })).toMatchObject({ done: true, rowsDone: 500, rowsWritten: 300 });
    expect(await verifyBackfill(pool, task)).toMatchObject({ outOfSync: 0 });
    expect(await hits(pool)).toEqual({ rows: 500, max: 1 });
  });

  it('adapts the batch size when none is given', async () => {
    const { pool } = conn;
    const { plan, migration } = await prepare(
      pool,
      `CREATE TABLE bf.t (id bigint PRIMARY KEY, v int, k text GENERATED ALWAYS AS (id::text) STORED); INSERT INTO bf.t SELECT i, i FROM generate_series(1, 5000) i`,
      [op.addColumn('bf.t', { name: 'w', type: 'int', up: sql`v + 1` })],
    );
    const result = await runBackfill(pool, plan.backfill[0]!, { schema: CURTAIN, migration });
    expect(result).toMatchObject({ done: true, rowsDone: 5000, rowsWritten: 5000 });
    expect(await verifyBackfill(pool, plan.backfill[0]!)).toMatchObject({ outOfSync: 0 });
  });

  it('does not let the trigger copy backfilled values back to the old side', async () => {
    const { pool } = conn;
    const { plan, migration } = await prepare(
      pool,
      `CREATE TABLE bf.t (id int PRIMARY KEY, amount numeric, k text GENERATED ALWAYS AS (id::text) STORED);
       INSERT INTO bf.t SELECT i, i + 0.4 FROM generate_series(1, 100) i`,
      [op.alterColumn('bf.t', 'amount', { name: 'amount_int', type: 'integer', up: sql`round(amount)::integer`, down: sql`amount_int::numeric` })],
    );
    await runBackfill(pool, plan.backfill[0]!, { schema: CURTAIN, migration, batchSize: 30 });
    const { rows } = await pool.query(`SELECT count(*)::int AS n FROM bf.t WHERE amount <> id + 0.4 OR amount_int <> id`);
    expect(rows[0].n).toBe(0);
    // New code writing the new side still reaches the old side.
    await pool.query(`UPDATE bf.t SET amount_int = 7 WHERE id = 1`);
    expect((await pool.query(`SELECT amount::text AS a FROM bf.t WHERE id = 1`)).rows[0].a).toBe('7');
  });

  it('verification counts rows that are out of sync', async () => {
    const { pool } = conn;
    const { plan, migration } = await prepare(
      pool,
      `CREATE TABLE bf.t (id int PRIMARY KEY, v int, k text GENERATED ALWAYS AS (id::text) STORED); INSERT INTO bf.t SELECT i, i FROM generate_series(1, 50) i`,
      [op.addColumn('bf.t', { name: 'w', type: 'int', up: sql`v * 10` })],
    );
    const task = plan.backfill[0]!;
    expect(await verifyBackfill(pool, task)).toMatchObject({ outOfSync: 50 });
    await runBackfill(pool, task, { schema: CURTAIN, migration, batchSize: 20 });
    expect(await verifyBackfill(pool, task)).toMatchObject({ outOfSync: 0 });
    await pool.query(`UPDATE bf.t SET w = -1 WHERE id IN (5, 6)`); // a writer of the new side only: no copy for addColumn
    expect(await verifyBackfill(pool, task)).toMatchObject({ outOfSync: 2 });
  });
});
