import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/connect.js';
import { migrate, migrationSource, tempProject } from '../support/cli.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { startMigrate } from '../support/resilience.js';

const IMPORTS = 'defineMigration, op, sql';
const PER_PARTITION = 1500;

/**
 * A list-partitioned orders table (three partitions, 4500 rows) through the
 * CLI: a backfill killed with SIGKILL resumes at the partition and key it
 * stopped at; a partition created after expand is dual-written; one attached
 * after the backfill makes contract refuse until it is filled; foreign keys
 * to (and of) a partitioned table are added and moved with their columns.
 */
describe('partitioned tables', { timeout: 300_000 }, () => {
  let tdb: TestDatabase;
  let conn: Database;
  const project = tempProject();
  const run = (...args: string[]) => migrate(['--lock-wait', '30s', ...args], { cwd: project.dir, databaseUrl: tdb.url });
  const write = (name: string, ops: string) => project.write(`migrations/${name}.ts`, migrationSource(`export default defineMigration({ operations: [${ops}] });`, IMPORTS));
  const q = async (text: string, values: unknown[] = []) => (await conn.pool.query(text, values)).rows;
  const ok = async (...args: string[]) => {
    const r = await run(...args);
    expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
    return r;
  };
  const checkpoints = async (migration: string) =>
    q(`SELECT table_name, rows_done::int AS done_rows, done FROM curtain.backfill_checkpoints WHERE migration LIKE '%' || $1 ORDER BY table_name`, [migration]);

  beforeAll(async () => {
    tdb = await createTestDatabase('partitions');
    conn = await tdb.connect();
    await conn.pool.query(`
      CREATE TABLE orders (id bigint NOT NULL, region text NOT NULL, total integer, PRIMARY KEY (id, region)) PARTITION BY LIST (region);
      CREATE TABLE orders_asia PARTITION OF orders FOR VALUES IN ('asia');
      CREATE TABLE orders_eu PARTITION OF orders FOR VALUES IN ('eu');
      CREATE TABLE orders_us PARTITION OF orders FOR VALUES IN ('us');
      INSERT INTO orders SELECT i, r, CASE WHEN i % 13 = 0 THEN NULL ELSE i * 3 END FROM unnest(ARRAY['asia', 'eu', 'us']) r, generate_series(1, ${PER_PARTITION}) i;
      CREATE TABLE payments (id int PRIMARY KEY, order_id bigint, order_region text);
      INSERT INTO payments SELECT i, i, 'eu' FROM generate_series(1, 300) i;
      CREATE TABLE shipments (id int NOT NULL, region text NOT NULL, order_id bigint, PRIMARY KEY (id, region),
        CONSTRAINT shipments_order_fkey FOREIGN KEY (order_id, region) REFERENCES orders (id, region)) PARTITION BY LIST (region);
      CREATE TABLE shipments_eu PARTITION OF shipments FOR VALUES IN ('eu');
      CREATE TABLE shipments_us PARTITION OF shipments FOR VALUES IN ('us');
      INSERT INTO shipments SELECT i, r, i FROM unnest(ARRAY['eu', 'us']) r, generate_series(1, 200) i;
      ANALYZE;
    `);
  });
  afterAll(() => tdb.drop());

  it('a SIGKILLed backfill resumes at the partition and key it stopped at; created and attached partitions; contract ends exact', async () => {
    write('20260101000100_amount', `op.alterColumn('orders', 'total', { type: 'bigint', name: 'amount', up: sql\`total::bigint * 100\`, down: sql\`(amount / 100)::integer\` })`);
    const before = await q(`SELECT id, region, total FROM orders ORDER BY region, id`);
    const killed = startMigrate(['expand', 'amount', '--batch-size', '100', '--batch-delay', '20ms'], { cwd: project.dir, databaseUrl: tdb.url });
    // Kill once the second partition is part-way: its checkpoint row says so.
    for (;;) {
      const rows = await q(`SELECT 1 FROM curtain.backfill_checkpoints WHERE table_name = 'public.orders_eu' AND rows_done >= 300 AND NOT done`).catch(() => []);
      if (rows.length > 0) break;
      const exited = await Promise.race([killed.done.then(() => true), new Promise((r) => setTimeout(() => r(false), 10))]);
      expect(exited, `expand ended before it could be killed: ${killed.stderr}`).toBe(false);
    }
    killed.child.kill('SIGKILL');
    expect((await killed.done).signal).toBe('SIGKILL');
    const stopped = await checkpoints('amount');
    expect(stopped.map((c) => c.table_name)).toEqual(['public.orders_asia', 'public.orders_eu', 'public.orders_us']);
    expect(stopped[0]).toMatchObject({ done_rows: PER_PARTITION, done: true });
    expect(stopped[1]!.done).toBe(false);
    expect(stopped[1]!.done_rows).toBeGreaterThanOrEqual(300);
    expect(stopped[2]).toMatchObject({ done_rows: 0, done: false });
    const eu = stopped[1]!.done_rows;
    // Rows past the eu checkpoint and all of us are not filled yet.
    expect((await q(`SELECT count(*)::int AS n FROM orders_us WHERE amount IS NOT NULL`))[0].n).toBe(0);

    await ok('expand', 'amount', '--batch-size', '100');
    expect(await checkpoints('amount')).toEqual([
      { table_name: 'public.orders_asia', done_rows: PER_PARTITION, done: true },
      { table_name: 'public.orders_eu', done_rows: PER_PARTITION, done: true },
      { table_name: 'public.orders_us', done_rows: PER_PARTITION, done: true },
    ]);
    // The rerun went on from the eu key: it counted rows from there, not from the start.
    expect(eu % 100).toBe(0);
    expect((await q(`SELECT count(*)::int AS n FROM orders WHERE amount IS DISTINCT FROM total::bigint * 100`))[0].n).toBe(0);
    const status = (await run('status', '--json')).json().migrations.find((m: { name: string }) => m.name.endsWith('amount'));
    expect(status.phase).toBe('expanded');

    // A partition created now carries the new column and the dual-write trigger: both kinds of writer are synced.
    await conn.pool.query(`CREATE TABLE orders_africa PARTITION OF orders FOR VALUES IN ('africa');
      INSERT INTO orders (id, region, total) SELECT i, 'africa', i FROM generate_series(1, 40) i;
      INSERT INTO orders (id, region, amount) SELECT i, 'africa', i * 100 FROM generate_series(41, 60) i;
      UPDATE orders SET total = total + 1 WHERE region = 'africa' AND id <= 10;
      UPDATE orders SET amount = amount + 100 WHERE region = 'africa' AND id BETWEEN 41 AND 45`);
    expect(await q(`SELECT count(*)::int AS n FROM orders_africa WHERE amount IS DISTINCT FROM total::bigint * 100`)).toEqual([{ n: 0 }]);
    expect(await q(`SELECT id, total, amount FROM orders_africa WHERE id IN (1, 41) ORDER BY id`)).toEqual([
      { id: 1, total: 2, amount: 200 },
      { id: 41, total: 42, amount: 4200 },
    ]);
    // An attached table must already have the new column (PostgreSQL wants the same columns); nothing filled it.
    await conn.pool.query(`CREATE TABLE orders_oc (LIKE orders INCLUDING DEFAULTS);
      INSERT INTO orders_oc (id, region, total) SELECT i, 'oc', i * 7 FROM generate_series(1, 25) i;
      ALTER TABLE orders ATTACH PARTITION orders_oc FOR VALUES IN ('oc')`);
    const dw = await q(`SELECT tgrelid::regclass::text AS t, tgenabled FROM pg_trigger WHERE tgname LIKE '\\_curtain%' AND tgrelid = ANY ('{orders_africa,orders_oc}'::regclass[]) ORDER BY 1`);
    expect(dw).toEqual([
      { t: 'orders_africa', tgenabled: 'A' },
      { t: 'orders_oc', tgenabled: 'A' },
    ]);

    await ok('switch', 'amount');
    const refused = await run('contract', 'amount');
    expect(refused.code, refused.stderr).toBe(3);
    expect(refused.stderr).toContain('public.orders_oc');
    expect(refused.stderr).not.toContain('orders_africa');
    // Nothing was dropped.
    expect(await q(`SELECT count(*)::int AS n FROM information_schema.columns WHERE table_name = 'orders' AND column_name = 'total'`)).toEqual([{ n: 1 }]);
    const fill = refused.stderr.split('\n').map((l) => l.trim()).find((l) => l.startsWith('BEGIN;'))!;
    expect(fill).toContain('"public"."orders_oc"');
    await conn.pool.query(fill);

    await ok('contract', 'amount');
    const cols = await q(`SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'orders' ORDER BY ordinal_position`);
    expect(cols).toEqual([
      { column_name: 'id', data_type: 'bigint' },
      { column_name: 'region', data_type: 'text' },
      { column_name: 'amount', data_type: 'bigint' },
    ]);
    // Every partition's column changed with the parent; every row is exact.
    const parts = await q(`SELECT c.relname, a.atttypid::regtype::text AS type FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'amount' WHERE i.inhparent = 'orders'::regclass ORDER BY 1`);
    expect(parts).toEqual(['orders_africa', 'orders_asia', 'orders_eu', 'orders_oc', 'orders_us'].map((relname) => ({ relname, type: 'bigint' })));
    const after = await q(`SELECT id, region, amount FROM orders WHERE region IN ('asia', 'eu', 'us') ORDER BY region, id`);
    expect(after).toEqual(before.map((r) => ({ id: r.id, region: r.region, amount: r.total === null ? null : r.total * 100 })));
    expect(await q(`SELECT count(*)::int AS n FROM orders_oc WHERE amount IS DISTINCT FROM id * 700`)).toEqual([{ n: 0 }]);
    expect(await q(`SELECT tgname FROM pg_trigger WHERE tgname LIKE '\\_curtain%'`)).toEqual([]);
  });

  it('a foreign key referencing a partitioned table: added NOT VALID, validated at contract, moved with its column', async () => {
    write('20260101000200_payment_order_fk', `op.addConstraint('payments', { type: 'foreign key', name: 'payments_order_fkey', columns: ['order_id', 'order_region'], references: { table: 'orders', columns: ['id', 'region'] } })`);
    const fks = async (table: string) =>
      q(`SELECT conname, confrelid::regclass::text AS refs, convalidated, pg_get_constraintdef(oid) AS def FROM pg_constraint
          WHERE conrelid = $1::regclass AND contype = 'f' AND conparentid = 0 ORDER BY conname`, [table]);
    await ok('expand', 'payment_order_fk');
    expect(await fks('payments')).toEqual([
      { conname: 'payments_order_fkey', refs: 'orders', convalidated: false, def: 'FOREIGN KEY (order_id, order_region) REFERENCES orders(id, region) NOT VALID' },
    ]);
    // New writes are checked at once.
    await expect(conn.pool.query(`INSERT INTO payments VALUES (9999, 99999, 'eu')`)).rejects.toThrow(/violates foreign key constraint/);
    await ok('switch', 'payment_order_fk');
    await ok('contract', 'payment_order_fk');
    expect((await fks('payments'))[0]).toMatchObject({ conname: 'payments_order_fkey', convalidated: true });

    // Renaming the referencing column moves the key; the per-partition clones PostgreSQL keeps are not moved by hand.
    write('20260101000300_payment_order_ref', `op.renameColumn('payments', 'order_id', 'order_ref')`);
    await ok('expand', 'payment_order_ref');
    await ok('switch', 'payment_order_ref');
    await ok('contract', 'payment_order_ref');
    expect(await fks('payments')).toEqual([
      { conname: 'payments_order_fkey', refs: 'orders', convalidated: true, def: 'FOREIGN KEY (order_ref, order_region) REFERENCES orders(id, region)' },
    ]);
    // One clone per referenced partition, as PostgreSQL makes them: nothing extra.
    const clones = await q(`SELECT confrelid::regclass::text AS refs FROM pg_constraint WHERE conrelid = 'payments'::regclass AND contype = 'f' AND conparentid <> 0 ORDER BY 1`);
    expect(clones.map((c) => c.refs)).toEqual(['orders_africa', 'orders_asia', 'orders_eu', 'orders_oc', 'orders_us']);
    await expect(conn.pool.query(`INSERT INTO payments (id, order_ref, order_region) VALUES (9999, 99999, 'eu')`)).rejects.toThrow(/payments_order_fkey/);
  });

  it('a partitioned table referencing another: its foreign key moves with the column, per partition then attached', async () => {
    write('20260101000400_shipment_order_no', `op.renameColumn('shipments', 'order_id', 'order_no')`);
    const plan = await run('plan', 'shipment_order_no');
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stdout).toContain('on partition shipments_eu (not valid)');
    await ok('expand', 'shipment_order_no');
    await ok('switch', 'shipment_order_no');
    await ok('contract', 'shipment_order_no');
    const fk = await q(`SELECT conrelid::regclass::text AS t, conname, convalidated, pg_get_constraintdef(oid) AS def FROM pg_constraint
      WHERE contype = 'f' AND conrelid IN (SELECT 'shipments'::regclass UNION SELECT relid FROM pg_partition_tree('shipments'))
        AND confrelid = 'orders'::regclass ORDER BY 1`);
    expect(fk.map((k) => [k.t, k.convalidated, k.def])).toEqual([
      ['shipments', true, 'FOREIGN KEY (order_no, region) REFERENCES orders(id, region)'],
      ['shipments_eu', true, 'FOREIGN KEY (order_no, region) REFERENCES orders(id, region)'],
      ['shipments_us', true, 'FOREIGN KEY (order_no, region) REFERENCES orders(id, region)'],
    ]);
    expect(fk[0]!.conname).toBe('shipments_order_fkey');
    await expect(conn.pool.query(`INSERT INTO shipments VALUES (999, 'us', 99999)`)).rejects.toThrow(/violates foreign key constraint/);
    expect(await q(`SELECT count(*)::int AS n FROM shipments WHERE order_no <> id`)).toEqual([{ n: 0 }]);
  });
});
