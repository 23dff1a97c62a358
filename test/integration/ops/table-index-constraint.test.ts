import fc from 'fast-check';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../../src/db/connect.js';
import { op, sql } from '../../../src/ops/index.js';
import type { Operation } from '../../../src/ops/operation.js';
import { planMigration } from '../../../src/ops/plan.js';
import { createTestDatabase, type TestDatabase } from '../../support/database.js';
import { abortProperty, DEFAULT, lifecycleProperty, readMap, type Scenario, type Side } from './harness.js';
import { abort, applySteps, contract, authority, catalogSnapshot, CURTAIN, expand } from './helpers.js';

let tdb: TestDatabase;
let conn: Database;
beforeAll(async () => {
  tdb = await createTestDatabase('tables');
  conn = await tdb.connect();
});
afterAll(() => tdb.drop());

const base = `DROP SCHEMA IF EXISTS app CASCADE; CREATE SCHEMA app;
  CREATE TABLE app.users (id int PRIMARY KEY, email text, team int);
  CREATE TABLE app.teams (id int PRIMARY KEY, name text NOT NULL DEFAULT 'none');
  CREATE INDEX users_team_idx ON app.users (team);
  INSERT INTO app.teams (id) VALUES (1), (2);
  INSERT INTO app.users SELECT i, 'e' || i, 1 + i % 2 FROM generate_series(1, 10) i;`;

let n = 0;
/** expand → contract, and separately expand → abort == catalog before. */
async function lifecycle(pool: pg.Pool, ops: () => Operation[], during: () => Promise<void>, after: () => Promise<void>) {
  await pool.query(base);
  const before = await catalogSnapshot(pool, 'app');
  const m = `t${++n}`;
  const plan = await planMigration(ops(), { db: pool, migration: m, flag: m, schema: CURTAIN });
  await expand(pool, plan, m);
  await during();
  await authority(pool, plan, 'new');
  await contract(pool, plan);
  await after();

  await pool.query(base);
  const m2 = `t${++n}`;
  const plan2 = await planMigration(ops(), { db: pool, migration: m2, flag: m2, schema: CURTAIN });
  await expand(pool, plan2, m2);
  await abort(pool, plan2);
  expect(await catalogSnapshot(pool, 'app')).toEqual(before);
}

const count = async (pool: pg.Pool, q: string) => (await pool.query(q)).rows[0].n as number;

