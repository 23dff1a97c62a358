import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../../src/db/connect.js';
import { createMigrator, type Migrator } from '../../../src/migration/migrator.js';
import { migrationSource } from '../../support/cli.js';
import { createTestDatabase, type TestDatabase } from '../../support/database.js';

/**
 * The same migration expanded and aborted again and again (fix, retry) must
 * run every step every time: no step record of an earlier lifecycle may make
 * a later one skip a step as "already done" and still report success.
 */
describe('expand and abort, repeated', () => {
  let tdb: TestDatabase;
  let conn: Database;
  let migrator: Migrator;

  beforeAll(async () => {
    tdb = await createTestDatabase('repeat');
    conn = await tdb.connect();
    await conn.pool.query(`CREATE TABLE customer (id int PRIMARY KEY, email text); INSERT INTO customer SELECT i, 'c' || i FROM generate_series(1, 50) i`);
    const cwd = mkdtempSync(path.join(os.tmpdir(), 'curtain-repeat-'));
    mkdirSync(path.join(cwd, 'migrations'));
    writeFileSync(
      path.join(cwd, 'migrations/20260101000000_email_address.ts'),
      migrationSource(`export default defineMigration({ operations: [op.renameColumn('customer', 'email', 'email_address')] });`, 'defineMigration, op'),
    );
    migrator = await createMigrator({ pool: conn.pool, cwd, migrationsDir: 'migrations', actor: 'test' });
  });
  afterAll(() => tdb.drop());

  const columns = async () =>
    (await conn.pool.query(`SELECT column_name FROM information_schema.columns WHERE table_name = 'customer' ORDER BY ordinal_position`)).rows.map((r) => r.column_name);
  const triggers = async () => (await conn.pool.query(`SELECT count(*)::int AS n FROM pg_trigger WHERE tgrelid = 'customer'::regclass AND NOT tgisinternal`)).rows[0].n;

  it('three rounds of expand then abort each build and remove everything', async () => {
    for (let round = 1; round <= 3; round++) {
      const [expanded] = await migrator.expand();
      expect(expanded?.to, `round ${round}`).toBe('expanded');
      expect(await columns(), `round ${round}`).toEqual(['id', 'email', 'email_address']);
      expect(await triggers()).toBe(1);
      const aborted = await migrator.abort('email_address');
      expect(aborted.to).toBe('pending');
      expect(await columns(), `round ${round}`).toEqual(['id', 'email']);
      expect(await triggers()).toBe(0);
      const phase = (await conn.pool.query(`SELECT phase FROM curtain.migrations`)).rows[0].phase;
      expect(phase, `round ${round}`).toBe('aborted');
    }
  });

  it('then expands, switches and contracts cleanly', async () => {
    await migrator.expand();
    await migrator.switch('email_address');
    const [contracted] = await migrator.contract('email_address', { force: ['soak', 'no-false-evaluations'] });
    expect(contracted?.to).toBe('contracted');
    expect(await columns()).toEqual(['id', 'email_address']);
  });
});
