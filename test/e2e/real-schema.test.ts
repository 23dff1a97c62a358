import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/connect.js';
import { migrate, migrationSource, tempProject } from '../support/cli.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

const FIXTURE = readFileSync(path.join(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/real-schema.sql'), 'utf8');
const IMPORTS = 'defineMigration, op, sql';

/**
 * Every kind of operation against a schema shaped like production ones
 * (test/fixtures/real-schema.sql), through the CLI, with writers running:
 * each either ends contracted (or aborted) with data and catalog as expected,
 * or is refused before anything runs, naming what is in the way.
 */
describe('a realistic schema', { timeout: 400_000 }, () => {
  let tdb: TestDatabase;
  let conn: Database;
  const project = tempProject();
  const run = (...args: string[]) => migrate(args, { cwd: project.dir, databaseUrl: tdb.url });
  const write = (name: string, ops: string) => project.write(`migrations/${name}.ts`, migrationSource(`export default defineMigration({ operations: [${ops}] });`, IMPORTS));
  const q = async (text: string) => (await conn.pool.query(text)).rows;
  const lifecycle = async (name: string, to: 'contract' | 'abort' = 'contract') => {
    for (const cmd of ['expand', 'switch', to]) {
      const r = await run(cmd, name);
      expect(r.code, `${cmd} ${name}: ${r.stderr}`).toBe(0);
    }
    const status = (await run('status', '--json')).json().migrations.find((m: { name: string }) => m.name.endsWith(name));
    expect(status.phase).toBe(to === 'contract' ? 'contracted' : 'pending');
  };
  /** Every existing customer's columns (the migration's own aside), in one value. */
  const customers = async (cols = 'id, store_id, email, full_name, status, active, last_update') =>
    (await q(`SELECT md5(string_agg(format('%s', ROW(${cols})), ',' ORDER BY id)) AS sum FROM shop.customer WHERE id <= 600`))[0].sum as string;
  const audits = async () => (await q(`SELECT count(*)::int AS n FROM shop.audit_log`))[0].n as number;

  // Writers: new payments and customer updates all along, each waiting at most 2 s for a lock.
  let writers: { stop: () => Promise<{ writes: number; errors: string[] }> } | undefined;
  const startWriters = () => {
    const pool = new pg.Pool({ connectionString: tdb.url, max: 2, options: '-c lock_timeout=2000' });
    let stopped = false;
    let writes = 0;
    const errors: string[] = [];
    let id = 100_000;
    const loop = async (fn: () => Promise<unknown>) => {
      while (!stopped) {
        try {
          await fn();
          writes++;
        } catch (err) {
          errors.push((err as Error).message);
        }
      }
    };
    const done = Promise.all([
      loop(() => pool.query(`INSERT INTO shop.payment (id, paid_on, customer_id, staff_id, amount) VALUES ($1, date '2024-01-01' + $1 % 366, 1 + $1 % 600, 1 + $1 % 9, 12.5)`, [++id])),
      loop(() => pool.query(`UPDATE shop.customer SET full_name = full_name WHERE id = 1 + floor(random() * 600)::int`)),
    ]);
    return {
      async stop() {
        stopped = true;
        await done;
        await pool.end();
        return { writes, errors };
      },
    };
  };

  beforeAll(async () => {
    tdb = await createTestDatabase('realschema');
    conn = await tdb.connect();
    await conn.pool.query(FIXTURE);
  });
  afterAll(async () => {
    await writers?.stop();
    await tdb.drop();
  });

  it('renameColumn under nested views, a SQL function, a policy and user triggers: backfill leaves rows untouched, contract re-creates everything on the new column', async () => {
    write('20260101000100_customer_email_address', `op.renameColumn('shop.customer', 'email', 'email_address')`);
    const plan = await run('plan', 'customer_email_address');
    for (const d of ['view shop.customer_list', 'view shop.active_customers', 'view shop.active_customer_emails', 'function shop.customer_email(integer)', 'policy customer_not_closed']) {
      expect(plan.stdout).toMatch(new RegExp(`re-create .*${d.replace(/[.()]/g, '\\$&')}`));
    }
    const before = await customers();
    expect((await run('expand', 'customer_email_address')).code).toBe(0);
    expect(await customers()).toBe(before);
    expect(await audits()).toBe(0);
    expect((await run('switch', 'customer_email_address')).code).toBe(0);
    const c = await run('contract', 'customer_email_address');
    expect(c.code, c.stderr).toBe(0);
    expect(await customers('id, store_id, email_address, full_name, status, active, last_update')).toBe(before);
    expect(await q(`SELECT count(*)::int AS n, count(*) FILTER (WHERE email = 'c1@example.com')::int AS c1 FROM shop.active_customer_emails`)).toEqual([{ n: 480, c1: 1 }]);
    expect(await q(`SELECT email, store FROM shop.customer_list WHERE id = 7`)).toEqual([{ email: 'c7@example.com', store: 'store 2' }]);
    expect(await q(`SELECT shop.customer_email(8) AS e`)).toEqual([{ e: 'c8@example.com' }]);
    expect(await q(`SELECT reloptions FROM pg_class WHERE oid = 'shop.active_customers'::regclass`)).toEqual([{ reloptions: ['security_barrier=true'] }]);
    expect((await q(`SELECT qual FROM pg_policies WHERE policyname = 'customer_not_closed'`))[0].qual).toContain('email_address IS NOT NULL');
  });

  it('with writers running: a type change on the partitioned table (its materialized view re-filled), a partitioned index and a partitioned foreign key end contracted', async () => {
    writers = startWriters();
    write('20260101000200_payment_amount', `op.alterColumn('shop.payment', 'amount', { type: 'numeric(12,2)', up: sql\`amount::numeric(12,2)\`, down: sql\`amount::numeric(8,2)\` })`);
    const lint = await run('lint');
    expect(lint.stdout).toContain('function shop.store_revenue(integer) (plpgsql body mentions amount) may break');
    await lifecycle('payment_amount');
    expect(await q(`SELECT format_type(atttypid, atttypmod) AS t FROM pg_attribute WHERE attrelid = 'shop.payment_2024_q3'::regclass AND attname = 'amount'`)).toEqual([{ t: 'numeric(12,2)' }]);
    expect(await q(`SELECT format_type(atttypid, atttypmod) AS t FROM pg_attribute WHERE attrelid = 'shop.sales_by_store'::regclass AND attname = 'total'`)).toEqual([{ t: 'numeric' }]);
    expect(await q(`SELECT count(*)::int AS n FROM pg_indexes WHERE indexname = 'sales_by_store_store'`)).toEqual([{ n: 1 }]);

    write('20260101000300_payment_customer_index', `op.createIndex('shop.payment', { name: 'payment_customer_idx', columns: ['customer_id'] })`);
    await lifecycle('payment_customer_index');
    const idx = await q(`SELECT c.relname, i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
                          WHERE i.indrelid IN (SELECT 'shop.payment'::regclass UNION SELECT relid FROM pg_partition_tree('shop.payment'))
                            AND pg_get_indexdef(i.indexrelid) LIKE '%(customer_id)%' ORDER BY 1`);
    expect(idx).toHaveLength(5);
    expect(idx.every((r) => r.indisvalid)).toBe(true);

    write('20260101000400_payment_customer_fk', `op.addConstraint('shop.payment', { type: 'foreign key', name: 'payment_customer_fkey', columns: ['customer_id'], references: { table: 'shop.customer', columns: ['id'] } })`);
    await lifecycle('payment_customer_fk');
    const fks = await q(`SELECT conrelid::regclass::text AS rel, convalidated FROM pg_constraint WHERE conname = 'payment_customer_fkey' ORDER BY 1`);
    expect(fks).toHaveLength(5);
    expect(fks.every((r) => r.convalidated)).toBe(true);
    await expect(conn.pool.query(`INSERT INTO shop.payment VALUES (999999, '2024-02-02', 424242, 1, 1)`)).rejects.toThrow(/payment_customer_fkey/);

    const w = await writers.stop();
    writers = undefined;
    // No write waited past its lock timeout (or failed at all), and writes did happen all along.
    expect(w.errors).toEqual([]);
    expect(w.writes).toBeGreaterThan(50);
  });

  it('dropColumn under a view is refused before anything runs naming it; with op.replaceView it ends contracted', async () => {
    write('20260101000500_drop_active', `op.dropColumn('shop.customer', 'active')`);
    const refused = await run('expand', 'drop_active');
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('view shop.active_customers (and view shop.active_customer_emails through it) depends on column shop.customer.active');
    expect(refused.stderr).toContain(`op.replaceView('shop.active_customers'`);
    expect(await q(`SELECT count(*)::int AS n FROM information_schema.columns WHERE table_name = 'customer' AND column_name = 'active'`)).toEqual([{ n: 1 }]);
    write(
      '20260101000500_drop_active',
      `op.dropColumn('shop.customer', 'active'), op.replaceView('shop.active_customers', { sql: sql\`SELECT id, full_name, email_address AS email FROM shop.customer WHERE status = 'active'\` })`,
    );
    await lifecycle('drop_active');
    expect(await q(`SELECT count(*)::int AS n FROM shop.active_customer_emails`)).toEqual([{ n: 200 }]);
  });

  it('an addColumn backfilled then aborted leaves every row and the audit log as they were', async () => {
    await conn.pool.query(`TRUNCATE shop.audit_log`);
    const before = await customers('id, store_id, email_address, full_name, status, last_update');
    write('20260101000600_customer_name_upper', `op.addColumn('shop.customer', { name: 'name_upper', type: 'text', up: sql\`upper(full_name)\` })`);
    await lifecycle('customer_name_upper', 'abort');
    expect(await customers('id, store_id, email_address, full_name, status, last_update')).toBe(before);
    expect(await audits()).toBe(0);
  });

  it('renaming a primary-key column is refused before anything runs, naming the key', async () => {
    write('20260101000700_staff_key', `op.renameColumn('shop.staff', 'id', 'staff_id')`);
    const r = await run('expand', 'staff_key');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('column "id" is part of the primary key of shop.staff');
    const status = (await run('status', '--json')).json().migrations.map((m: { phase: string }) => m.phase);
    expect(status.filter((p: string) => p !== 'contracted' && p !== 'pending')).toEqual([]);
  });
});
