import type pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from '../../../src/db/connect.js';
import {
  createSnapshot,
  diffSnapshot,
  dropSnapshot,
  getSnapshot,
  listSnapshots,
  pruneSnapshots,
  restoreSnapshot,
} from '../../../src/snapshots/index.js';
import { ensureStore } from '../../../src/store/store.js';
import { createTestDatabase, type TestDatabase } from '../../support/database.js';

const schema = 'curtain';

/** Parent/child with identity and serial keys, plus a dual-write-style trigger that rewrites `name`. */
const SETUP = `
DROP TABLE IF EXISTS orders, users, profiles CASCADE;
DROP SCHEMA IF EXISTS curtain_snapshots CASCADE;
TRUNCATE curtain.snapshots;
CREATE TABLE users (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, email text NOT NULL UNIQUE, name text, meta json);
CREATE TABLE orders (id bigserial PRIMARY KEY, user_id int NOT NULL REFERENCES users (id), total numeric(10,2) NOT NULL);
CREATE TABLE profiles (user_email text PRIMARY KEY, bio text NOT NULL, born date, score text,
  bio_len int GENERATED ALWAYS AS (length(bio)) STORED);
CREATE FUNCTION curtain_rewrite_name() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN NEW.name := 'REWRITTEN'; RETURN NEW; END $$;
CREATE TRIGGER curtain_users_dual_write BEFORE INSERT OR UPDATE ON users FOR EACH ROW EXECUTE FUNCTION curtain_rewrite_name();
ALTER TABLE users DISABLE TRIGGER curtain_users_dual_write;
INSERT INTO users (email, name, meta) SELECT 'u' || i || '@x.test', 'User ' || i, json_build_object('i', i) FROM generate_series(1, 50) i;
INSERT INTO orders (user_id, total) SELECT 1 + (i % 40), i * 1.5 FROM generate_series(1, 200) i;
INSERT INTO profiles SELECT 'u' || i || '@x.test', 'bio ' || i, date '2000-01-01' + i, (i * 10)::text FROM generate_series(1, 20) i;
ALTER TABLE users ENABLE TRIGGER curtain_users_dual_write;
`;

