import fc from 'fast-check';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../../src/db/connect.js';
import { op, sql } from '../../../src/ops/index.js';
import { planMigration } from '../../../src/ops/plan.js';
import { createTestDatabase, type TestDatabase } from '../../support/database.js';
import { abortProperty, DEFAULT, lifecycleProperty, readMap, type Scenario, type Side } from './harness.js';
import { abort, applySteps, contract, authority, catalogSnapshot, CURTAIN, expand } from './helpers.js';

let tdb: TestDatabase;
let conn: Database;
beforeAll(async () => {
  tdb = await createTestDatabase('addcol');
  conn = await tdb.connect();
});
afterAll(() => tdb.drop());

/** A name: null, or first and last (no spaces, non-empty). */
type Name = [string, string] | null;
const word = fc.constantFrom('ann', 'bo', "o'neil", 'zoë', 'x');

const oldSide: Side<Name> = {
  insert: (id, v) =>
    v === DEFAULT ? [`INSERT INTO app.users (id) VALUES ($1)`, [id]] : [`INSERT INTO app.users (id, full_name) VALUES ($1, $2)`, [id, v && v.join(' ')]],
  update: (id, v) => [`UPDATE app.users SET full_name = $2 WHERE id = $1`, [id, v && v.join(' ')]],
  read: (pool: pg.Pool) =>
    readMap(pool, `SELECT id, full_name FROM app.users`, (r) => (r.full_name === null ? null : ((r.full_name as string).split(' ') as [string, string]))),
};
const newSide: Side<Name> = {
  insert: (id, v) =>
    v === DEFAULT
      ? [`INSERT INTO app.users (id) VALUES ($1)`, [id]]
      : [`INSERT INTO app.users (id, first_name, last_name) VALUES ($1, $2, $3)`, [id, v?.[0] ?? null, v?.[1] ?? null]],
  update: (id, v) => [`UPDATE app.users SET first_name = $2, last_name = $3 WHERE id = $1`, [id, v?.[0] ?? null, v?.[1] ?? null]],
  read: (pool: pg.Pool) =>
    readMap(pool, `SELECT id, first_name, last_name FROM app.users`, (r) =>
      r.first_name === null && r.last_name === null ? null : [r.first_name as string, r.last_name as string],
    ),
};

const scenario: Scenario<Name> = {
  schema: 'app',
  setup: `CREATE TABLE app.users (id int PRIMARY KEY, full_name text, age int)`,
  table: 'app.users',
  operations: () => [
    op.addColumn('app.users', { name: 'first_name', type: 'text', up: sql`split_part(full_name, ' ', 1)` }),
    op.addColumn('app.users', { name: 'last_name', type: 'text', up: sql`split_part(full_name, ' ', 2)` }),
    op.dropColumn('app.users', 'full_name', { down: sql`first_name || ' ' || last_name` }),
  ],
  old: oldSide,
  new: newSide,
  value: fc.option(fc.tuple(word, word), { nil: null }),
  defaultValue: null,
};

describe('addColumn + dropColumn (split a column in two)', () => {
  it('keeps full_name and first/last in sync through every phase, with one trigger', async () => {
    await lifecycleProperty(conn.pool, scenario);
    const { rows } = await conn.pool.query(`SELECT column_name FROM information_schema.columns WHERE table_schema = 'app' AND table_name = 'users' ORDER BY ordinal_position`);
    expect(rows.map((r) => r.column_name)).toEqual(['id', 'age', 'first_name', 'last_name']);
  });
  it('abort restores the exact catalog', async () => {
    await abortProperty(conn.pool, scenario);
  });
  it('plans one trigger for the three operations on the table', async () => {
    await conn.pool.query(`DROP SCHEMA IF EXISTS app CASCADE; CREATE SCHEMA app; ${scenario.setup}`);
    const plan = await planMigration(scenario.operations(), { db: conn.pool, migration: 'split', flag: 'f', schema: CURTAIN });
    expect(plan.expand.filter((s) => s.sql.startsWith('CREATE TRIGGER'))).toHaveLength(1);
    expect(plan.backfill).toHaveLength(1);
    expect(Object.keys(plan.backfill[0]!.set)).toEqual(['first_name', 'last_name']);
  });
});

