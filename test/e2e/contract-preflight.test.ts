import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/connect.js';
import { BIN, migrate, migrationSource, tempProject } from '../support/cli.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

/**
 * Contract in two halves: whatever can fail without destroying anything fails
 * in the preflight, leaving the migration switched with nothing dropped; once
 * the cause is fixed, the same command completes. A failure in the
 * destructive half leaves it contracting, names the snapshot to restore, and
 * a rerun finishes it.
 */

const SEED = `
  CREATE TABLE users (id int PRIMARY KEY, full_name text, email text);
  CREATE TABLE orders (id int PRIMARY KEY, user_id int REFERENCES users (id), total int);
  INSERT INTO users SELECT i, 'first' || i || ' last' || i, 'u' || i || '@example.com' FROM generate_series(1, 50) i;
  INSERT INTO orders SELECT i, 1 + i % 50, CASE WHEN i <= 28 THEN -i ELSE i * 10 END FROM generate_series(1, 80) i;`;

const SPLIT = (extra = '') =>
  migrationSource(
    `export default defineMigration({
  flag: 'users.split',
  operations: [
    op.addColumn('users', { name: 'first_name', type: 'text', up: sql\`split_part(full_name, ' ', 1)\` }),
    op.dropColumn('users', 'full_name', { down: sql\`first_name || ' x'\` }),${extra}
  ],
});`,
    'defineMigration, op, sql',
  );

const CHECK = migrationSource(
  `export default defineMigration({
  flag: 'orders.positive',
  operations: [op.addConstraint('orders', { type: 'check', name: 'orders_total_positive', expression: sql\`total > 0\` })],
});`,
  'defineMigration, op, sql',
);

