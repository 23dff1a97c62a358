import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/connect.js';
import { migrate, migrationSource, tempProject } from '../support/cli.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

/** The CLI: row-granular restore with its dry run, and restoring a pre-contract snapshot of a shadowed alterColumn. */
// Many CLI processes per test: generous timeouts for a busy machine.
describe('migrate snapshot restore --where (CLI)', () => {
  let tdb: TestDatabase;
  let conn: Database;
  const project = tempProject();
  const run = (...args: string[]) => migrate(args, { cwd: project.dir, databaseUrl: tdb.url });
  const q = async (sql: string) => (await conn.pool.query(sql)).rows;

  beforeAll(async () => {
    tdb = await createTestDatabase('snaprows');
    conn = await tdb.connect();
    await conn.pool.query(`
      CREATE TABLE accounts (id int PRIMARY KEY, owner text NOT NULL, balance int NOT NULL);
      INSERT INTO accounts SELECT i, 'owner ' || i, 100 * i FROM generate_series(1, 20) i;`);
  });
  afterAll(() => tdb.drop());

  it('dry run prints the counts and changes nothing; --yes restores only the poisoned rows', async () => {
    const snap = (await run('snapshot', 'create', '--tables', 'accounts', '--json')).json();
    // After the snapshot: a legitimate change outside the predicate, and a buggy path zeroing tenants 3 and 4.
    await conn.pool.query(`UPDATE accounts SET balance = 1 WHERE id = 10; INSERT INTO accounts VALUES (21, 'new', 5)`);
    await conn.pool.query(`UPDATE accounts SET balance = 0 WHERE id IN (3, 4); DELETE FROM accounts WHERE id = 5`);
    const before = await q('SELECT * FROM accounts ORDER BY id');

    const refused = await run('snapshot', 'restore', snap.id, '--tables', 'accounts', '--where', 'id BETWEEN 3 AND 5');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`--where 'id BETWEEN 3 AND 5' --dry-run`);

    const dry = await run('snapshot', 'restore', snap.id, '--tables', 'accounts', '--where', 'id BETWEEN 3 AND 5', '--dry-run');
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain(`dry run: restoring snapshot ${snap.id} where id BETWEEN 3 AND 5 would change 3 row(s); nothing was changed`);
    expect(dry.stdout).toMatch(/TABLE\s+MODE\s+MATCHING\s+UPDATE\s+INSERT\s+DELETE\s+UNCHANGED\s+KEPT \(INSERTED SINCE\)/);
    expect(dry.stdout).toMatch(/public\.accounts\s+rows\s+3\s+2\s+1\s+0\s+0\s+0/);
    expect(await q('SELECT * FROM accounts ORDER BY id')).toEqual(before);

    const bad = await run('snapshot', 'restore', snap.id, '--tables', 'accounts', '--where', 'tenant = 3', '--yes');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--where does not work on the snapshot's copy of public\.accounts: column "tenant" does not exist/);
    expect(await q('SELECT * FROM accounts ORDER BY id')).toEqual(before);
    expect((await run('snapshot', 'list', '--json')).json()).toHaveLength(1);

    const done = await run('snapshot', 'restore', snap.id, '--tables', 'accounts', '--where', 'id BETWEEN 3 AND 5', '--yes', '--json');
    expect(done.code, done.stderr).toBe(0);
    const result = done.json();
    expect(result.restored).toEqual([
      expect.objectContaining({ table: 'public.accounts', mode: 'rows', changes: { matching: 3, updated: 2, inserted: 1, deleted: 0, unchanged: 0, keptInserted: 0 } }),
    ]);
    const after = await q('SELECT * FROM accounts ORDER BY id');
    expect(after.filter((r) => r.id >= 3 && r.id <= 5)).toEqual([
      { id: 3, owner: 'owner 3', balance: 300 },
      { id: 4, owner: 'owner 4', balance: 400 },
      { id: 5, owner: 'owner 5', balance: 500 },
    ]);
    // Every other row exactly as it was just before the restore, including the changes made after the snapshot.
    expect(after.filter((r) => r.id < 3 || r.id > 5)).toEqual(before.filter((r) => r.id < 3 || r.id > 5));
    expect(after.find((r) => r.id === 10)).toEqual({ id: 10, owner: 'owner 10', balance: 1 });

    // The safety snapshot undoes it.
    const undo = await run('snapshot', 'restore', result.safetySnapshotId, '--yes');
    expect(undo.code, undo.stderr).toBe(0);
    expect(await q('SELECT * FROM accounts ORDER BY id')).toEqual(before);
  }, 300_000);

  it('restoring the pre-contract snapshot of a shadowed alterColumn never re-adds the shadow column', async () => {
    await conn.pool.query(`
      CREATE TABLE payments (id int PRIMARY KEY, amount int NOT NULL);
      INSERT INTO payments SELECT i, i * 10 FROM generate_series(1, 5) i;`);
    project.write(
      'migrations/20260201000000_amount_cents.ts',
      migrationSource(
        `export default defineMigration({
  flag: 'payments.amount-cents',
  operations: [op.alterColumn('payments', 'amount', { type: 'bigint', up: sql\`amount::bigint * 100\` })],
});`,
        'defineMigration, op, sql',
      ),
    );
    for (const step of [['expand'], ['switch', 'amount_cents'], ['contract', 'amount_cents']]) {
      const r = await run(...step, '--json');
      expect(r.code, `${step.join(' ')}: ${r.stderr}`).toBe(0);
    }
    const columns = () => q(`SELECT attname, format_type(atttypid, atttypmod) AS type FROM pg_attribute WHERE attrelid = 'payments'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`);
    expect(await columns()).toEqual([
      { attname: 'id', type: 'integer' },
      { attname: 'amount', type: 'bigint' },
    ]);
    const snaps = (await run('snapshot', 'list', '--json')).json() as { id: string; phase: string; migration: string }[];
    const preContract = snaps.find((s) => s.migration === '20260201000000_amount_cents' && s.phase === 'contract')!;
    expect(preContract).toBeDefined();
    // The snapshot holds the old column and the shadow.
    const shown = (await run('snapshot', 'show', preContract.id, '--json')).json();
    expect(shown.snapshot.tables[0].columns.map((c: { name: string }) => c.name)).toEqual(['id', 'amount', '_curtain_new_amount']);

    await conn.pool.query(`UPDATE payments SET amount = 7 WHERE id = 1`);
    const r = await run('snapshot', 'restore', preContract.id, '--yes', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(r.json().restored).toEqual([expect.objectContaining({ table: 'public.payments', readdedColumns: [], columnsNotInSnapshot: [] })]);
    expect(await columns()).toEqual([
      { attname: 'id', type: 'integer' },
      { attname: 'amount', type: 'bigint' },
    ]);
    // Filled from the shadow (cents, as contract left them), not from the old integer column (units).
    expect(await q('SELECT id, amount::int AS amount FROM payments ORDER BY id')).toEqual(
      [1, 2, 3, 4, 5].map((i) => ({ id: i, amount: i * 10 * 100 })),
    );
  }, 300_000);
});
