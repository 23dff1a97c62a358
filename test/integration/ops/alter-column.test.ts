import fc from 'fast-check';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../../src/db/connect.js';
import { op, sql } from '../../../src/ops/index.js';
import { shadowColumn } from '../../../src/ops/alter-column.js';
import { planMigration } from '../../../src/ops/plan.js';
import { createTestDatabase, type TestDatabase } from '../../support/database.js';
import { abortProperty, DEFAULT, lifecycleProperty, readMap, type Scenario, type Side } from './harness.js';
import { abort, applySteps, contract, authority, catalogSnapshot, CURTAIN, expand } from './helpers.js';

let tdb: TestDatabase;
let conn: Database;
beforeAll(async () => {
  tdb = await createTestDatabase('alter');
  conn = await tdb.connect();
});
afterAll(() => tdb.drop());

type V = number | null;
/** A side writing `col` as `scale × value`. */
function side(col: string, scale: number): Side<V> {
  return {
    insert: (id, v) =>
      v === DEFAULT ? [`INSERT INTO app.orders (id) VALUES ($1)`, [id]] : [`INSERT INTO app.orders (id, ${col}) VALUES ($1, $2)`, [id, v === null ? null : v * scale]],
    update: (id, v) => [`UPDATE app.orders SET ${col} = $2 WHERE id = $1`, [id, v === null ? null : v * scale]],
    read: (pool: pg.Pool) => readMap(pool, `SELECT id, ${col} AS v FROM app.orders`, (r) => (r.v === null ? null : Number(r.v) / scale)),
  };
}

const setup = `CREATE TABLE app.orders (id int PRIMARY KEY, total integer DEFAULT 0, note text);
               CREATE INDEX orders_total_idx ON app.orders (total);`;
const value = fc.option(fc.integer({ min: -100_000, max: 100_000 }), { nil: null });

describe('alterColumn with a new name (two-way sync)', () => {
  const scenario: Scenario<V> = {
    schema: 'app',
    setup,
    table: 'app.orders',
    operations: () => [
      op.alterColumn('app.orders', 'total', {
        name: 'total_cents',
        type: 'bigint',
        up: sql`total::bigint * 100`,
        down: sql`(total_cents / 100)::integer`,
        default: '0',
      }),
    ],
    old: side('total', 1),
    new: side('total_cents', 100),
    both: {
      insert: (id, o, n) => [`INSERT INTO app.orders (id, total, total_cents) VALUES ($1, $2, $3)`, [id, o, n === null ? null : n * 100]],
      update: (id, o, n) => [`UPDATE app.orders SET total = $2, total_cents = $3 WHERE id = $1`, [id, o, n === null ? null : n * 100]],
    },
    value,
    defaultValue: 0,
  };
  it('keeps both representations in sync through every phase', async () => {
    await lifecycleProperty(conn.pool, scenario);
  });
  it('abort restores the exact catalog', async () => {
    await abortProperty(conn.pool, scenario);
  });
});

describe('alterColumn type change without a name (shadow swapped in on contract)', () => {
  const shadow = shadowColumn('total');
  const scenario: Scenario<V> = {
    schema: 'app',
    setup,
    table: 'app.orders',
    operations: () => [op.alterColumn('app.orders', 'total', { type: 'bigint', up: sql`total::bigint` })],
    old: side('total', 1),
    // Both old and new code write `total`; the shadow must follow.
    new: { ...side('total', 1), read: side(`"${shadow}"`, 1).read },
    contracted: side('total', 1),
    value,
    defaultValue: 0,
  };
  it('keeps the shadow in sync and swaps it in on contract', async () => {
    await lifecycleProperty(conn.pool, scenario);
    const { rows } = await conn.pool.query(
      `SELECT data_type, column_default FROM information_schema.columns WHERE table_schema = 'app' AND table_name = 'orders' AND column_name = 'total'`,
    );
    expect(rows[0]).toEqual({ data_type: 'bigint', column_default: '0' });
    const idx = await conn.pool.query(`SELECT indexdef FROM pg_indexes WHERE schemaname = 'app' AND indexname = 'orders_total_idx'`);
    expect(idx.rows[0].indexdef).toContain('(total)');
  });
  it('abort restores the exact catalog', async () => {
    await abortProperty(conn.pool, scenario);
  });
});

