import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/connect.js';
import { migrate, migrationSource, tempProject } from '../support/cli.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

describe('migrate flags set on a migration in flight', { timeout: 10 * 60_000 }, () => {
  let tdb: TestDatabase;
  let conn: Database;
  const project = tempProject();
  const run = (...args: string[]) => migrate(args, { cwd: project.dir, databaseUrl: tdb.url });
  const NAME = '20260101000000_nick';

  beforeAll(async () => {
    tdb = await createTestDatabase('ownedcli');
    conn = await tdb.connect();
    await conn.pool.query(`CREATE TABLE users (id int PRIMARY KEY, name text NOT NULL); INSERT INTO users SELECT i, 'N' || i FROM generate_series(1, 100) i`);
    project.write(
      `migrations/${NAME}.ts`,
      migrationSource(
        `export default defineMigration({ flag: 'users.nick', operations: [op.addColumn('users', { name: 'nick', type: 'text', up: sql\`lower(name)\` })] });`,
        'defineMigration, op, sql',
      ),
    );
  });
  afterAll(() => tdb.drop());

  const flagRow = async () => (await conn.pool.query(`SELECT enabled, rollout, version FROM curtain.flags WHERE key = 'users.nick'`)).rows[0];
  const events = async () => (await conn.pool.query(`SELECT count(*)::int AS n FROM curtain.flag_events WHERE key = 'users.nick'`)).rows[0].n;

  it('is refused (exit 3) with the command to use, and the flag is unchanged', async () => {
    expect((await run('expand')).code).toBe(0);
    // As it is mid-backfill.
    await conn.pool.query(`UPDATE curtain.migrations SET phase = 'expanding'`);
    const before = await flagRow();
    const eventsBefore = await events();
    const r = await run('flags', 'set', 'users.nick', 'on');
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`flag users.nick belongs to migration ${NAME}, which is expanding`);
    // Switch cannot run mid-expand either: the hint names the command that can.
    expect(r.stderr).toContain(`hint: rerun "migrate expand ${NAME}" to finish it, or "migrate abort ${NAME}" to undo it`);
    expect(await flagRow()).toEqual(before);
    expect(await events()).toBe(eventsBefore);
    const percent = await run('flags', 'set', 'users.nick', '--percent', '50');
    expect(percent.code).toBe(3);
    expect(await flagRow()).toEqual(before);
    // Expanded: switch is the one door.
    await conn.pool.query(`UPDATE curtain.migrations SET phase = 'expanded'`);
    const expanded = await run('flags', 'set', 'users.nick', 'on');
    expect(expanded.code).toBe(3);
    expect(expanded.stderr).toContain(`flag users.nick belongs to migration ${NAME}, which is expanded: its flag moves only through switch`);
    expect(expanded.stderr).toContain(`hint: use "migrate switch ${NAME}"`);
    expect(await flagRow()).toEqual(before);
    expect(await events()).toBe(eventsBefore);
  });
});
