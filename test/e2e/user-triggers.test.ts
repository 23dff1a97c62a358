import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/connect.js';
import { migrate, migrationSource, tempProject } from '../support/cli.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

const IMPORTS = 'defineMigration, op, sql';

/**
 * A table with an updated_at trigger and an audit trigger, as most production
 * schemas have: the backfill must leave both untouched, while application
 * writes keep firing them.
 */
describe('backfill and user triggers', { timeout: 180_000 }, () => {
  let tdb: TestDatabase;
  let conn: Database;
  const project = tempProject();
  let role: string;
  const run = (url: string, ...args: string[]) => migrate(args, { cwd: project.dir, databaseUrl: url });
  const asRole = () => {
    const u = new URL(tdb.url);
    u.username = role;
    u.password = '';
    return u.toString();
  };

  /** Every existing row's columns other than the migration's, in one value. */
  const checksum = async (cols = 'id, email, name, last_update') =>
    (await conn.pool.query(`SELECT md5(string_agg(format('%s', ROW(${cols})), ',' ORDER BY id)) AS sum FROM customer`)).rows[0].sum as string;
  const audits = async () => (await conn.pool.query(`SELECT count(*)::int AS n FROM audit_log`)).rows[0].n as number;
  const columns = async () =>
    (await conn.pool.query(`SELECT column_name FROM information_schema.columns WHERE table_name = 'customer' ORDER BY ordinal_position`)).rows.map((r) => r.column_name);

  beforeAll(async () => {
    tdb = await createTestDatabase('usertrg');
    conn = await tdb.connect();
    role = `${tdb.name}_app`;
    await conn.pool.query(`
      CREATE TABLE customer (id int PRIMARY KEY, email text, name text, last_update timestamptz NOT NULL DEFAULT now());
      CREATE TABLE audit_log (id bigserial PRIMARY KEY, row_id int, op text, at timestamptz DEFAULT clock_timestamp());
      CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.last_update := clock_timestamp(); RETURN NEW; END $$;
      CREATE FUNCTION audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO audit_log (row_id, op) VALUES (NEW.id, TG_OP); RETURN NULL; END $$;
      CREATE TRIGGER touch BEFORE UPDATE ON customer FOR EACH ROW EXECUTE FUNCTION touch();
      CREATE TRIGGER audit AFTER INSERT OR UPDATE ON customer FOR EACH ROW EXECUTE FUNCTION audit();
      INSERT INTO customer (id, email, name, last_update)
        SELECT i, 'c' || i || '@example.com', 'name ' || i, timestamptz '2020-01-01' + i * interval '1 minute' FROM generate_series(1, 600) i;
      TRUNCATE audit_log;
      CREATE ROLE ${role} LOGIN;
      GRANT CREATE ON DATABASE ${tdb.name} TO ${role};
      GRANT CREATE ON SCHEMA public TO ${role};
      ALTER TABLE customer OWNER TO ${role};
      GRANT ALL ON audit_log, audit_log_id_seq TO ${role};
    `);
    // The application role creates (and owns) the curtain schema; the superuser may use it too.
    expect((await run(asRole(), 'status')).code).toBe(0);
    project.write('migrations/20260101000000_email_address.ts', migrationSource(`export default defineMigration({ operations: [op.renameColumn('customer', 'email', 'email_address')] });`, IMPORTS));
  });
  afterAll(async () => {
    await conn.pool.query(`REASSIGN OWNED BY ${role} TO postgres; DROP OWNED BY ${role}`);
    await tdb.drop();
    const admin = await createTestDatabase('usertrgcleanup');
    await (await admin.connect()).pool.query(`DROP ROLE IF EXISTS ${role}`);
    await admin.drop();
  });

  it('a superuser backfill leaves every existing row byte-identical and writes no audit row, through expand and abort', async () => {
    const before = await checksum();
    const r = await run(tdb.url, 'expand', 'email_address');
    expect(r.code, r.stderr).toBe(0);
    // The new column is filled for every row, and nothing else moved.
    expect((await conn.pool.query(`SELECT count(*)::int AS n FROM customer WHERE email_address IS DISTINCT FROM email`)).rows[0].n).toBe(0);
    expect(await checksum()).toBe(before);
    expect(await audits()).toBe(0);
    // curtain's dual-write trigger fires for replica-mode writers too.
    const dw = await conn.pool.query(`SELECT tgenabled FROM pg_trigger WHERE tgrelid = 'customer'::regclass AND tgname LIKE '\\_curtain%'`);
    expect(dw.rows).toEqual([{ tgenabled: 'A' }]);
    const replica = await conn.pool.connect();
    try {
      await replica.query(`SET session_replication_role = replica; UPDATE customer SET email = 'replica@example.com' WHERE id = 600; RESET session_replication_role`);
    } finally {
      replica.release();
    }
    expect((await conn.pool.query(`SELECT email_address FROM customer WHERE id = 600`)).rows[0].email_address).toBe('replica@example.com');
    // Application sessions still fire the user triggers.
    await conn.pool.query(`UPDATE customer SET name = 'renamed' WHERE id = 1`);
    expect(await audits()).toBe(1);
    const touched = (await conn.pool.query(`SELECT last_update > '2021-01-01' AS bumped FROM customer WHERE id = 1`)).rows[0];
    expect(touched.bumped).toBe(true);

    const mid = await checksum();
    expect((await run(tdb.url, 'abort', 'email_address')).code).toBe(0);
    expect(await columns()).toEqual(['id', 'email', 'name', 'last_update']);
    expect(await checksum()).toBe(mid);
    expect(await audits()).toBe(1);
  });

  it('a role that may not skip user triggers is refused before anything runs, naming the triggers and the GRANT; with the grant it goes through untouched', async () => {
    const before = await checksum();
    const refused = await run(asRole(), 'expand', 'email_address');
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain('refused by guard "user-triggers"');
    expect(refused.stderr).toContain('audit (AFTER INSERT OR UPDATE on public.customer)');
    expect(refused.stderr).toContain('touch (BEFORE UPDATE on public.customer)');
    expect(refused.stderr).toContain(`GRANT SET ON PARAMETER session_replication_role TO "${role}"`);
    expect(refused.stderr).toContain('--fire-user-triggers');
    expect(await columns()).toEqual(['id', 'email', 'name', 'last_update']);
    const status = (await run(tdb.url, 'status', '--json')).json().migrations.map((m: { phase: string }) => m.phase);
    expect(status).toEqual(['pending']);

    await conn.pool.query(`GRANT SET ON PARAMETER session_replication_role TO ${role}`);
    try {
      const ok = await run(asRole(), 'expand', 'email_address');
      expect(ok.code, ok.stderr).toBe(0);
      expect(await checksum()).toBe(before);
      expect(await audits()).toBe(1);
      expect((await run(asRole(), 'abort', 'email_address')).code).toBe(0);
      expect(await checksum()).toBe(before);
    } finally {
      await conn.pool.query(`REVOKE SET ON PARAMETER session_replication_role FROM ${role}`);
    }
  });

  it('with --fire-user-triggers the user accepts that their triggers fire for every backfilled row', async () => {
    const audited = await audits();
    const r = await run(asRole(), 'expand', 'email_address', '--fire-user-triggers');
    expect(r.code, r.stderr).toBe(0);
    expect(await audits()).toBe(audited + 600);
    const aborted = await run(asRole(), 'abort', 'email_address');
    expect(aborted.code, aborted.stderr).toBe(0);
  });
});
