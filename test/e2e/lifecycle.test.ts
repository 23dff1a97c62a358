import { writeFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/connect.js';
import { migrate, migrationSource, tempProject } from '../support/cli.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

const notes = migrationSource(
  `export default defineMigration({
  flag: 'notes.table',
  description: 'a notes table',
  async expand({ query }) { await query('CREATE TABLE notes (id int PRIMARY KEY, body text)'); },
  async abort({ query }) { await query('DROP TABLE notes'); },
});`,
);

const codeOnly = migrationSource(`export default defineMigration({ description: 'new checkout path' });`);

describe('the lifecycle through the CLI', { timeout: 10 * 60_000 }, () => {
  let tdb: TestDatabase;
  let conn: Database;
  const project = tempProject();
  const run = (...args: string[]) => migrate(args, { cwd: project.dir, databaseUrl: tdb.url });

  beforeAll(async () => {
    tdb = await createTestDatabase('life');
    conn = await tdb.connect();
    project.write('migrations/20260101000000_notes.ts', notes);
    project.write('migrations/20260102000000_new_checkout.ts', codeOnly);
  });
  afterAll(() => tdb.drop());

  const phaseOf = async (name: string) =>
    (await conn.pool.query(`SELECT phase FROM curtain.migrations WHERE name = $1`, [name])).rows[0]?.phase;
  const flag = async (key: string) => (await conn.pool.query(`SELECT * FROM curtain.flags WHERE key = $1`, [key])).rows[0];

  it('expands every pending migration and creates their flags, off', async () => {
    const r = await run('expand', '--json');
    expect(r.code, r.stderr).toBe(0);
    const out = r.json();
    expect(out.migrations.map((m: any) => [m.migration, m.to])).toEqual([
      ['20260101000000_notes', 'expanded'],
      ['20260102000000_new_checkout', 'expanded'],
    ]);
    expect((await conn.pool.query(`SELECT to_regclass('public.notes') AS t`)).rows[0].t).toBe('notes');
    expect(await flag('notes.table')).toMatchObject({ enabled: false, migration: '20260101000000_notes' });
    expect(await flag('new_checkout')).toMatchObject({ enabled: false });
  });

  it('is idempotent: a second expand does nothing', async () => {
    const r = await run('expand', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(r.json().migrations).toEqual([]);
  });

  it('refuses to contract while the flag is off (exit 3) and changes nothing', async () => {
    const r = await run('contract', 'notes');
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('flag-fully-on');
    expect(await phaseOf('20260101000000_notes')).toBe('expanded');
  });

  it('refuses to contract a partial rollout, then contracts at 100 % and locks the flag on', async () => {
    expect((await run('switch', 'notes', '--percent', '50')).code).toBe(0);
    expect(await flag('notes.table')).toMatchObject({ enabled: true, rollout: 50 });
    const refused = await run('contract', 'notes');
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain('only 50%');
    expect(await phaseOf('20260101000000_notes')).toBe('switched');

    expect((await run('switch', 'notes')).code).toBe(0);
    const r = await run('contract', 'notes', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(r.json().migrations[0]).toMatchObject({ migration: '20260101000000_notes', from: 'switched', to: 'contracted' });
    expect(await flag('notes.table')).toMatchObject({ enabled: true, rollout: 100, retired: true });
    const events = (await conn.pool.query(`SELECT event FROM curtain.migration_events WHERE migration = $1 ORDER BY id`, ['20260101000000_notes'])).rows;
    expect(events.map((e) => e.event)).toEqual(['expand.start', 'expand.done', 'switch.on', 'switch.on', 'contract.start', 'contract.done']);
  });

  it('switches back off, and aborts a code migration', async () => {
    expect((await run('switch', 'new_checkout', '--percent', '30')).code).toBe(0);
    expect((await run('switch', 'new_checkout', '--off')).code).toBe(0);
    expect(await flag('new_checkout')).toMatchObject({ enabled: false });
    expect(await phaseOf('20260102000000_new_checkout')).toBe('expanded');
    const r = await run('abort', 'new_checkout');
    expect(r.code, r.stderr).toBe(0);
    expect(await flag('new_checkout')).toBeUndefined();
    expect(await phaseOf('20260102000000_new_checkout')).toBe('aborted');
  });

  it('rejects bad arguments with exit 2', async () => {
    const r = await run('switch', 'notes', '--percent', '150');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--percent must be a whole number from 0 to 100');
    expect((await run('frobnicate')).code).toBe(2);
    const unknown = await run('switch', 'nope');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('no migration named "nope"');
  });

  it('refuses every command once an applied file changed, naming the file', async () => {
    const file = path.join(project.dir, 'migrations/20260101000000_notes.ts');
    writeFileSync(file, `${notes}\n// edited\n`);
    for (const args of [['status'], ['expand'], ['switch', 'new_checkout'], ['plan']]) {
      const r = await run(...args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr).toContain('20260101000000_notes.ts');
      expect(r.stderr).toContain('immutable');
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    }
    writeFileSync(file, notes);
    expect((await run('status')).code).toBe(0);
  });
});

describe('failures leave nothing behind', () => {
  let tdb: TestDatabase;
  let conn: Database;
  const project = tempProject();
  const run = (...args: string[]) => migrate(args, { cwd: project.dir, databaseUrl: tdb.url });
  beforeAll(async () => {
    tdb = await createTestDatabase('fail');
    conn = await tdb.connect();
  });
  afterAll(() => tdb.drop());

  it('a migration that throws half-way through expand is rolled back entirely', async () => {
    project.write(
      'migrations/20260101000000_half.ts',
      migrationSource(`export default defineMigration({
  async expand({ query }) {
    await query('CREATE TABLE half_done (id int)');
    throw new Error('boom in the middle');
  },
});`),
    );
    const r = await run('expand');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('boom in the middle');
    expect((await conn.pool.query(`SELECT to_regclass('public.half_done') AS t`)).rows[0].t).toBeNull();
    expect((await conn.pool.query(`SELECT count(*)::int AS n FROM curtain.migrations`)).rows[0].n).toBe(0);
    expect((await conn.pool.query(`SELECT count(*)::int AS n FROM curtain.flags`)).rows[0].n).toBe(0);
  });

  it('an unreachable database is one clear error', async () => {
    const r = await migrate(['status'], { cwd: project.dir, databaseUrl: 'postgres://postgres@127.0.0.1:1/none' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('cannot connect to postgres://postgres@127.0.0.1:1/none');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('one migrate at a time', { timeout: 10 * 60_000 }, () => {
  let tdb: TestDatabase;
  const project = tempProject();
  beforeAll(async () => {
    tdb = await createTestDatabase('lock');
    // The first expand holds the migrate lock until the test lets its custom step finish
    // (it waits for an advisory lock the test holds): no timing window to miss on a busy machine.
    project.write(
      'migrations/20260101000000_slow.ts',
      migrationSource(`export default defineMigration({
  async expand({ query }) { await query('SELECT pg_advisory_xact_lock(4242)'); await query('CREATE TABLE slow (id int)'); },
  async abort({ query }) { await query('DROP TABLE slow'); },
});`),
    );
  });
  afterAll(() => tdb.drop());

  it('a second concurrent expand exits 4 naming the holder; nothing is applied twice', async () => {
    const gate = new pg.Client({ connectionString: tdb.url });
    await gate.connect();
    await gate.query('SELECT pg_advisory_lock(4242)');
    const first = migrate(['expand'], { cwd: project.dir, databaseUrl: tdb.url });
    try {
      // Wait until the first one holds the migrate lock and is inside its step, however slow its start.
      const watcher = await tdb.connect();
      for (;;) {
        const { rows } = await watcher.pool.query(
          `SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND objid = 4242 AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
        );
        if (rows.length > 0) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      const second = await migrate(['--lock-wait', '500ms', 'expand'], { cwd: project.dir, databaseUrl: tdb.url });
      expect(second.code, second.stderr).toBe(4);
      expect(second.stderr).toMatch(/another migrate holds the lock on this database \(migrate expand \(pid \d+ on /);
    } finally {
      await gate.query('SELECT pg_advisory_unlock(4242)');
      await gate.end();
    }
    const done = await first;
    expect(done.code, done.stderr).toBe(0);
    const conn = await tdb.connect();
    const events = await conn.pool.query(`SELECT count(*)::int AS n FROM curtain.migration_events WHERE event = 'expand.done'`);
    expect(events.rows[0].n).toBe(1);
  });
});

describe('a migration whose file was deleted after expand', () => {
  let tdb: TestDatabase;
  let conn: Database;
  const project = tempProject();
  const run = (...args: string[]) => migrate(args, { cwd: project.dir, databaseUrl: tdb.url });
  beforeAll(async () => {
    tdb = await createTestDatabase('gone');
    conn = await tdb.connect();
    await conn.pool.query(`CREATE TABLE users (id bigint PRIMARY KEY, email text); INSERT INTO users VALUES (1, 'a@example.com')`);
  });
  afterAll(() => tdb.drop());

  it('is still shown by status and aborted by its short name, from the program persisted at expand', async () => {
    const file = project.write(
      'migrations/20260101000000_add_phone.ts',
      migrationSource(`export default defineMigration({ operations: [op.addColumn('users', { name: 'phone', type: 'text', up: sql\`'n/a'\` })] });`, 'defineMigration, op, sql'),
    );
    expect((await run('expand')).code).toBe(0);
    expect((await conn.pool.query(`SELECT phone FROM users`)).rows).toEqual([{ phone: 'n/a' }]);
    const { rmSync } = await import('node:fs');
    rmSync(file);
    const status = await run('status', '--json');
    expect(status.code, status.stderr).toBe(0);
    expect(status.json().migrations.map((m: any) => [m.name, m.phase])).toEqual([['20260101000000_add_phone', 'expanded']]);
    const r = await run('abort', 'add_phone', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(r.json().migrations.map((m: any) => [m.migration, m.to])).toEqual([['20260101000000_add_phone', 'pending']]);
    const cols = (await conn.pool.query(`SELECT column_name FROM information_schema.columns WHERE table_name = 'users' ORDER BY ordinal_position`)).rows;
    expect(cols.map((c) => c.column_name)).toEqual(['id', 'email']);
  });
});
