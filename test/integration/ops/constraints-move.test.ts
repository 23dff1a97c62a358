import type pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runBackfill } from '../../../src/backfill/run.js';
import type { Database } from '../../../src/db/connect.js';
import { op, sql } from '../../../src/ops/index.js';
import type { MigrationPlan } from '../../../src/ops/operation.js';
import { planMigration } from '../../../src/ops/plan.js';
import { ensureStore } from '../../../src/store/store.js';
import { createTestDatabase, type TestDatabase } from '../../support/database.js';
import { applySteps, catalogSnapshot, CURTAIN } from './helpers.js';

let tdb: TestDatabase;
let conn: Database;
beforeAll(async () => {
  tdb = await createTestDatabase('kmove');
  conn = await tdb.connect();
  await ensureStore(conn.pool, CURTAIN);
});
afterAll(() => tdb.drop());

let n = 0;
async function expand(p: MigrationPlan): Promise<void> {
  const migration = `km${++n}`;
  await applySteps(conn.pool, [...p.expand.filter((s) => s.transactional), ...p.expand.filter((s) => !s.transactional)]);
  for (const task of p.backfill) await runBackfill(conn.pool, task, { schema: CURTAIN, migration, batchSize: 10 });
  await applySteps(conn.pool, p.afterBackfill);
}
const plan = (ops: Parameters<typeof planMigration>[0]) => planMigration(ops, { db: conn.pool, migration: `kmp${++n}`, flag: 'f', schema: CURTAIN });
const fails = async (q: string) => (await conn.pool.query(q).then(() => undefined, (e: Error & { code?: string }) => e.code)) ?? 'ok';

beforeEach(async () => {
  await conn.pool.query(`
    DROP SCHEMA IF EXISTS app CASCADE; CREATE SCHEMA app;
    CREATE TABLE app.team (id int PRIMARY KEY);
    INSERT INTO app.team VALUES (1), (2);
    CREATE TABLE app.staff (id int PRIMARY KEY, username text NOT NULL, email text, team_id int CONSTRAINT staff_team_fkey REFERENCES app.team (id),
                            CONSTRAINT username_len CHECK (length(username) >= 3));
    ALTER TABLE app.staff ADD CONSTRAINT staff_username_key UNIQUE (username);
    CREATE INDEX staff_lower_username ON app.staff (lower(username)) WHERE email IS NOT NULL;
    INSERT INTO app.staff SELECT i, 'user' || i, CASE WHEN i % 2 = 0 THEN 'e' || i END, 1 + i % 2 FROM generate_series(1, 40) i;
    CREATE TABLE app.rental (id int PRIMARY KEY, staff_username text CONSTRAINT rental_staff_fkey REFERENCES app.staff (username) ON UPDATE CASCADE);
    INSERT INTO app.rental SELECT i, 'user' || (1 + i % 40) FROM generate_series(1, 100) i;
  `);
});

const constraints = async () =>
  (await conn.pool.query(`SELECT conrelid::regclass::text AS rel, conname, pg_get_constraintdef(oid) AS def, convalidated AS valid
                            FROM pg_constraint WHERE connamespace = 'app'::regnamespace AND contype <> 'n' ORDER BY 1, 2`)).rows;

