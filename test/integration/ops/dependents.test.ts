import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from '../../../src/db/connect.js';
import { op, sql } from '../../../src/ops/index.js';
import { planMigration } from '../../../src/ops/plan.js';
import { createTestDatabase, type TestDatabase } from '../../support/database.js';
import { applySteps, catalogSnapshot, CURTAIN, expand } from './helpers.js';

let tdb: TestDatabase;
let conn: Database;
let reader: string;
beforeAll(async () => {
  tdb = await createTestDatabase('opdeps');
  conn = await tdb.connect();
  reader = `${tdb.name}_reader`;
  await conn.pool.query(`CREATE ROLE ${reader}`);
});
afterAll(async () => {
  await conn.pool.query(`DROP SCHEMA IF EXISTS app CASCADE; DROP OWNED BY ${reader}; DROP ROLE ${reader}`);
  await tdb.drop();
});

beforeEach(async () => {
  await conn.pool.query(`
    DROP SCHEMA IF EXISTS app CASCADE; CREATE SCHEMA app;
    CREATE TABLE app.customer (id int PRIMARY KEY, email text, active boolean NOT NULL DEFAULT true, name text);
    INSERT INTO app.customer SELECT i, 'c' || i || '@d' || (i % 3) || '.org', i % 4 <> 0, 'n' || i FROM generate_series(1, 50) i;
    CREATE VIEW app.active_customers WITH (security_barrier = true) AS SELECT id, email, name FROM app.customer WHERE active;
    GRANT SELECT ON app.active_customers TO ${reader};
    COMMENT ON VIEW app.active_customers IS 'customers we may write to';
    CREATE VIEW app.active_emails AS SELECT email FROM app.active_customers;
    CREATE MATERIALIZED VIEW app.email_domains AS SELECT split_part(email, '@', 2) AS domain, count(*) AS n FROM app.customer GROUP BY 1;
    CREATE UNIQUE INDEX email_domains_domain ON app.email_domains (domain);
    CREATE FUNCTION app.email_of(int) RETURNS text LANGUAGE sql STABLE BEGIN ATOMIC SELECT email FROM app.customer WHERE id = $1; END;
    CREATE FUNCTION app.count_emails() RETURNS bigint LANGUAGE plpgsql AS $$ BEGIN RETURN (SELECT count(email) FROM app.customer); END $$;
    ALTER TABLE app.customer ENABLE ROW LEVEL SECURITY;
    CREATE POLICY has_email ON app.customer USING (email IS NOT NULL);
  `);
});

const plan = (ops: ReturnType<typeof op.renameColumn>[], migration = 'm1') => planMigration(ops, { db: conn.pool, migration, flag: migration, schema: CURTAIN });

