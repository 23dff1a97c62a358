import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/connect.js';
import { migrate, migrationSource, tempProject } from '../support/cli.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

const IMPORTS = 'defineMigration, op, sql';

describe('objects reading a column in flight', { timeout: 240_000 }, () => {
  let tdb: TestDatabase;
  let conn: Database;
  const project = tempProject();
  const run = (...args: string[]) => migrate(args, { cwd: project.dir, databaseUrl: tdb.url });
  beforeAll(async () => {
    tdb = await createTestDatabase('inflightreads');
    conn = await tdb.connect();
    await conn.pool.query(`CREATE TABLE staff (id int PRIMARY KEY, username text, email text); INSERT INTO staff SELECT i, 'user' || i, 'e' || i FROM generate_series(1, 20) i`);
    project.write('migrations/20260101000000_login.ts', migrationSource(`export default defineMigration({ operations: [op.renameColumn('staff', 'username', 'login')] });`, IMPORTS));
    project.write(
      'migrations/20260102000000_username_check.ts',
      migrationSource(`export default defineMigration({ operations: [op.addConstraint('staff', { type: 'check', name: 'username_len', expression: sql\`length(username) >= 3\` })] });`, IMPORTS),
    );
    project.write('migrations/20260103000000_username_index.ts', migrationSource(`export default defineMigration({ operations: [op.createIndex('staff', { columns: ['email'], where: sql\`username IS NOT NULL\` })] });`, IMPORTS));
  });
  afterAll(() => tdb.drop());

  it('a CHECK or an index over a column another in-flight migration renames is refused at expand, naming that migration', async () => {
    expect((await run('expand', 'login')).code).toBe(0);
    const check = await run('expand', 'username_check');
    expect(check.code).toBe(3);
    expect(check.stderr).toContain('refused by guard "no-overlap"');
    expect(check.stderr).toContain('20260102000000_username_check touches public.staff.username, which 20260101000000_login (expanded) is already changing');
    const index = await run('expand', 'username_index');
    expect(index.code).toBe(3);
    expect(index.stderr).toContain('which 20260101000000_login (expanded) is already changing');
    const k = await conn.pool.query(`SELECT conname FROM pg_constraint WHERE conrelid = 'staff'::regclass AND contype = 'c'`);
    expect(k.rows).toEqual([]);
  });

  it('the other way round: renaming a column a pending CHECK of an in-flight migration reads is refused too', async () => {
    expect((await run('abort', 'login')).code).toBe(0);
    expect((await run('expand', 'username_check')).code).toBe(0);
    const r = await run('expand', 'login');
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('20260101000000_login touches public.staff.username, which 20260102000000_username_check (expanded) is already changing');
  });
});