describe('table, index and constraint operations', () => {
  it('createTable', async () => {
    const { pool } = conn;
    await lifecycle(
      pool,
      () => [
        op.createTable('app.orders', {
          columns: [
            { name: 'id', type: 'bigint', primaryKey: true, identity: 'always' },
            { name: 'user_id', type: 'int', nullable: false, references: { table: 'app.users', column: 'id', onDelete: 'CASCADE' } },
            { name: 'total', type: 'numeric(10,2)', default: '0', check: sql`total >= 0` },
            { name: 'ref', type: 'text', unique: true },
          ],
        }),
        op.createIndex('app.orders', { columns: ['user_id'] }),
      ],
      async () => {
        await pool.query(`INSERT INTO app.orders (user_id, ref) VALUES (1, 'a')`);
        await expect(pool.query(`INSERT INTO app.orders (user_id, total) VALUES (1, -1)`)).rejects.toThrow(/check/);
        expect(await count(pool, `SELECT count(*)::int AS n FROM pg_indexes WHERE indexname = 'orders_user_id_idx'`)).toBe(1);
      },
      async () => {
        expect(await count(pool, `SELECT count(*)::int AS n FROM app.orders`)).toBe(1);
      },
    );
  });

  it('dropTable leaves the table to old code until contract', async () => {
    const { pool } = conn;
    await lifecycle(
      pool,
      () => [op.dropTable('app.teams')],
      async () => {
        expect(await count(pool, `SELECT count(*)::int AS n FROM app.teams`)).toBe(2);
      },
      async () => {
        expect(await count(pool, `SELECT count(*)::int AS n FROM pg_class WHERE relname = 'teams'`)).toBe(0);
      },
    );
  });

  it('renameTable: old code reads and writes through a view until contract', async () => {
    const { pool } = conn;
    await lifecycle(
      pool,
      () => [op.renameTable('app.teams', 'groups')],
      async () => {
        await pool.query(`INSERT INTO app.teams (id) VALUES (3)`); // old code, default applies
        await pool.query(`INSERT INTO app.groups (id, name) VALUES (4, 'four')`); // new code
        await pool.query(`UPDATE app.teams SET name = 'three' WHERE id = 3`);
        const { rows } = await pool.query(`SELECT id, name FROM app.groups WHERE id >= 3 ORDER BY id`);
        expect(rows).toEqual([{ id: 3, name: 'three' }, { id: 4, name: 'four' }]);
        const old = await pool.query(`SELECT id, name FROM app.teams ORDER BY id`);
        expect(old.rows.map((r) => r.name)).toEqual(['none', 'none', 'three', 'four']);
      },
      async () => {
        expect(await count(pool, `SELECT count(*)::int AS n FROM pg_class WHERE relname = 'teams' AND relnamespace = 'app'::regnamespace`)).toBe(0);
        expect(await count(pool, `SELECT count(*)::int AS n FROM app.groups`)).toBe(4);
      },
    );
  });

  it('createIndex / dropIndex', async () => {
    const { pool } = conn;
    await lifecycle(
      pool,
      () => [op.createIndex('app.users', { columns: ['email'], unique: true, name: 'users_email_uq', where: sql`email IS NOT NULL` }), op.dropIndex('app.users_team_idx')],
      async () => {
        await expect(pool.query(`INSERT INTO app.users (id, email) VALUES (100, 'e1')`)).rejects.toThrow(/duplicate/);
        expect(await count(pool, `SELECT count(*)::int AS n FROM pg_indexes WHERE indexname = 'users_team_idx'`)).toBe(1);
      },
      async () => {
        expect(await count(pool, `SELECT count(*)::int AS n FROM pg_indexes WHERE indexname = 'users_team_idx'`)).toBe(0);
        expect(await count(pool, `SELECT count(*)::int AS n FROM pg_indexes WHERE indexname = 'users_email_uq'`)).toBe(1);
      },
    );
  });

  it('addConstraint: check, foreign key, unique', async () => {
    const { pool } = conn;
    await lifecycle(
      pool,
      () => [
        op.addConstraint('app.users', { type: 'check', name: 'users_email_at', expression: sql`email LIKE 'e%'` }),
        op.addConstraint('app.users', { type: 'foreign key', columns: ['team'], references: { table: 'app.teams', columns: ['id'] } }),
        op.addConstraint('app.users', { type: 'unique', columns: ['email'] }),
      ],
      async () => {
        await expect(pool.query(`INSERT INTO app.users (id, email) VALUES (100, 'x')`)).rejects.toThrow(/users_email_at/);
        await expect(pool.query(`INSERT INTO app.users (id, email, team) VALUES (100, 'e100', 9)`)).rejects.toThrow(/foreign key/);
        await expect(pool.query(`INSERT INTO app.users (id, email) VALUES (100, 'e1')`)).rejects.toThrow(/duplicate/);
      },
      async () => {
        const { rows } = await pool.query(
          `SELECT conname, contype, convalidated FROM pg_constraint WHERE conrelid = 'app.users'::regclass AND contype IN ('c','f','u') ORDER BY conname`,
        );
        expect(rows).toEqual([
          { conname: 'users_email_at', contype: 'c', convalidated: true },
          { conname: 'users_email_key', contype: 'u', convalidated: true },
          { conname: 'users_team_fkey', contype: 'f', convalidated: true },
        ]);
      },
    );
  });

  it('sql: up on expand, onContract on contract, down on abort', async () => {
    const { pool } = conn;
    await lifecycle(
      pool,
      () => [
        op.sql({
          up: `CREATE TABLE app.audit (id int); CREATE TABLE app.audit_old (id int)`,
          down: `DROP TABLE app.audit; DROP TABLE app.audit_old`,
          onContract: `DROP TABLE app.audit_old`,
        }),
      ],
      async () => {
        expect(await count(pool, `SELECT count(*)::int AS n FROM pg_class WHERE relname IN ('audit', 'audit_old')`)).toBe(2);
      },
      async () => {
        expect(await count(pool, `SELECT count(*)::int AS n FROM pg_class WHERE relname IN ('audit', 'audit_old')`)).toBe(1);
      },
    );
  });
});

