import type pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CurtainError, UsageError } from '../../../src/errors.js';
import { createSnapshot, listSnapshots, previewRestore, restoreSnapshot } from '../../../src/snapshots/index.js';
import { ensureStore } from '../../../src/store/store.js';
import { createTestDatabase, type TestDatabase } from '../../support/database.js';

const schema = 'curtain';

/** Customers and their orders; an audit trigger on orders records every write it sees. */
const SETUP = `
DROP TABLE IF EXISTS orders, customers, audit, nopk CASCADE;
DROP SCHEMA IF EXISTS curtain_snapshots CASCADE;
TRUNCATE curtain.snapshots;
CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL);
CREATE TABLE orders (id bigserial PRIMARY KEY, customer_id int NOT NULL REFERENCES customers (id), status text NOT NULL,
  total numeric(10,2) NOT NULL, note text, total_x2 numeric GENERATED ALWAYS AS (total * 2) STORED);
CREATE TABLE audit (n bigserial, op text, order_id bigint);
CREATE FUNCTION audit_orders() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN INSERT INTO audit (op, order_id) VALUES (TG_OP, coalesce(NEW.id, OLD.id)); RETURN coalesce(NEW, OLD); END $$;
INSERT INTO customers SELECT i, 'customer ' || i FROM generate_series(1, 10) i;
INSERT INTO orders (customer_id, status, total) SELECT 1 + i % 10, 'paid', i FROM generate_series(1, 100) i;
CREATE TRIGGER orders_audit AFTER INSERT OR UPDATE OR DELETE ON orders FOR EACH ROW EXECUTE FUNCTION audit_orders();
CREATE TABLE nopk (a int, b text);
INSERT INTO nopk VALUES (1, 'x');
`;

