import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/connect.js';
import { migrate, migrationSource, tempProject } from '../support/cli.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

const IMPORTS = 'defineMigration, op, sql';

describe('several migrations in flight', () => {
  let tdb: TestDatabase;
  let conn: Database;
  const project = tempProject();
  const run = (...args: string[]) => migrate(args, { cwd: project.dir, databaseUrl: tdb.url });
  beforeAll(async () => {
    tdb = await createTestDatabase('inflight');
    conn = await tdb.connect();
    await conn.pool.query(`CREATE TABLE users (id int PRIMARY KEY, email text, name text, age int); INSERT INTO users SELECT i, 'u' || i, 'n' || i, i FROM generate_series(1, 20) i`);
    project.write('migrations/20260101000000_email_address.ts', migrationSource(`export default defineMigration({ operations: [op.renameColumn('users', 'email', 'email_address')] });`, IMPORTS));
    project.write(
      'migrations/20260102000000_age_bigint.ts',
      migrationSource(`export default defineMigration({ operations: [op.alterColumn('users', 'age', { type: 'bigint', up: sql\`age::bigint\`, down: sql\`age::int\` })] });`, IMPORTS),
    );
    project.write('migrations/20260103000000_lower_email.ts', migrationSource(`export default defineMigration({ operations: [op.addColumn('users', { name: 'email_lower', type: 'text', up: sql\`lower(email)\` })] });`, IMPORTS));
  });
  afterAll(() => tdb.drop());

  it('run side by side when they change different columns, and a third touching a column in flight is refused naming the first', async () => {
    expect((await run('expand', 'email_address')).code).toBe(0);
    expect((await run('expand', 'age_bigint')).code).toBe(0);
    const r = await run('expand', 'lower_email');
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('refused by guard "no-overlap"');
    expect(r.stderr).toContain('20260103000000_lower_email touches public.users.email, which 20260101000000_email_address (expanded) is already changing');
    expect((await conn.pool.query(`SELECT 1 FROM information_schema.columns WHERE table_name = 'users' AND column_name = 'email_lower'`)).rows).toHaveLength(0);

    // Both in flight at once, switched independently; once the first is contracted the third may go.
    expect((await run('switch', 'email_address')).code).toBe(0);
    expect((await run('switch', 'age_bigint', '--percent', '50')).code).toBe(0);
    const status = (await run('status', '--json')).json().migrations.map((m: { name: string; phase: string; flagState: string }) => [m.name, m.phase, m.flagState]);
    expect(status).toEqual([
      ['20260101000000_email_address', 'switched', 'on'],
      ['20260102000000_age_bigint', 'switched', 'on 50%'],
      ['20260103000000_lower_email', 'pending', null],
    ]);
    expect((await run('contract', 'email_address')).code).toBe(0);
    // The first is contracted: no overlap any more, but its up expression reads the dropped column,
    // which PostgreSQL reports before anything runs.
    const third = await run('expand', 'lower_email');
    expect(third.code).toBe(1);
    expect(third.stderr).toContain('the expression that fills users.email_lower is invalid: column "email" does not exist');
    expect((await conn.pool.query(`SELECT 1 FROM information_schema.columns WHERE table_name = 'users' AND column_name = 'email_lower'`)).rows).toHaveLength(0);
  });
});