describe('several operations on several tables', () => {
  it('one trigger per table, abort after random writes restores the catalog', async () => {
    const { pool } = conn;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.integer({ min: 1, max: 10 }), fc.constantFrom('a', 'b', null)), { maxLength: 8 }), async (writes) => {
        await pool.query(base);
        const before = await catalogSnapshot(pool, 'app');
        const m = `multi${++n}`;
        const plan = await planMigration(
          [
            // Listed before the rename whose copies it reads: the trigger orders the pairs.
            op.addColumn('app.users', { name: 'email_domain', type: 'text', up: sql`split_part(email, '@', 2)` }),
            op.renameColumn('app.users', 'email', 'mail'),
            op.renameColumn('app.teams', 'name', 'title'),
          ],
          { db: pool, migration: m, flag: m, schema: CURTAIN },
        );
        expect(plan.expand.filter((s) => s.sql.startsWith('CREATE TRIGGER'))).toHaveLength(2);
        await expand(pool, plan, m);
        for (const [id, v] of writes) {
          await pool.query(`UPDATE app.users SET mail = $2 WHERE id = $1`, [id, v === null ? null : `${v}@${v}.org`]);
          await pool.query(`UPDATE app.teams SET name = $2 WHERE id = 1 + $1 % 2`, [id, v ?? 'x']);
        }
        const { rows } = await pool.query(`SELECT count(*)::int AS n FROM app.users WHERE mail IS DISTINCT FROM email OR email_domain IS DISTINCT FROM split_part(email, '@', 2)`);
        expect(rows[0].n).toBe(0);
        const t = await pool.query(`SELECT count(*)::int AS n FROM app.teams WHERE name IS DISTINCT FROM title`);
        expect(t.rows[0].n).toBe(0);
        await abort(pool, plan);
        expect(await catalogSnapshot(pool, 'app')).toEqual(before);
      }),
      { numRuns: 5 },
    );
  });
});

describe('renameTable under interleaved old- and new-code writes', () => {
  const name = fc.option(fc.constantFrom('chair', 'desk', "o'lamp", 'zoë'), { nil: null });
  const through = (table: string): Side<string | null> => ({
    insert: (id, v) => (v === DEFAULT ? [`INSERT INTO ${table} (id) VALUES ($1)`, [id]] : [`INSERT INTO ${table} (id, name) VALUES ($1, $2)`, [id, v]]),
    update: (id, v) => [`UPDATE ${table} SET name = $2 WHERE id = $1`, [id, v]],
    read: (pool: pg.Pool) => readMap(pool, `SELECT id, name FROM ${table}`, (r) => r.name as string | null),
    delete: (id) => [`DELETE FROM ${table} WHERE id = $1`, [id]],
  });
  const scenario: Scenario<string | null> = {
    schema: 'shop',
    setup: `CREATE TABLE shop.products (id int PRIMARY KEY, name text)`,
    table: 'shop.products',
    operations: () => [op.renameTable('shop.products', 'catalog_items')],
    old: through('shop.products'),
    new: through('shop.catalog_items'),
    value: name,
    defaultValue: null,
  };

  it('old code (through the old name) and new code (the new name) see each other\'s writes in every phase', async () => {
    // Before expand only the old name exists: seed through it, and new code starts at expand.
    await lifecycleProperty(conn.pool, scenario);
  });

  it('abort restores the exact catalog', async () => {
    await abortProperty(conn.pool, scenario);
  });
});