describe('alterColumn in place', () => {
  const reset = async (pool: pg.Pool) => {
    await pool.query(`DROP SCHEMA IF EXISTS app CASCADE; CREATE SCHEMA app;
      CREATE TABLE app.users (id int PRIMARY KEY, nick text, age int NOT NULL DEFAULT 1);
      CREATE TABLE app.teams (id int PRIMARY KEY);
      INSERT INTO app.teams VALUES (1), (2);
      INSERT INTO app.users (id, nick, age) SELECT i, 'n' || i, i FROM generate_series(1, 20) i;`);
  };
  const ops = () => [
    op.alterColumn('app.users', 'nick', { nullable: false, unique: true, check: sql`length(nick) < 10`, default: sql`'anon'` }),
    op.alterColumn('app.users', 'age', { nullable: true, references: { table: 'app.teams', column: 'id' } }),
  ];

  it('adds constraints NOT VALID in expand and validates them on contract', async () => {
    const { pool } = conn;
    await reset(pool);
    await pool.query(`UPDATE app.users SET age = 1 + id % 2`);
    const plan = await planMigration(ops(), { db: pool, migration: 'alt_inplace', flag: 'f', schema: CURTAIN });
    await expand(pool, plan, 'alt_inplace');
    await expect(pool.query(`INSERT INTO app.users (id, nick) VALUES (100, NULL)`)).rejects.toThrow(/check constraint/);
    await expect(pool.query(`INSERT INTO app.users (id, nick) VALUES (100, 'much too long')`)).rejects.toThrow(/check constraint/);
    await expect(pool.query(`INSERT INTO app.users (id, nick) VALUES (100, 'n1')`)).rejects.toThrow(/duplicate/);
    await expect(pool.query(`INSERT INTO app.users (id, nick, age) VALUES (100, 'x', 7)`)).rejects.toThrow(/foreign key/);
    await pool.query(`INSERT INTO app.users (id, nick, age) VALUES (100, 'x', NULL)`);
    await contract(pool, plan);
    const cols = await pool.query(
      `SELECT column_name, is_nullable, column_default FROM information_schema.columns WHERE table_schema = 'app' AND table_name = 'users' ORDER BY ordinal_position`,
    );
    expect(cols.rows).toEqual([
      { column_name: 'id', is_nullable: 'NO', column_default: null },
      { column_name: 'nick', is_nullable: 'NO', column_default: "'anon'::text" },
      { column_name: 'age', is_nullable: 'YES', column_default: '1' },
    ]);
    const cons = await pool.query(
      `SELECT conname, contype, convalidated FROM pg_constraint WHERE conrelid = 'app.users'::regclass AND contype <> 'n' ORDER BY conname`,
    );
    expect(cons.rows).toEqual([
      { conname: 'users_age_fkey', contype: 'f', convalidated: true },
      { conname: 'users_nick_check', contype: 'c', convalidated: true },
      { conname: 'users_nick_key', contype: 'u', convalidated: true },
      { conname: 'users_pkey', contype: 'p', convalidated: true },
    ]);
  });

  it('abort restores the exact catalog', async () => {
    const { pool } = conn;
    await reset(pool);
    const before = await catalogSnapshot(pool, 'app');
    const plan = await planMigration(ops(), { db: pool, migration: 'alt_inplace_abort', flag: 'f', schema: CURTAIN });
    await expand(pool, plan, 'alt_inplace_abort');
    await authority(pool, plan, 'new');
    await abort(pool, plan);
    expect(await catalogSnapshot(pool, 'app')).toEqual(before);
  });

  it('nullable: false with `up` fills NULLs written by old code through a shadow column', async () => {
    const { pool } = conn;
    await reset(pool);
    await pool.query(`UPDATE app.users SET nick = NULL WHERE id <= 5`);
    const plan = await planMigration([op.alterColumn('app.users', 'nick', { nullable: false, up: sql`coalesce(nick, 'anon')` })], {
      db: pool,
      migration: 'alt_up',
      flag: 'f',
      schema: CURTAIN,
    });
    await expand(pool, plan, 'alt_up');
    await pool.query(`INSERT INTO app.users (id, nick) VALUES (101, NULL), (102, 'b')`);
    await pool.query(`UPDATE app.users SET nick = NULL WHERE id = 6`);
    const shadow = shadowColumn('nick');
    const { rows } = await pool.query(`SELECT count(*)::int AS n FROM app.users WHERE "${shadow}" IS DISTINCT FROM coalesce(nick, 'anon')`);
    expect(rows[0].n).toBe(0);
    await authority(pool, plan, 'new');
    await contract(pool, plan);
    const after = await pool.query(`SELECT id, nick FROM app.users WHERE id IN (1, 6, 7, 101, 102) ORDER BY id`);
    expect(after.rows).toEqual([
      { id: 1, nick: 'anon' },
      { id: 6, nick: 'anon' },
      { id: 7, nick: 'n7' },
      { id: 101, nick: 'anon' },
      { id: 102, nick: 'b' },
    ]);
    await expect(pool.query(`INSERT INTO app.users (id, nick) VALUES (103, NULL)`)).rejects.toThrow(/null value/);
  });
});
