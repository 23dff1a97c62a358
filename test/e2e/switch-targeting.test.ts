import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/connect.js';
import { createFlags } from '../../src/flags/client.js';
import { migrate, migrationSource, tempProject } from '../support/cli.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

/** `migrate switch --for/--where`: testing in production before any percentage, through the lifecycle's one door. */
describe('migrate switch with targeting', () => {
  let tdb: TestDatabase;
  let conn: Database;
  const project = tempProject();
  const run = (...args: string[]) => migrate(args, { cwd: project.dir, databaseUrl: tdb.url });

  beforeAll(async () => {
    tdb = await createTestDatabase('switchtarget');
    conn = await tdb.connect();
    await conn.pool.query(`CREATE TABLE users (id int PRIMARY KEY, email text); INSERT INTO users SELECT i, 'u' || i FROM generate_series(1, 20) i`);
    project.write(
      'migrations/20260101000000_rename_email.ts',
      migrationSource(`export default defineMigration({ flag: 'users.email-address', operations: [op.renameColumn('users', 'email', 'email_address')] });`, 'defineMigration, op'),
    );
    expect((await run('expand')).code).toBe(0);
  });
  afterAll(() => tdb.drop());

  it('turns the flag on for the allowlist and the matching contexts only, audited, and keeps the migration contractable only at 100 %', async () => {
    const bad = await run('switch', 'rename_email', '--where', 'tenant in acme');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/invalid --where "tenant in acme"/);
    expect((await conn.pool.query(`SELECT enabled FROM curtain.flags WHERE key = 'users.email-address'`)).rows[0].enabled).toBe(false);

    const r = await run('switch', 'rename_email', '--for', 'user:42,user:7', '--where', 'tenant in (acme, initech)', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(r.json().migrations[0]).toMatchObject({ to: 'switched', details: { for: ['user:42,user:7'], where: ['tenant in (acme, initech)'] } });
    const flags = await createFlags({ pool: conn.pool, telemetry: false, listen: false });
    try {
      expect(flags.isEnabled('users.email-address', { targetingKey: 'user:42' })).toBe(true);
      expect(flags.isEnabled('users.email-address', { targetingKey: 'user:7' })).toBe(true);
      expect(flags.isEnabled('users.email-address', { targetingKey: 'user:8', tenant: 'acme' })).toBe(true);
      expect(flags.isEnabled('users.email-address', { targetingKey: 'user:8', tenant: 'globex' })).toBe(false);
      expect(flags.isEnabled('users.email-address', { targetingKey: 'user:9' })).toBe(false);
    } finally {
      await flags.close();
    }
    const history = await run('flags', 'history', 'users.email-address', '--json');
    expect(JSON.stringify(history.json())).toMatch(/switch 20260101000000_rename_email/);
    // Not fully on: contract refuses.
    const c = await run('contract', 'rename_email');
    expect(c.code).toBe(3);
    expect(c.stderr).toMatch(/refused by guard "flag-fully-on"/);
  });
});
