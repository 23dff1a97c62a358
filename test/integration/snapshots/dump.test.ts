import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSnapshot, dropSnapshot, getSnapshot, listSnapshots, restoreSnapshot } from '../../../src/snapshots/index.js';
import { findPgTools, serverMajor } from '../../../src/snapshots/pg-tools.js';
import { ensureStore } from '../../../src/store/store.js';
import { createTestDatabase, type TestDatabase } from '../../support/database.js';

const schema = 'curtain';

describe('dump snapshots', () => {
  let tdb: TestDatabase;
  let pool: pg.Pool;
  let dir: string;
  let compatible: boolean;
  let major: number;
  const rows = async (table: string) => (await pool.query(`SELECT * FROM ${table} ORDER BY 1`)).rows;

  beforeAll(async () => {
    tdb = await createTestDatabase('snapdump');
    pool = (await tdb.connect()).pool;
    await ensureStore(pool, schema);
    await pool.query(`
      CREATE TABLE users (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, email text NOT NULL);
      CREATE TABLE orders (id serial PRIMARY KEY, user_id int REFERENCES users (id), total int);
      INSERT INTO users (email) SELECT 'u' || i FROM generate_series(1, 30) i;
      INSERT INTO orders (user_id, total) SELECT 1 + i % 30, i FROM generate_series(1, 60) i;`);
    dir = mkdtempSync(path.join(os.tmpdir(), 'curtain-dump-'));
    major = await serverMajor(pool);
    compatible = findPgTools('pg_dump').some((t) => t.major >= major) && findPgTools('pg_restore').some((t) => t.major >= major);
  });
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await tdb.drop();
  });

  it('without a compatible pg_dump, refuses clearly and leaves nothing behind', async (ctx) => {
    if (compatible) ctx.skip();
    const err = await createSnapshot(pool, { schema, strategy: 'dump', dir }).catch((e: unknown) => e as Error & { hint?: string });
    expect((err as Error).message).toContain(`the dump strategy needs pg_dump ${major} or newer for this PostgreSQL ${major} server`);
    expect((err as { hint?: string }).hint).toContain('--strategy tables');
    expect(await listSnapshots(pool, { schema })).toEqual([]);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('dumps the tables, restores them in one transaction, and the restore can be undone', async (ctx) => {
    if (!compatible) ctx.skip();
    const users = await rows('users');
    const orders = await rows('orders');
    const snap = await createSnapshot(pool, { schema, strategy: 'dump', tables: ['users', 'orders'], dir, reason: 'dump test' });
    expect(snap).toMatchObject({ strategy: 'dump', status: 'complete', location: path.join(dir, `${snap.id}.dump`) });
    expect(snap.tables.map((t) => [t.name, t.rows])).toEqual([
      ['users', 30],
      ['orders', 60],
    ]);
    expect(existsSync(snap.location)).toBe(true);

    await pool.query(`DELETE FROM orders WHERE id > 10; UPDATE users SET email = 'poisoned'`);
    const poisoned = { users: await rows('users'), orders: await rows('orders') };
    const result = await restoreSnapshot(pool, snap.id, { schema, dir });
    expect(await rows('users')).toEqual(users);
    expect(await rows('orders')).toEqual(orders);
    const next = await pool.query(`INSERT INTO users (email) VALUES ('new') RETURNING id`);
    expect(next.rows[0].id).toBe(31);
    await pool.query(`DELETE FROM users WHERE id = 31`);

    const safety = await getSnapshot(pool, result.safetySnapshotId, { schema });
    expect(safety).toMatchObject({ strategy: 'dump', phase: 'restore' });
    await restoreSnapshot(pool, safety.id, { schema, dir });
    expect(await rows('users')).toEqual(poisoned.users);
    expect(await rows('orders')).toEqual(poisoned.orders);

    await dropSnapshot(pool, snap.id, { schema });
    expect(existsSync(snap.location)).toBe(false);
    await expect(restoreSnapshot(pool, safety.id, { schema, tables: ['users'] })).rejects.toThrow('a dump snapshot restores as a whole');
  });

  it('a failed pg_dump leaves no record and no file', async (ctx) => {
    if (!compatible) ctx.skip();
    const before = (await listSnapshots(pool, { schema })).length;
    const files = readdirSync(dir);
    const url = new URL(tdb.url);
    url.pathname = '/curtain_no_such_database';
    await expect(createSnapshot(pool, { schema, strategy: 'dump', tables: ['users'], dir, url: url.toString() })).rejects.toThrow(/pg_dump failed/);
    expect(await listSnapshots(pool, { schema })).toHaveLength(before);
    expect(readdirSync(dir)).toEqual(files);
  });
});