describe('contract preflight', () => {
  let tdb: TestDatabase;
  let conn: Database;
  let project: ReturnType<typeof tempProject>;
  const run = (...args: string[]) => migrate(args, { cwd: project.dir, databaseUrl: tdb.url });
  const phase = async (name: string) => (await conn.pool.query(`SELECT phase FROM curtain.migrations WHERE name = $1`, [name])).rows[0]?.phase;
  const hasColumn = async (table: string, c: string) =>
    (await conn.pool.query(`SELECT 1 FROM information_schema.columns WHERE table_name = $1 AND column_name = $2`, [table, c])).rows.length > 0;
  const contractSnapshots = async () => (await conn.pool.query(`SELECT count(*)::int AS n FROM curtain.snapshots WHERE phase = 'contract'`)).rows[0].n;

  async function switched(file: string, source: string, short: string) {
    tdb = await createTestDatabase('preflight');
    conn = await tdb.connect();
    await conn.pool.query(SEED);
    project = tempProject();
    project.write(`migrations/${file}.ts`, source);
    const e = await run('expand');
    expect(e.code, e.stderr).toBe(0);
    const s = await run('switch', short);
    expect(s.code, s.stderr).toBe(0);
  }

  afterEach(async () => {
    await tdb?.drop();
  });

  it('(a) a view using the dropped column: refused naming the view, nothing dropped, no snapshot; contract completes once the view is gone', async () => {
    await switched('20260101000000_split', SPLIT(), 'split');
    await conn.pool.query(`CREATE VIEW user_names AS SELECT id, full_name FROM users`);
    const r = await run('contract', 'split');
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toContain('refused by guard "preflight"');
    expect(r.stderr).toMatch(/view user_names depends on column full_name of table users/);
    expect(r.stderr).toMatch(/SQLSTATE 2BP01/);
    expect(await phase('20260101000000_split')).toBe('switched');
    expect(await hasColumn('users', 'full_name')).toBe(true);
    expect(await contractSnapshots()).toBe(0);
    // The dual-write trigger is still there: old code keeps working.
    await conn.pool.query(`INSERT INTO users (id, full_name) VALUES (1000, 'ann bee')`);
    expect((await conn.pool.query(`SELECT first_name FROM users WHERE id = 1000`)).rows[0].first_name).toBe('ann');

    await conn.pool.query(`DROP VIEW user_names`);
    const again = await run('contract', 'split');
    expect(again.code, again.stderr).toBe(0);
    expect(await phase('20260101000000_split')).toBe('contracted');
    expect(await hasColumn('users', 'full_name')).toBe(false);
  });

  it('(b) a CHECK that existing rows violate: VALIDATE fails in the preflight (exit 1), the migration stays switched; contract completes once the rows are fixed', async () => {
    await switched('20260101000000_positive', CHECK, 'positive');
    const r = await run('contract', 'positive', '--json');
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/stopped before anything was dropped/);
    expect(r.stderr).toMatch(/orders_total_positive/);
    expect(r.stderr).toMatch(/is violated by some row/);
    // --json: exactly one document, naming the step.
    const doc = r.json();
    expect(doc).toMatchObject({ exitCode: 1, step: { phase: 'contract', description: expect.stringMatching(/orders_total_positive/) } });
    expect(doc.hint).toMatch(/still switched/);
    expect(await phase('20260101000000_positive')).toBe('switched');
    const validated = async () =>
      (await conn.pool.query(`SELECT convalidated FROM pg_constraint WHERE conname = 'orders_total_positive'`)).rows[0]?.convalidated;
    expect(await validated()).toBe(false);

    const { rowCount } = await conn.pool.query(`UPDATE orders SET total = -total WHERE total <= 0`);
    expect(rowCount).toBe(28);
    const again = await run('contract', 'positive');
    expect(again.code, again.stderr).toBe(0);
    expect(await phase('20260101000000_positive')).toBe('contracted');
    expect(await validated()).toBe(true);
  });

  it('(c) a constraint that is already gone: named in the error, the migration stays switched; contract completes once it exists again', async () => {
    await switched('20260101000000_positive', CHECK, 'positive');
    await conn.pool.query(`UPDATE orders SET total = -total WHERE total <= 0`);
    await conn.pool.query(`ALTER TABLE orders DROP CONSTRAINT orders_total_positive`);
    const r = await run('contract', 'positive');
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/constraint "orders_total_positive" of relation "orders" does not exist/);
    expect(r.stderr).toMatch(/stopped before anything was dropped/);
    expect(await phase('20260101000000_positive')).toBe('switched');
    const status = await run('status', '--json');
    expect(status.json().migrations[0]).toMatchObject({ phase: 'switched', next: expect.arrayContaining(['contract', 'abort']) });

    await conn.pool.query(`ALTER TABLE orders ADD CONSTRAINT orders_total_positive CHECK (total > 0) NOT VALID`);
    const again = await run('contract', 'positive');
    expect(again.code, again.stderr).toBe(0);
    expect(await phase('20260101000000_positive')).toBe('contracted');
  });

  it('a failure in the destructive half leaves it contracting, names the snapshot to restore, and a rerun finishes it', async () => {
    // The statement runs outside a transaction, after the column is dropped: it is not rehearsed.
    await switched(
      '20260101000000_split',
      SPLIT(`\n    op.sql({ up: 'SELECT 1', onContract: 'VACUUM contract_marker', transactional: false, lock: 'SHARE UPDATE EXCLUSIVE' }),`),
      'split',
    );
    const r = await run('contract', 'split');
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/stopped in its destructive half/);
    const snapshot = (await conn.pool.query(`SELECT id FROM curtain.snapshots WHERE phase = 'contract'`)).rows[0]?.id;
    expect(snapshot).toBeTruthy();
    expect(r.stderr).toContain(`migrate snapshot restore ${snapshot}`);
    expect(await phase('20260101000000_split')).toBe('contracting');
    expect(await hasColumn('users', 'full_name')).toBe(false);
    // Nothing but contract moves it now, and status says so.
    const off = await run('switch', 'split', '--off');
    expect(off.code).toBe(2);
    expect(off.stderr).toMatch(/rerun "migrate contract 20260101000000_split"/);
    expect((await run('status', '--json')).json().migrations[0].next).toEqual(['contract']);

    await conn.pool.query(`CREATE TABLE contract_marker (id int)`);
    const again = await run('contract', 'split');
    expect(again.code, again.stderr).toBe(0);
    expect(await phase('20260101000000_split')).toBe('contracted');
    // Exactly one contract snapshot: the rerun did not take another.
    expect(await contractSnapshots()).toBe(1);
  });

  it('SIGKILL in the destructive half: the rerun completes it', async () => {
    // A statement after the drops that waits for a lock the test holds: the contract is caught mid-way.
    await switched(
      '20260101000000_split',
      SPLIT(`\n    op.sql({ up: 'SELECT 1', onContract: 'SELECT pg_advisory_xact_lock(4242)', transactional: false, lock: 'none' }),`),
      'split',
    );
    const holder = await conn.pool.connect();
    await holder.query('SELECT pg_advisory_lock(4242)');
    const child = spawn(process.execPath, [BIN, '--database-url', tdb.url, 'contract', 'split'], { cwd: project.dir, stdio: 'ignore' });
    const exited = new Promise((r) => child.on('close', r));
    try {
      // Wait until the contract waits on our lock, with the old column already dropped.
      for (;;) {
        const { rows } = await conn.pool.query(
          `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%pg_advisory_xact_lock(4242)%'`,
        );
        if (rows.length > 0) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(await phase('20260101000000_split')).toBe('contracting');
      expect(await hasColumn('users', 'full_name')).toBe(false);
      child.kill('SIGKILL');
      await exited;
    } finally {
      await holder.query('SELECT pg_advisory_unlock(4242)');
      holder.release();
    }
    const again = await run('contract', 'split');
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/resuming an interrupted contract/);
    expect(await phase('20260101000000_split')).toBe('contracted');
    expect(await contractSnapshots()).toBe(1);
    const flag = (await conn.pool.query(`SELECT enabled, retired FROM curtain.flags WHERE key = 'users.split'`)).rows[0];
    expect(flag).toEqual({ enabled: true, retired: true });
  });
});
