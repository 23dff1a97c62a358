import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/connect.js';
import { migrate, migrationSource, tempProject } from '../support/cli.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

const users = migrationSource(
  `export default defineMigration({
  description: 'users table',
  operations: [op.createTable('users', { columns: [{ name: 'id', type: 'bigint', primaryKey: true }, { name: 'name', type: 'text' }] })],
});`,
  'defineMigration, op',
);
const email = migrationSource(
  `export default defineMigration({
  description: 'users.email',
  operations: [op.addColumn('users', { name: 'email', type: 'text' })],
});`,
  'defineMigration, op',
);
const rename = migrationSource(
  `export default defineMigration({ operations: [op.renameColumn('users', 'name', 'full_name')] });`,
  'defineMigration, op',
);

describe('migrate up', () => {
  let tdb: TestDatabase;
  let conn: Database;
  const project = tempProject();
  const run = (...args: string[]) => migrate(args, { cwd: project.dir, databaseUrl: tdb.url });
  const columns = async () =>
    (await conn.pool.query(`SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = 'users' ORDER BY column_name`)).rows.map(
      (r) => r.column_name,
    );
  const phases = async () => (await conn.pool.query(`SELECT name, phase FROM curtain.migrations ORDER BY name`)).rows.map((r) => [r.name, r.phase]);

  beforeAll(async () => {
    tdb = await createTestDatabase('up');
    project.write('migrations/20260101000000_users.ts', users);
    project.write('migrations/20260102000000_email.ts', email);
  });
  afterAll(() => tdb.drop());

  it('brings an empty database to head in one command, listing what it skipped', async () => {
    const r = await run('up', '--json');
    expect(r.code, r.stderr).toBe(0);
    const out = r.json();
    expect(out.migrations.map((m: any) => [m.migration, m.from, m.to])).toEqual([
      ['20260101000000_users', 'pending', 'contracted'],
      ['20260102000000_email', 'pending', 'contracted'],
    ]);
    expect(out.migrations[0].details.skipped).toEqual(['snapshot before switch', 'soak', 'no-false-evaluations', 'snapshot before contract']);
    conn = await tdb.connect();
    expect(await columns()).toEqual(['email', 'id', 'name']);
    expect(await phases()).toEqual([
      ['20260101000000_users', 'contracted'],
      ['20260102000000_email', 'contracted'],
    ]);
    const events = (await conn.pool.query(`SELECT event, details FROM curtain.migration_events WHERE migration = '20260102000000_email' ORDER BY id`)).rows;
    expect(events.map((e) => e.event)).toEqual(['expand.start', 'expand.done', 'switch.on', 'contract.start', 'contract.done', 'up']);
    expect(events.at(-1).details.skipped).toContain('soak');
    expect((await conn.pool.query(`SELECT count(*)::int AS n FROM curtain.snapshots`)).rows[0].n).toBe(0);
  });

  it('does nothing on a second run, and exits 0', async () => {
    const r = await run('up');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('nothing to do: every migration is contracted');
    const events = (await conn.pool.query(`SELECT count(*)::int AS n FROM curtain.migration_events`)).rows[0].n;
    expect((await run('up', '--json')).json().migrations).toEqual([]);
    expect((await conn.pool.query(`SELECT count(*)::int AS n FROM curtain.migration_events`)).rows[0].n).toBe(events);
  });

  it('refuses (exit 3) while another client is connected, changing nothing; goes on with --yes', async () => {
    project.write('migrations/20260103000000_rename.ts', rename);
    const other = new pg.Client({ connectionString: tdb.url, application_name: 'the app' });
    await other.connect();
    try {
      const refused = await run('up');
      expect(refused.code, refused.stderr).toBe(3);
      expect(refused.stderr).toContain('no-live-traffic');
      expect(refused.stderr).toContain('the app');
      expect(await columns()).toEqual(['email', 'id', 'name']);
      expect((await phases()).length).toBe(2);

      const r = await run('--yes', 'up', '--json');
      expect(r.code, r.stderr).toBe(0);
      expect(r.json().migrations.map((m: any) => m.to)).toEqual(['contracted']);
      expect(await columns()).toEqual(['email', 'full_name', 'id']);
      const up = (await conn.pool.query(`SELECT details FROM curtain.migration_events WHERE migration = '20260103000000_rename' AND event = 'up'`)).rows[0];
      expect(up.details).toMatchObject({ confirmed: true });
    } finally {
      await other.end();
    }
  });

  it('refuses (exit 3) while a flags client reports, naming it', async () => {
    project.write(
      'migrations/20260103500000_bio.ts',
      migrationSource(`export default defineMigration({ operations: [op.addColumn('users', { name: 'bio', type: 'text' })] });`, 'defineMigration, op'),
    );
    await conn.pool.query(`INSERT INTO curtain.clients (id, app_name, host, pid, last_seen_at) VALUES ('c1', 'checkout', 'web-1', 4242, now())`);
    try {
      const refused = await run('up');
      expect(refused.code).toBe(3);
      expect(refused.stderr).toContain('flags client checkout on web-1 (pid 4242) reported recently');
      expect(await columns()).toEqual(['email', 'full_name', 'id']);
    } finally {
      await conn.pool.query(`DELETE FROM curtain.clients WHERE id = 'c1'`);
    }
    expect((await run('up')).code).toBe(0);
    expect(await columns()).toEqual(['bio', 'email', 'full_name', 'id']);
  });

  it('runs without asking where the configuration says the environment is disposable', async () => {
    project.write('curtain.config.json', JSON.stringify({ disposable: true }));
    project.write(
      'migrations/20260104000000_phone.ts',
      migrationSource(`export default defineMigration({ operations: [op.addColumn('users', { name: 'phone', type: 'text' })] });`, 'defineMigration, op'),
    );
    const other = new pg.Client({ connectionString: tdb.url, application_name: 'the app' });
    await other.connect();
    try {
      const r = await run('up');
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('skipped (no live traffic)');
      expect(await columns()).toEqual(['bio', 'email', 'full_name', 'id', 'phone']);
    } finally {
      await other.end();
    }
  });

  it('rejects a configuration whose disposable is not a boolean (exit 2)', async () => {
    project.write('curtain.config.json', JSON.stringify({ disposable: 'yes' }));
    const r = await run('up');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('disposable');
  });
});