describe('addColumn', () => {
  const reset = (pool: pg.Pool) =>
    pool.query(`DROP SCHEMA IF EXISTS app CASCADE; CREATE SCHEMA app;
      CREATE TABLE app.items (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, price int NOT NULL, qty int NOT NULL DEFAULT 1);
      INSERT INTO app.items (price, qty) SELECT i, i % 3 FROM generate_series(1, 25) i;`);

  it('fills from `up` (backfill and old writers), constant and volatile defaults, NOT NULL and unique on contract', async () => {
    const { pool } = conn;
    await reset(pool);
    const before = await catalogSnapshot(pool, 'app');
    const ops = () => [
      op.addColumn('app.items', { name: 'amount', type: 'bigint', nullable: false, up: sql`price * qty` }),
      op.addColumn('app.items', { name: 'currency', type: 'text', nullable: false, default: sql`'EUR'` }),
      op.addColumn('app.items', { name: 'token', type: 'uuid', default: sql`gen_random_uuid()`, unique: true }),
    ];
    const plan = await planMigration(ops(), { db: pool, migration: 'add1', flag: 'f', schema: CURTAIN });
    await expand(pool, plan, 'add1');
    await pool.query(`INSERT INTO app.items (price, qty) VALUES (7, 3)`); // old code
    await pool.query(`UPDATE app.items SET qty = 10 WHERE id = 1`); // old code
    // New code supplies amount itself: price and qty are shared columns every writer supplies, not an
    // old representation, so the value it wrote is kept even while the old side is authoritative.
    await pool.query(`INSERT INTO app.items (price, qty, amount, currency) VALUES (2, 2, 99, 'USD')`);
    const { rows } = await pool.query(`SELECT id, amount, currency, token IS NOT NULL AS has_token FROM app.items WHERE id IN (1, 2, 26, 27) ORDER BY id`);
    expect(rows).toEqual([
      { id: 1, amount: 10, currency: 'EUR', has_token: true },
      { id: 2, amount: 4, currency: 'EUR', has_token: true },
      { id: 26, amount: 21, currency: 'EUR', has_token: true },
      { id: 27, amount: 99, currency: 'USD', has_token: true },
    ]);
    const distinct = await pool.query(`SELECT count(DISTINCT token)::int AS n, count(*)::int AS total FROM app.items`);
    expect(distinct.rows[0].n).toBe(distinct.rows[0].total);
    await authority(pool, plan, 'new');
    await pool.query(`INSERT INTO app.items (price, qty, amount) VALUES (2, 2, 99)`);
    await pool.query(`UPDATE app.items SET qty = 5, amount = 1 WHERE id = 2`);
    const switched = await pool.query(`SELECT id, amount FROM app.items WHERE id IN (2, 28) ORDER BY id`);
    expect(switched.rows).toEqual([{ id: 2, amount: 1 }, { id: 28, amount: 99 }]);
    await contract(pool, plan);
    const cols = await pool.query(
      `SELECT column_name, is_nullable FROM information_schema.columns WHERE table_schema = 'app' AND table_name = 'items' ORDER BY ordinal_position`,
    );
    expect(cols.rows).toEqual([
      { column_name: 'id', is_nullable: 'NO' },
      { column_name: 'price', is_nullable: 'NO' },
      { column_name: 'qty', is_nullable: 'NO' },
      { column_name: 'amount', is_nullable: 'NO' },
      { column_name: 'currency', is_nullable: 'NO' },
      { column_name: 'token', is_nullable: 'YES' },
    ]);
    const cons = await pool.query(`SELECT conname FROM pg_constraint WHERE conrelid = 'app.items'::regclass AND contype = 'u'`);
    expect(cons.rows).toEqual([{ conname: 'items_token_key' }]);
    const trg = await pool.query(`SELECT count(*)::int AS n FROM pg_trigger WHERE tgrelid = 'app.items'::regclass AND NOT tgisinternal`);
    expect(trg.rows[0].n).toBe(0);

    await reset(pool);
    const plan2 = await planMigration(ops(), { db: pool, migration: 'add2', flag: 'f', schema: CURTAIN });
    await expand(pool, plan2, 'add2');
    await abort(pool, plan2);
    expect(await catalogSnapshot(pool, 'app')).toEqual(before);
  });
});

describe('expressions with subqueries', () => {
  it('resolve names like SQL does (innermost table first) in the trigger and in the backfill', async () => {
    const { pool } = conn;
    await pool.query(`DROP SCHEMA IF EXISTS app CASCADE; CREATE SCHEMA app;
      CREATE TABLE app.teams (id int PRIMARY KEY, name text);
      CREATE TABLE app.users (id int PRIMARY KEY, name text, team int);
      INSERT INTO app.teams VALUES (1, 'red'), (2, 'blue');
      INSERT INTO app.users VALUES (1, 'ann', 1);`);
    const plan = await planMigration(
      [op.addColumn('app.users', { name: 'team_name', type: 'text', up: sql`(SELECT name FROM app.teams t WHERE t.id = team)` })],
      { db: pool, migration: 'subq', flag: 'f', schema: CURTAIN },
    );
    await expand(pool, plan, 'subq');
    await pool.query(`INSERT INTO app.users VALUES (2, 'bo', 2)`);
    await pool.query(`UPDATE app.users SET team = 2 WHERE id = 1`);
    const { rows } = await pool.query(`SELECT id, team_name FROM app.users ORDER BY id`);
    expect(rows).toEqual([{ id: 1, team_name: 'blue' }, { id: 2, team_name: 'blue' }]);
  });
});

describe('a NOT NULL column while the backfill has not reached every row', () => {
  it('lets old code update other columns of rows not yet backfilled', async () => {
    await conn.pool.query(`CREATE SCHEMA nn; CREATE TABLE nn.people (id int PRIMARY KEY, full_name text NOT NULL, age int);
      INSERT INTO nn.people SELECT i, 'p ' || i, i FROM generate_series(1, 20) i`);
    const plan = await planMigration([op.addColumn('nn.people', { name: 'first', type: 'text', nullable: false, up: sql`split_part(full_name, ' ', 1)` })], {
      db: conn.pool,
      migration: 'nn',
      flag: 'nn',
      schema: CURTAIN,
    });
    await applySteps(conn.pool, plan.expand); // expand's DDL only: no row is backfilled yet
    await conn.pool.query(`UPDATE nn.people SET age = age + 1`); // old code, touching neither side
    for (const task of plan.backfill) {
      const { runBackfill } = await import('../../../src/backfill/index.js');
      await runBackfill(conn.pool, task, { schema: CURTAIN, migration: 'nn' });
    }
    await applySteps(conn.pool, plan.afterBackfill);
    const { rows } = await conn.pool.query(`SELECT count(*)::int AS n FROM nn.people WHERE first IS NULL OR age <> id + 1`);
    expect(rows[0].n).toBe(0);
    await expect(conn.pool.query(`INSERT INTO nn.people (id, full_name, first) VALUES (99, 'x y', NULL)`)).resolves.toBeDefined(); // the trigger fills it
    await expect(conn.pool.query(`UPDATE nn.people SET first = NULL WHERE id = 1`)).rejects.toThrow(/check constraint/);
  });
});