describe('tables snapshots', () => {
  let tdb: TestDatabase;
  let conn: Database;
  let pool: pg.Pool;
  const rows = async (table: string) => (await pool.query(`SELECT * FROM ${table} ORDER BY 1`)).rows;

  beforeAll(async () => {
    tdb = await createTestDatabase('snaptables');
    conn = await tdb.connect();
    pool = conn.pool;
    await ensureStore(pool, schema);
  });
  afterAll(() => tdb.drop());
  beforeEach(async () => {
    await pool.query('DROP FUNCTION IF EXISTS curtain_rewrite_name() CASCADE');
    await pool.query(SETUP);
  });

  it('records copies, row counts, sizes, checksums and columns in one consistent snapshot', async () => {
    const snap = await createSnapshot(pool, { schema, tables: ['users', 'public.orders'], reason: 'test', actor: 'tester' });
    expect(snap).toMatchObject({ strategy: 'tables', status: 'complete', reason: 'test', actor: 'tester', location: 'curtain_snapshots' });
    expect(snap.tables.map((t) => [t.name, t.rows])).toEqual([
      ['users', 50],
      ['orders', 200],
    ]);
    const users = snap.tables[0]!;
    expect(users.bytes).toBeGreaterThan(0);
    expect(users.checksum).toMatch(/^r1:-?\d+$/);
    expect(users.columns.map((c) => [c.name, c.type, c.identity])).toEqual([
      ['id', 'integer', 'a'],
      ['email', 'text', ''],
      ['name', 'text', ''],
      ['meta', 'json', ''],
    ]);
    // The copy exists in the snapshot schema with the same rows.
    const copy = await pool.query(`SELECT count(*)::int AS n FROM curtain_snapshots.${JSON.stringify(users.copy!.name)}`);
    expect(copy.rows[0].n).toBe(50);
    expect(await getSnapshot(pool, snap.id, { schema })).toEqual(snap);
    expect((await listSnapshots(pool, { schema })).map((s) => s.id)).toEqual([snap.id]);
    // Unchanged data: the same checksum when nothing changed.
    const diff = await diffSnapshot(pool, snap.id, { schema });
    expect(diff.tables.every((t) => !t.changed && t.checksumNow === t.checksumThen)).toBe(true);
  });

  it('snapshots every user table by default, never its own', async () => {
    const first = await createSnapshot(pool, { schema });
    const second = await createSnapshot(pool, { schema });
    expect(second.tables.map((t) => `${t.schema}.${t.name}`)).toEqual(['public.orders', 'public.profiles', 'public.users']);
    expect(first.tables).toHaveLength(3);
  });

  it('round-trips parent and child tables with identity and serial keys, without firing user triggers', async () => {
    const users = await rows('users');
    const orders = await rows('orders');
    const snap = await createSnapshot(pool, { schema, tables: ['users', 'orders'] });
    await pool.query(`DELETE FROM orders WHERE id > 100`);
    await pool.query(`UPDATE users SET email = 'x' || email`);
    await pool.query(`INSERT INTO users (email) VALUES ('late@x.test')`);
    await pool.query(`INSERT INTO orders (user_id, total) VALUES (51, 1)`);

    const result = await restoreSnapshot(pool, snap.id, { schema, actor: 'tester' });
    expect(result.restored.map((r) => [r.table, r.rows, r.mode])).toEqual([
      ['public.users', 50, 'replace'],
      ['public.orders', 200, 'replace'],
    ]);
    expect(await rows('users')).toEqual(users); // names not rewritten by the trigger
    expect(await rows('orders')).toEqual(orders);
    // The trigger is enabled again, exactly as before.
    const trig = await pool.query(`SELECT tgenabled FROM pg_trigger WHERE tgname = 'curtain_users_dual_write'`);
    expect(trig.rows[0].tgenabled).toBe('O');
    // Sequences never go backwards: ids handed out since the snapshot are not reused.
    const next = await pool.query(`INSERT INTO users (email) VALUES ('new@x.test') RETURNING id, name`);
    expect(next.rows[0]).toEqual({ id: 52, name: 'REWRITTEN' });
    const nextOrder = await pool.query(`INSERT INTO orders (user_id, total) VALUES (1, 1) RETURNING id`);
    expect(Number(nextOrder.rows[0].id)).toBe(202);
    expect((await diffSnapshot(pool, snap.id, { schema })).tables.map((t) => t.rowsNow)).toEqual([51, 201]);
  });

  it('moves sequences up to the restored maximum when they were reset', async () => {
    const snap = await createSnapshot(pool, { schema, tables: ['orders'] });
    await pool.query(`TRUNCATE orders RESTART IDENTITY`);
    await restoreSnapshot(pool, snap.id, { schema });
    const next = await pool.query(`INSERT INTO orders (user_id, total) VALUES (1, 1) RETURNING id`);
    expect(Number(next.rows[0].id)).toBe(201);
  });

  describe('poisoned data', () => {
    it('restores exactly the earlier rows of one table, leaves the others untouched, and can be undone', async () => {
      const goodUsers = await rows('users');
      const snap = await createSnapshot(pool, { schema, tables: ['users', 'orders', 'profiles'], reason: 'before switch' });
      // A buggy writer corrupts users; meanwhile orders legitimately get new rows.
      await pool.query(`ALTER TABLE users DISABLE TRIGGER curtain_users_dual_write`);
      await pool.query(`UPDATE users SET email = 'poisoned-' || id, meta = '{"bad":true}' WHERE id % 3 = 0`);
      await pool.query(`DELETE FROM users WHERE id = 49`);
      await pool.query(`ALTER TABLE users ENABLE TRIGGER curtain_users_dual_write`);
      await pool.query(`INSERT INTO orders (user_id, total) VALUES (2, 99.99)`);
      const poisonedUsers = await rows('users');
      const ordersNow = await rows('orders');
      const profilesNow = await rows('profiles');
      const diff = await diffSnapshot(pool, snap.id, { schema });
      expect(diff.tables.map((t) => [t.table, t.changed])).toEqual([
        ['public.users', true],
        ['public.orders', true],
        ['public.profiles', false],
      ]);

      const result = await restoreSnapshot(pool, snap.id, { schema, tables: ['users'] });
      // orders references users and is not restored: users is merged by primary key, not truncated.
      expect(result.restored).toEqual([
        { table: 'public.users', rows: 50, mode: 'merge', readdedColumns: [], columnsNotInSnapshot: [] },
      ]);
      expect(await rows('users')).toEqual(goodUsers);
      expect(await rows('orders')).toEqual(ordersNow);
      expect(await rows('profiles')).toEqual(profilesNow);

      // The restore is undoable: its safety snapshot holds the poisoned state.
      const safety = await getSnapshot(pool, result.safetySnapshotId, { schema });
      expect(safety).toMatchObject({ strategy: 'tables', status: 'complete', phase: 'restore', reason: `before restoring snapshot ${snap.id}` });
      expect(safety.tables.map((t) => [t.name, t.rows])).toEqual([['users', 49]]);
      const undo = await restoreSnapshot(pool, result.safetySnapshotId, { schema });
      expect(await rows('users')).toEqual(poisonedUsers);
      expect(await rows('orders')).toEqual(ordersNow);
      expect(undo.safetySnapshotId).not.toBe(result.safetySnapshotId);
    });

    it('refuses, naming the constraint, when an outside row references a row the snapshot lacks, and changes nothing', async () => {
      const snap = await createSnapshot(pool, { schema, tables: ['users'] });
      await pool.query(`INSERT INTO users (email) VALUES ('late@x.test')`);
      await pool.query(`INSERT INTO orders (user_id, total) VALUES (51, 5)`);
      await pool.query(`UPDATE users SET email = 'changed' WHERE id = 1`);
      const before = await rows('users');
      const count = (await listSnapshots(pool, { schema })).length;
      await expect(restoreSnapshot(pool, snap.id, { schema })).rejects.toThrow(
        /cannot restore public\.users on its own: 1 row\(s\) of public\.orders \(constraint orders_user_id_fkey\)/,
      );
      expect(await rows('users')).toEqual(before);
      expect(await listSnapshots(pool, { schema })).toHaveLength(count); // no safety snapshot left behind
    });

    it('restoring parent and child together replaces both', async () => {
      const snap = await createSnapshot(pool, { schema, tables: ['users', 'orders'] });
      const users = await rows('users');
      await pool.query(`INSERT INTO users (email) VALUES ('late@x.test')`);
      await pool.query(`INSERT INTO orders (user_id, total) VALUES (51, 5)`);
      const result = await restoreSnapshot(pool, snap.id, { schema, tables: ['orders', 'users'] });
      expect(result.restored.map((r) => r.mode)).toEqual(['replace', 'replace']);
      expect(await rows('users')).toEqual(users);
    });
  });

  describe('dropped columns', () => {
    it('brings a column dropped after the snapshot back, with its data (merged table)', async () => {
      const before = await rows('users');
      const snap = await createSnapshot(pool, { schema, tables: ['users'] });
      await pool.query(`ALTER TABLE users DROP COLUMN name`);
      const result = await restoreSnapshot(pool, snap.id, { schema, tables: ['users'] });
      expect(result.restored[0]).toMatchObject({ mode: 'merge', readdedColumns: ['name'] });
      expect(await rows('users')).toEqual(before);
    });

    it('brings NOT NULL and generated columns back (replaced table), and reports columns added since', async () => {
      const before = await rows('profiles');
      const snap = await createSnapshot(pool, { schema, tables: ['profiles'] });
      await pool.query(`ALTER TABLE profiles DROP COLUMN bio CASCADE`); // takes bio_len with it
      await pool.query(`ALTER TABLE profiles ADD COLUMN bio_v2 text DEFAULT 'n/a'`);
      const result = await restoreSnapshot(pool, snap.id, { schema, tables: ['profiles'] });
      expect(result.restored[0]).toMatchObject({ mode: 'replace', readdedColumns: ['bio', 'bio_len'], columnsNotInSnapshot: ['bio_v2'] });
      const after = (await pool.query(`SELECT user_email, bio, born, score, bio_len FROM profiles ORDER BY 1`)).rows;
      expect(after).toEqual(before);
      const attrs = await pool.query(
        `SELECT attname, attnotnull, attgenerated FROM pg_attribute WHERE attrelid = 'profiles'::regclass AND attname IN ('bio', 'bio_len') ORDER BY 1`,
      );
      expect(attrs.rows).toEqual([
        { attname: 'bio', attnotnull: true, attgenerated: '' },
        { attname: 'bio_len', attnotnull: false, attgenerated: 's' },
      ]);
      const diff = await diffSnapshot(pool, snap.id, { schema });
      expect(diff.tables[0]).toMatchObject({ changed: false, addedColumns: ['bio_v2'], droppedColumns: [] });
    });
  });

  it('casts columns whose type changed since the snapshot', async () => {
    const snap = await createSnapshot(pool, { schema, tables: ['profiles'] });
    await pool.query(`ALTER TABLE profiles ALTER COLUMN score TYPE int USING score::int`);
    await pool.query(`UPDATE profiles SET score = -1`);
    await restoreSnapshot(pool, snap.id, { schema });
    const { rows: after } = await pool.query(`SELECT sum(score)::int AS total, pg_typeof(min(score))::text AS type FROM profiles`);
    expect(after[0]).toEqual({ total: 2100, type: 'integer' });
  });

  it('reports changed rows even when the row count is the same', async () => {
    const snap = await createSnapshot(pool, { schema, tables: ['profiles'] });
    await pool.query(`UPDATE profiles SET bio = 'x' WHERE user_email = 'u1@x.test'`);
    const diff = await diffSnapshot(pool, snap.id, { schema });
    expect(diff.tables[0]).toMatchObject({ rowsThen: 20, rowsNow: 20, changed: true });
    expect(diff.tables[0]!.checksumNow).not.toBe(diff.tables[0]!.checksumThen);
  });

  it('sees a change in a column whose type has no hash function (json: hashed as its text)', async () => {
    const snap = await createSnapshot(pool, { schema, tables: ['users'] });
    await pool.query(`UPDATE users SET meta = '{"i": 1, "changed": true}' WHERE id = 1`);
    const diff = await diffSnapshot(pool, snap.id, { schema });
    expect(diff.tables[0]).toMatchObject({ rowsThen: 50, rowsNow: 50, changed: true });
  });

  it('sees changes that keep a value equal but not the same (numeric scale, interval spelling, array shape)', async () => {
    await pool.query(`DROP TABLE IF EXISTS measures; CREATE TABLE measures (id int PRIMARY KEY, amount numeric, span interval, grid int[]);
      INSERT INTO measures VALUES (1, 1.0, '1 day', '{1,2,3,4}'), (2, 2.5, '2 hours', '{5,6}')`);
    const snap = await createSnapshot(pool, { schema, tables: ['measures'] });
    for (const change of [`amount = 1.00`, `span = '24 hours'`, `grid = '{{1,2},{3,4}}'`]) {
      await pool.query(`UPDATE measures SET ${change} WHERE id = 1`);
      // Equal to what it was (=), yet a different value: the checksum must see it.
      expect((await diffSnapshot(pool, snap.id, { schema })).tables[0]!.changed, change).toBe(true);
      await pool.query(`UPDATE measures SET amount = 1.0, span = '1 day', grid = '{1,2,3,4}' WHERE id = 1`);
      expect((await diffSnapshot(pool, snap.id, { schema })).tables[0]!.changed, `${change} undone`).toBe(false);
    }
    await pool.query('DROP TABLE measures');
  });

  it('compares a checksum recorded by the earlier text algorithm like for like', async () => {
    const snap = await createSnapshot(pool, { schema, tables: ['profiles'] });
    // What a snapshot taken before the record hash recorded: sum of hashes of the row's text.
    const cols = snap.tables[0]!.columns.map((c) => JSON.stringify(c.name)).join(', ');
    const { rows: old } = await pool.query<{ sum: string }>(
      `BEGIN; SET LOCAL TimeZone = 'UTC'; SET LOCAL DateStyle = 'ISO, MDY'; SELECT sum(hashtextextended(ROW(${cols})::text, 0))::text AS sum FROM profiles; COMMIT`,
    ).then((r) => (r as unknown as pg.QueryResult<{ sum: string }>[])[3]!);
    const tables = snap.tables.map((t) => ({ ...t, checksum: old[0]!.sum }));
    await pool.query(`UPDATE ${schema}.snapshots SET tables = $2::jsonb WHERE id = $1`, [snap.id, JSON.stringify(tables)]);
    const same = await diffSnapshot(pool, snap.id, { schema });
    expect(same.tables[0]).toMatchObject({ changed: false, checksumNow: old[0]!.sum });
    await pool.query(`UPDATE profiles SET score = 'x' WHERE user_email = 'u2@x.test'`);
    expect((await diffSnapshot(pool, snap.id, { schema })).tables[0]!.changed).toBe(true);
  });

  it('names unknown tables and unknown ids', async () => {
    await expect(createSnapshot(pool, { schema, tables: ['users', 'nope'] })).rejects.toThrow('no such table: public.nope');
    await expect(getSnapshot(pool, 'missing', { schema })).rejects.toThrow('no snapshot with id "missing"');
    const snap = await createSnapshot(pool, { schema, tables: ['users'] });
    await expect(restoreSnapshot(pool, snap.id, { schema, tables: ['orders'] })).rejects.toThrow(`snapshot ${snap.id} has no table "orders"`);
  });

  it('drops and prunes snapshots with their copies', async () => {
    const a = await createSnapshot(pool, { schema, tables: ['users'] });
    const b = await createSnapshot(pool, { schema, tables: ['users', 'orders'] });
    const c = await createSnapshot(pool, { schema, tables: ['profiles'] });
    const copies = async () =>
      (await pool.query(`SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'curtain_snapshots'`)).rows[0].n as number;
    expect(await copies()).toBe(4);
    await dropSnapshot(pool, b.id, { schema });
    expect(await copies()).toBe(2);
    expect(await pruneSnapshots(pool, { schema, olderThanMs: 3_600_000 })).toEqual([]);
    expect(await pruneSnapshots(pool, { schema, keep: 1 })).toEqual([a.id]);
    expect((await listSnapshots(pool, { schema })).map((s) => s.id)).toEqual([c.id]);
    expect(await copies()).toBe(1);
    expect(await pruneSnapshots(pool, { schema, olderThanMs: 0, now: new Date(Date.now() + 1000) })).toEqual([c.id]);
    expect(await copies()).toBe(0);
    await expect(dropSnapshot(pool, a.id, { schema })).rejects.toThrow(`no snapshot with id "${a.id}"`);
  });
});