describe('row-granular restore', () => {
  let tdb: TestDatabase;
  let pool: pg.Pool;
  const orders = async () => (await pool.query(`SELECT id::int, customer_id, status, total::text, note, total_x2::text FROM orders ORDER BY id`)).rows;
  const audits = async () => Number((await pool.query('SELECT count(*) FROM audit')).rows[0].count);

  beforeAll(async () => {
    tdb = await createTestDatabase('snaprows');
    pool = (await tdb.connect()).pool;
    await ensureStore(pool, schema);
  });
  afterAll(() => tdb.drop());
  beforeEach(async () => {
    await pool.query('DROP FUNCTION IF EXISTS audit_orders() CASCADE');
    await pool.query(SETUP);
  });

  /** After the snapshot: legitimate writes outside the predicate, and a buggy path refunding customer 3's orders. */
  async function poison(): Promise<void> {
    await pool.query(`UPDATE orders SET note = 'legit' WHERE id = 5`);
    await pool.query(`DELETE FROM orders WHERE id = 7`);
    await pool.query(`INSERT INTO orders (customer_id, status, total) SELECT 1 + i % 10, 'paid', 1000 + i FROM generate_series(1, 10) i`);
    // The bug: customer 3's orders 2 and 22 refunded to 0, order 42 deleted, a bogus order inserted.
    await pool.query(`UPDATE orders SET status = 'refunded', total = 0 WHERE customer_id = 3 AND id IN (2, 22)`);
    await pool.query(`DELETE FROM orders WHERE id = 42`);
    await pool.query(`INSERT INTO orders (customer_id, status, total) VALUES (3, 'refunded', 0)`);
  }

  it('restores the poisoned subset and leaves rows written after the snapshot outside the predicate untouched', async () => {
    const snap = await createSnapshot(pool, { schema, tables: ['orders'] });
    const then = await orders();
    await poison();
    const before = await orders();
    const auditBefore = await audits();
    const where = `customer_id = 3 AND id < 100`;
    const inScope = (r: { id: number; customer_id: number }) => r.customer_id === 3 && r.id < 100;

    const preview = await previewRestore(pool, snap.id, { schema, tables: ['orders'], where });
    expect(preview.tables).toEqual([
      {
        table: 'public.orders',
        mode: 'rows',
        rowsThen: 100,
        rowsNow: 109,
        changes: { matching: 10, updated: 2, inserted: 1, deleted: 0, unchanged: 7, keptInserted: 0 },
        droppedColumns: [],
        columnsNotInSnapshot: [],
      },
    ]);
    expect(await orders()).toEqual(before);

    const result = await restoreSnapshot(pool, snap.id, { schema, tables: ['orders'], where });
    expect(result.restored).toEqual([
      expect.objectContaining({ table: 'public.orders', mode: 'rows', changes: preview.tables[0]!.changes }),
    ]);
    const after = await orders();
    // In scope: exactly as in the snapshot (the deleted order 42 is back, with its generated column).
    expect(after.filter(inScope)).toEqual(then.filter(inScope));
    // Outside: exactly as just before the restore, including what was written after the snapshot.
    expect(after.filter((r) => !inScope(r))).toEqual(before.filter((r) => !inScope(r)));
    expect(after.find((r) => r.id === 5)!.note).toBe('legit');
    expect(after.some((r) => r.id === 7)).toBe(false);
    expect(after.filter((r) => r.id > 100)).toHaveLength(11);
    // User triggers did not fire.
    expect(await audits()).toBe(auditBefore);

    // The safety snapshot holds the state just before, and undoes the restore.
    const safety = (await listSnapshots(pool, { schema })).find((s) => s.id === result.safetySnapshotId)!;
    expect(safety).toMatchObject({ phase: 'restore', reason: `before restoring snapshot ${snap.id} where ${where}` });
    await restoreSnapshot(pool, result.safetySnapshotId, { schema });
    expect(await orders()).toEqual(before);
  });

  it('a row the bug made match is in scope too; rows inserted since are kept unless deleteInserted', async () => {
    const snap = await createSnapshot(pool, { schema, tables: ['orders'] });
    const then = await orders();
    await poison();
    const where = `status = 'refunded'`; // nothing matched in the snapshot
    const kept = await restoreSnapshot(pool, snap.id, { schema, tables: ['orders'], where });
    expect(kept.restored[0]!.changes).toEqual({ matching: 3, updated: 2, inserted: 0, deleted: 0, unchanged: 0, keptInserted: 1 });
    let now = await orders();
    expect(now.filter((r) => r.id === 2 || r.id === 22)).toEqual(then.filter((r) => r.id === 2 || r.id === 22));
    expect(now.filter((r) => r.status === 'refunded').map((r) => r.id)).toEqual([111]);

    const dropped = await restoreSnapshot(pool, snap.id, { schema, tables: ['orders'], where, deleteInserted: true });
    expect(dropped.restored[0]!.changes).toEqual({ matching: 1, updated: 0, inserted: 0, deleted: 1, unchanged: 0, keptInserted: 0 });
    now = await orders();
    expect(now.some((r) => r.status === 'refunded')).toBe(false);
  });

  it('a dry run of a full restore counts by primary key, and says a table without one is replaced whole', async () => {
    const snap = await createSnapshot(pool, { schema, tables: ['orders', 'nopk'] });
    await poison();
    await pool.query(`INSERT INTO nopk VALUES (2, 'y'), (3, 'z')`);
    const before = await orders();
    const preview = await previewRestore(pool, snap.id, { schema });
    expect(preview.where).toBeNull();
    expect(preview.tables).toEqual([
      {
        table: 'public.orders',
        mode: 'replace',
        rowsThen: 100,
        rowsNow: 109,
        // 2 and 22 and order 5's note changed; 7 and 42 deleted; 11 inserted since (deleted by a full restore).
        changes: { matching: 111, updated: 3, inserted: 2, deleted: 11, unchanged: 95, keptInserted: 0 },
        droppedColumns: [],
        columnsNotInSnapshot: [],
      },
      { table: 'public.nopk', mode: 'replace', rowsThen: 1, rowsNow: 3, changes: null, droppedColumns: [], columnsNotInSnapshot: [] },
    ]);
    expect(await orders()).toEqual(before);
    // And the full restore then does exactly that.
    await restoreSnapshot(pool, snap.id, { schema });
    expect((await orders()).length).toBe(100);
  });

  it('refuses bad predicates before anything changes, with PostgreSQL’s reason', async () => {
    const snap = await createSnapshot(pool, { schema, tables: ['orders', 'nopk'] });
    await poison();
    const before = await orders();
    const count = (await listSnapshots(pool, { schema })).length;
    const restore = (where: string, tables = ['orders']) => restoreSnapshot(pool, snap.id, { schema, tables, where });
    await expect(restore('nope = 1')).rejects.toThrow(/--where does not work on the snapshot's copy of public\.orders: column "nope" does not exist/);
    await expect(restore('total')).rejects.toThrow(/argument of WHERE must be type boolean/);
    await expect(restore(`true; DROP TABLE customers`)).rejects.toThrow(/--where is not a valid SQL condition: syntax error at or near ";"/);
    await expect(restore(`true); DROP TABLE customers; SELECT (true`)).rejects.toThrow(/--where must be one condition, not several statements/);
    await expect(restore('(')).rejects.toBeInstanceOf(UsageError);
    await expect(restore('  ')).rejects.toThrow(/--where is empty/);
    await expect(restoreSnapshot(pool, snap.id, { schema, where: 'true' })).rejects.toThrow(/--where needs --tables/);
    await expect(restoreSnapshot(pool, snap.id, { schema, tables: ['orders'], deleteInserted: true })).rejects.toThrow(/--delete-inserted needs --where/);
    await expect(restore('a = 1', ['nopk'])).rejects.toThrow(/row-granular restore needs a primary key: public\.nopk has none/);
    await expect(restore('1/0 = 1')).rejects.toThrow(/division by zero/);
    expect((await pool.query(`SELECT to_regclass('customers') AS t`)).rows[0].t).toBe('customers');
    // Every refusal changed nothing and left no safety snapshot.
    expect((await listSnapshots(pool, { schema })).length).toBe(count);
    expect(await orders()).toEqual(before);
  });

  it('refuses to delete inserted rows that other rows reference, and to break a foreign key', async () => {
    const snap = await createSnapshot(pool, { schema, tables: ['customers', 'orders'] });
    await pool.query(`INSERT INTO customers VALUES (11, 'new customer')`);
    await pool.query(`INSERT INTO orders (customer_id, status, total) VALUES (11, 'paid', 1)`);
    await expect(
      restoreSnapshot(pool, snap.id, { schema, tables: ['customers'], where: 'id = 11', deleteInserted: true }),
    ).rejects.toSatisfy((e: unknown) => e instanceof CurtainError && /1 row\(s\) of public\.orders reference them \(constraint orders_customer_id_fkey\)/.test(e.message));
    // Restoring a deleted customer's orders without the customer: a clear foreign key error, nothing changed.
    await pool.query(`DELETE FROM orders WHERE customer_id = 4; DELETE FROM customers WHERE id = 4`);
    await expect(restoreSnapshot(pool, snap.id, { schema, tables: ['orders'], where: 'customer_id = 4' })).rejects.toThrow(
      /restore would break a foreign key \(orders_customer_id_fkey\)/,
    );
    expect((await pool.query('SELECT count(*)::int AS n FROM orders WHERE customer_id = 4')).rows[0].n).toBe(0);
    // The parent first, then its children: each restore with the condition that fits its table.
    const parent = await restoreSnapshot(pool, snap.id, { schema, tables: ['customers'], where: 'id = 4' });
    expect(parent.restored[0]!.changes).toMatchObject({ matching: 1, inserted: 1 });
    const children = await restoreSnapshot(pool, snap.id, { schema, tables: ['orders'], where: 'orders.customer_id = 4' });
    expect(children.restored[0]!.changes).toMatchObject({ matching: 10, inserted: 10, updated: 0 });
    expect((await pool.query('SELECT count(*)::int AS n FROM orders WHERE customer_id = 4')).rows[0].n).toBe(10);
  });

  it('names the row outside the condition that a restored row would collide with', async () => {
    await pool.query(`CREATE UNIQUE INDEX customers_name_key ON customers (name)`);
    const snap = await createSnapshot(pool, { schema, tables: ['customers'] });
    await pool.query(`UPDATE customers SET name = 'renamed' WHERE id = 2; UPDATE customers SET name = 'customer 2' WHERE id = 3`);
    await expect(restoreSnapshot(pool, snap.id, { schema, tables: ['customers'], where: 'id = 2' })).rejects.toThrow(
      /a restored row collides with a row outside the condition \(unique constraint customers_name_key\): Key \(name\)=\(customer 2\) already exists/,
    );
    expect((await pool.query('SELECT name FROM customers WHERE id IN (2, 3) ORDER BY id')).rows).toEqual([{ name: 'renamed' }, { name: 'customer 2' }]);
    await restoreSnapshot(pool, snap.id, { schema, tables: ['customers'], where: 'id = 3' });
    const second = await restoreSnapshot(pool, snap.id, { schema, tables: ['customers'], where: 'id = 2' });
    expect(second.restored[0]!.changes).toMatchObject({ matching: 1, updated: 1 });
    expect((await pool.query('SELECT name FROM customers WHERE id IN (2, 3) ORDER BY id')).rows).toEqual([{ name: 'customer 2' }, { name: 'customer 3' }]);
  });
});