describe('objects depending on a column that contract replaces', () => {
  it('renameColumn re-creates views (nested and materialized), SQL functions and policies on the new column, keeping names, options, grants and comments', async () => {
    const p = await plan([op.renameColumn('app.customer', 'email', 'email_address')]);
    expect(p.warnings).toEqual([expect.stringContaining('function app.count_emails() (plpgsql body mentions email) may break')]);
    await expand(conn.pool, p, 'm1');
    await conn.pool.query(`UPDATE app.customer SET email_address = 'new@x.org' WHERE id = 1`);
    await applySteps(conn.pool, p.contract);
    const cols = await conn.pool.query(`SELECT attname FROM pg_attribute WHERE attrelid = 'app.active_customers'::regclass AND attnum > 0 ORDER BY attnum`);
    expect(cols.rows.map((r) => r.attname)).toEqual(['id', 'email', 'name']);
    expect((await conn.pool.query(`SELECT pg_get_viewdef('app.active_customers'::regclass) AS d`)).rows[0].d).toMatch(/(customer\.)?email_address AS email/); // PostgreSQL 18 prints the view without the table qualifier
    expect((await conn.pool.query(`SELECT email FROM app.active_customers WHERE id = 1`)).rows).toEqual([{ email: 'new@x.org' }]);
    expect((await conn.pool.query(`SELECT count(*)::int AS n FROM app.active_emails`)).rows[0].n).toBe(38);
    const meta = await conn.pool.query(
      `SELECT c.reloptions, obj_description(c.oid, 'pg_class') AS comment, has_table_privilege('${reader}', c.oid, 'SELECT') AS readable
         FROM pg_class c WHERE c.oid = 'app.active_customers'::regclass`,
    );
    expect(meta.rows[0]).toEqual({ reloptions: ['security_barrier=true'], comment: 'customers we may write to', readable: true });
    expect((await conn.pool.query(`SELECT indexname FROM pg_indexes WHERE tablename = 'email_domains'`)).rows).toEqual([{ indexname: 'email_domains_domain' }]);
    expect((await conn.pool.query(`SELECT sum(n)::int AS n FROM app.email_domains`)).rows[0].n).toBe(50);
    expect((await conn.pool.query(`SELECT app.email_of(1) AS e`)).rows[0].e).toBe('new@x.org');
    expect((await conn.pool.query(`SELECT qual FROM pg_policies WHERE policyname = 'has_email'`)).rows[0].qual).toBe('(email_address IS NOT NULL)');
    const columns = await conn.pool.query(`SELECT column_name FROM information_schema.columns WHERE table_schema = 'app' AND table_name = 'customer' ORDER BY ordinal_position`);
    expect(columns.rows.map((r) => r.column_name)).toEqual(['id', 'active', 'name', 'email_address']);
  });

  it('alterColumn (a type change through a shadow column) re-creates the views on the swapped-in column', async () => {
    await conn.pool.query(`DROP POLICY has_email ON app.customer; DROP MATERIALIZED VIEW app.email_domains; DROP FUNCTION app.email_of`);
    const p = await plan([op.alterColumn('app.customer', 'email', { type: 'varchar(200)', up: sql`email::varchar(200)`, down: sql`email::text` })], 'm3');
    await expand(conn.pool, p, 'm3');
    await applySteps(conn.pool, p.contract);
    const t = await conn.pool.query(`SELECT format_type(atttypid, atttypmod) AS t FROM pg_attribute WHERE attrelid = 'app.active_customers'::regclass AND attname = 'email'`);
    expect(t.rows[0].t).toBe('character varying(200)');
    expect((await conn.pool.query(`SELECT count(*)::int AS n FROM app.active_emails`)).rows[0].n).toBe(38);
  });

  it('dropColumn under a view is refused at plan time naming the view and the op that replaces it; with op.replaceView it goes through', async () => {
    const before = await catalogSnapshot(conn.pool, 'app');
    await expect(plan([op.dropColumn('app.customer', 'active')])).rejects.toThrow(
      'op.dropColumn("app.customer", "active"): view app.active_customers (and view app.active_emails through it) depends on column app.customer.active; contract could not drop it',
    );
    const err = await plan([op.dropColumn('app.customer', 'active')]).catch((e: { hint?: string }) => e);
    expect((err as { hint?: string }).hint).toContain(`op.replaceView('app.active_customers', { sql: 'SELECT ...' })`);
    expect(await catalogSnapshot(conn.pool, 'app')).toEqual(before);

    const p = await plan([
      op.dropColumn('app.customer', 'active'),
      op.replaceView('app.active_customers', { sql: sql`SELECT id, email, name FROM app.customer WHERE name <> 'n4'` }),
    ], 'm2');
    await expand(conn.pool, p, 'm2');
    // Until contract, the old definition serves old code.
    expect((await conn.pool.query(`SELECT count(*)::int AS n FROM app.active_customers`)).rows[0].n).toBe(38);
    await applySteps(conn.pool, p.contract);
    expect((await conn.pool.query(`SELECT count(*)::int AS n FROM app.active_customers`)).rows[0].n).toBe(49);
    expect((await conn.pool.query(`SELECT count(*)::int AS n FROM app.active_emails`)).rows[0].n).toBe(49);
    const meta = await conn.pool.query(`SELECT c.reloptions, has_table_privilege('${reader}', c.oid, 'SELECT') AS readable FROM pg_class c WHERE c.oid = 'app.active_customers'::regclass`);
    expect(meta.rows[0]).toEqual({ reloptions: ['security_barrier=true'], readable: true });
  });

  it('a view changed after planning makes contract fail and roll back instead of re-creating a stale definition', async () => {
    const p = await plan([op.renameColumn('app.customer', 'email', 'email_address')], 'm4');
    await expand(conn.pool, p, 'm4');
    await conn.pool.query(`CREATE OR REPLACE VIEW app.active_emails AS SELECT email FROM app.active_customers WHERE email LIKE 'c1%'`);
    await expect(applySteps(conn.pool, p.contract)).rejects.toThrow('view app.active_emails changed since this migration was planned; abort it and expand again');
    const columns = await conn.pool.query(`SELECT column_name FROM information_schema.columns WHERE table_schema = 'app' AND table_name = 'customer' ORDER BY ordinal_position`);
    expect(columns.rows.map((r) => r.column_name)).toEqual(['id', 'email', 'active', 'name', 'email_address']);
    expect((await conn.pool.query(`SELECT count(*)::int AS n FROM app.active_emails`)).rows[0].n).toBe(9);
  });

  it('dropColumn under views, a SQL-body function and a policy is refused naming every one of them', async () => {
    await expect(plan([op.dropColumn('app.customer', 'email')])).rejects.toThrow(
      'op.dropColumn("app.customer", "email"): view app.active_customers (and view app.active_emails through it), materialized view app.email_domains, ' +
        'function app.email_of (app.email_of(integer)), policy has_email on app.customer (USING ((email IS NOT NULL))) depend on column app.customer.email; contract could not drop them',
    );
  });

  it('dropTable under a view is refused naming it', async () => {
    await expect(plan([op.dropTable('app.customer')])).rejects.toThrow(
      'op.dropTable("app.customer"): view app.active_customers (and view app.active_emails through it), materialized view app.email_domains, function app.email_of (app.email_of(integer)) depend on app.customer; contract could not drop them',
    );
  });
});
