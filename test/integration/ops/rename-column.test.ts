import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../../src/db/connect.js';
import { op } from '../../../src/ops/index.js';
import { planMigration } from '../../../src/ops/plan.js';
import { createTestDatabase, type TestDatabase } from '../../support/database.js';
import { abortProperty, DEFAULT, lifecycleProperty, readMap, type Scenario } from './harness.js';
import { abort, applySteps, contract, authority, CURTAIN, expand } from './helpers.js';

let tdb: TestDatabase;
let conn: Database;
beforeAll(async () => {
  tdb = await createTestDatabase('rename');
  conn = await tdb.connect();
});
afterAll(() => tdb.drop());

const side = (col: string) => ({
  insert: (id: number, v: string | null | typeof DEFAULT): [string, unknown[]] =>
    v === DEFAULT ? [`INSERT INTO app.users (id) VALUES ($1)`, [id]] : [`INSERT INTO app.users (id, ${col}) VALUES ($1, $2)`, [id, v]],
  update: (id: number, v: string | null): [string, unknown[]] => [`UPDATE app.users SET ${col} = $2 WHERE id = $1`, [id, v]],
  read: (pool: import('pg').Pool) => readMap(pool, `SELECT id, ${col} AS v FROM app.users`, (r) => r.v as string | null),
});

const scenario: Scenario<string | null> = {
  schema: 'app',
  setup: `CREATE TABLE app.users (id int PRIMARY KEY, email text DEFAULT 'none', name text);
          CREATE INDEX users_email_idx ON app.users (email);`,
  table: 'app.users',
  operations: () => [op.renameColumn('app.users', 'email', 'email_address')],
  old: side('email'),
  new: side('email_address'),
  value: fc.option(fc.constantFrom('a', 'b@x', "it's", '', 'none'), { nil: null }),
  both: {
    insert: (id, o, n) => [`INSERT INTO app.users (id, email, email_address) VALUES ($1, $2, $3)`, [id, o, n]],
    update: (id, o, n) => [`UPDATE app.users SET email = $2, email_address = $3 WHERE id = $1`, [id, o, n]],
  },
  defaultValue: 'none',
};
const uniqueSetup = `CREATE TABLE app.users (id int PRIMARY KEY, email text DEFAULT 'none', name text);
          CREATE UNIQUE INDEX users_email_idx ON app.users (email);`;

describe('renameColumn', () => {
  it('keeps old and new names in sync through every phase', async () => {
    await lifecycleProperty(conn.pool, scenario);
  });

  it('abort restores the exact catalog', async () => {
    await abortProperty(conn.pool, scenario);
  });

  it('moves the unique index to the new column and keeps its name after contract', async () => {
    const { pool } = conn;
    await pool.query(`DROP SCHEMA IF EXISTS app CASCADE; CREATE SCHEMA app; ${uniqueSetup}`);
    await pool.query(`INSERT INTO app.users (id, email) SELECT i, 'e' || i FROM generate_series(1, 30) i`);
    const plan = await planMigration(scenario.operations(), { db: pool, migration: 'rn_idx', flag: 'rn', schema: CURTAIN });
    await expand(pool, plan, 'rn_idx');
    await expect(pool.query(`INSERT INTO app.users (id, email_address) VALUES (100, 'e1')`)).rejects.toThrow(/duplicate/);
    await authority(pool, plan, 'new');
    await contract(pool, plan);
    const { rows } = await pool.query(`SELECT indexdef FROM pg_indexes WHERE schemaname = 'app' AND indexname = 'users_email_idx'`);
    expect(rows[0].indexdef).toContain('(email_address)');
    const cols = await pool.query(`SELECT column_name FROM information_schema.columns WHERE table_schema = 'app' AND table_name = 'users' ORDER BY ordinal_position`);
    expect(cols.rows.map((r) => r.column_name)).toEqual(['id', 'name', 'email_address']);
  });

  it('when both sides are written with different values, the authoritative side wins', async () => {
    const { pool } = conn;
    await pool.query(`DROP SCHEMA IF EXISTS app CASCADE; CREATE SCHEMA app; ${scenario.setup}`);
    await pool.query(`INSERT INTO app.users (id, email) VALUES (1, 'a')`);
    const plan = await planMigration(scenario.operations(), { db: pool, migration: 'rn_auth', flag: 'rn', schema: CURTAIN });
    await expand(pool, plan, 'rn_auth');
    await pool.query(`UPDATE app.users SET email = 'old', email_address = 'new' WHERE id = 1`);
    await pool.query(`INSERT INTO app.users (id, email, email_address) VALUES (2, 'old2', 'new2')`);
    let r = await pool.query(`SELECT id, email, email_address FROM app.users ORDER BY id`);
    expect(r.rows).toEqual([{ id: 1, email: 'old', email_address: 'old' }, { id: 2, email: 'old2', email_address: 'old2' }]);
    await authority(pool, plan, 'new');
    await pool.query(`UPDATE app.users SET email = 'old', email_address = 'new' WHERE id = 1`);
    await pool.query(`INSERT INTO app.users (id, email, email_address) VALUES (3, 'old3', 'new3')`);
    r = await pool.query(`SELECT id, email, email_address FROM app.users WHERE id <> 2 ORDER BY id`);
    expect(r.rows).toEqual([{ id: 1, email: 'new', email_address: 'new' }, { id: 3, email: 'new3', email_address: 'new3' }]);
  });
});
