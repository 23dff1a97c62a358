import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/connect.js';
import { migrate, migrationSource, tempProject } from '../support/cli.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

const IMPORTS = 'defineMigration, op, sql';

describe('migrate lint against a database', { timeout: 300_000 }, () => {
  let tdb: TestDatabase;
  let conn: Database;
  const project = tempProject();
  const run = (...args: string[]) => migrate(args, { cwd: project.dir, databaseUrl: tdb.url });
  beforeAll(async () => {
    tdb = await createTestDatabase('lintapplied');
    conn = await tdb.connect();
    await conn.pool.query(`
      CREATE TABLE users (id int PRIMARY KEY, email text, name text);
      INSERT INTO users SELECT i, 'u' || i, 'n' || i FROM generate_series(1, 20) i;
      CREATE FUNCTION user_email(p int) RETURNS text LANGUAGE plpgsql AS $$ BEGIN RETURN (SELECT email FROM users WHERE id = p); END $$;`);
    project.write('migrations/20260101000000_email_address.ts', migrationSource(`export default defineMigration({ operations: [op.renameColumn('users', 'email', 'email_address')] });`, IMPORTS));
    project.write(
      'migrations/20260102000000_name_upper.ts',
      migrationSource(`export default defineMigration({ operations: [op.addColumn('users', { name: 'name_upper', type: 'text', up: sql\`upper(name)\` })] });`, IMPORTS),
    );
  });
  afterAll(() => tdb.drop());

  it('warns about a function that may break while the rename is ahead, and exits 0 once every migration is contracted (nothing is re-planned)', async () => {
    const before = await run('lint');
    expect(before.code, before.stdout + before.stderr).toBe(0);
    expect(before.stdout).toContain('function-may-break');
    expect(before.stdout).toContain('function user_email(integer) (plpgsql body mentions email) may break');
    expect(before.stdout).toContain('2 migration(s) linted: 0 error(s), 1 warning(s)');

    const plan = await run('plan', 'email_address');
    expect(plan.stdout).toContain('warning function user_email(integer) (plpgsql body mentions email) may break');

    for (const name of ['email_address', 'name_upper']) {
      for (const cmd of ['expand', 'switch', 'contract']) {
        const r = await run(cmd, name);
        expect(r.code, `${cmd} ${name}: ${r.stderr}`).toBe(0);
      }
    }
    // Re-planning these against today's catalog would fail (email is gone, name_upper exists).
    const after = await run('lint');
    expect(after.code, after.stdout + after.stderr).toBe(0);
    expect(after.stdout).toContain('2 migration(s) linted: 0 error(s), 0 warning(s)');
  });
});