describe('constraints and indexes move with their column', () => {
  it('renameColumn rebuilds CHECKs, unique, expression/partial indexes and foreign keys both ways on the new column, enforced throughout', async () => {
    const p = await plan([op.renameColumn('app.staff', 'username', 'login'), op.renameColumn('app.staff', 'team_id', 'team')]);
    await expand(p);
    // In flight: the old constraints still hold for old code, the rebuilt ones for new code.
    expect(await fails(`INSERT INTO app.rental VALUES (1000, 'nobody')`)).toBe('23503');
    expect(await fails(`INSERT INTO app.staff (id, login) VALUES (1000, 'ab')`)).toBe('23514');
    expect(await fails(`INSERT INTO app.staff (id, username) VALUES (1000, 'user1')`)).toBe('23505');
    expect(await fails(`INSERT INTO app.staff (id, username, team) VALUES (1000, 'user1000', 9)`)).toBe('23503');
    for (const s of p.contract) expect(s.sql).not.toMatch(/CASCADE/);
    await applySteps(conn.pool, p.contract);

    expect(await constraints()).toEqual([
      { rel: 'app.rental', conname: 'rental_pkey', def: 'PRIMARY KEY (id)', valid: true },
      { rel: 'app.rental', conname: 'rental_staff_fkey', def: 'FOREIGN KEY (staff_username) REFERENCES app.staff(login) ON UPDATE CASCADE', valid: true },
      { rel: 'app.staff', conname: 'staff_pkey', def: 'PRIMARY KEY (id)', valid: true },
      { rel: 'app.staff', conname: 'staff_team_fkey', def: 'FOREIGN KEY (team) REFERENCES app.team(id)', valid: true },
      { rel: 'app.staff', conname: 'staff_username_key', def: 'UNIQUE (login)', valid: true },
      { rel: 'app.staff', conname: 'username_len', def: 'CHECK ((length(login) >= 3))', valid: true },
      { rel: 'app.team', conname: 'team_pkey', def: 'PRIMARY KEY (id)', valid: true },
    ]);
    const idx = await conn.pool.query(`SELECT indexdef FROM pg_indexes WHERE indexname = 'staff_lower_username'`);
    expect(idx.rows[0].indexdef).toBe('CREATE INDEX staff_lower_username ON app.staff USING btree (lower(login)) WHERE (email IS NOT NULL)');
    // Still enforced after contract, and ON UPDATE CASCADE follows the new column.
    expect(await fails(`INSERT INTO app.rental VALUES (1000, 'nobody')`)).toBe('23503');
    expect(await fails(`INSERT INTO app.staff (id, login) VALUES (1000, 'ab')`)).toBe('23514');
    await conn.pool.query(`UPDATE app.staff SET login = 'renamed' WHERE login = 'user2'`);
    expect((await conn.pool.query(`SELECT count(*)::int AS n FROM app.rental WHERE staff_username = 'renamed'`)).rows[0].n).toBe(3);
  });

  it('abort removes every rebuilt object: the catalog is as before expand', async () => {
    const before = await catalogSnapshot(conn.pool, 'app');
    const p = await plan([op.renameColumn('app.staff', 'username', 'login')]);
    await expand(p);
    await applySteps(conn.pool, p.abort);
    expect(await catalogSnapshot(conn.pool, 'app')).toEqual(before);
  });

  it('a type change moves them too, and a definition that does not fit the new type is refused at plan time naming it', async () => {
    await conn.pool.query(`ALTER TABLE app.staff DROP CONSTRAINT username_len; DROP INDEX app.staff_lower_username;
      ALTER TABLE app.staff ADD CONSTRAINT id_positive CHECK (id > 0); CREATE INDEX staff_id_even ON app.staff (id) WHERE id % 2 = 0`);
    const p = await plan([op.alterColumn('app.staff', 'id', { type: 'bigint', up: sql`id::bigint`, down: sql`id::int` })]).catch((e: Error) => e);
    expect(String(p)).toContain('primary key');
    await conn.pool.query(`ALTER TABLE app.staff ADD COLUMN score int CHECK (score >= 0); CREATE INDEX staff_score ON app.staff ((score * 2)) WHERE score > 10`);
    const ok = await plan([op.alterColumn('app.staff', 'score', { type: 'bigint', up: sql`score::bigint`, down: sql`score::int` })]);
    await expand(ok as MigrationPlan);
    await applySteps(conn.pool, (ok as MigrationPlan).contract);
    const defs = (await constraints()).filter((k) => k.conname === 'staff_score_check');
    expect(defs).toEqual([{ rel: 'app.staff', conname: 'staff_score_check', def: 'CHECK ((score >= 0))', valid: true }]);
    expect((await conn.pool.query(`SELECT indexdef FROM pg_indexes WHERE indexname = 'staff_score'`)).rows[0].indexdef).toBe(
      'CREATE INDEX staff_score ON app.staff USING btree (((score * 2))) WHERE (score > 10)',
    );
    await conn.pool.query(`ALTER TABLE app.staff ADD COLUMN tags text CHECK (tags ~ '^[a-z]+$')`);
    await expect(plan([op.alterColumn('app.staff', 'tags', { type: 'int', up: sql`length(tags)`, down: sql`tags::text` })])).rejects.toThrow(
      `column "tags" is used by check constraint staff_tags_check (CHECK ((tags ~ '^[a-z]+$'::text))), which does not fit the new column: operator does not exist: integer ~ text`,
    );
  });
});
