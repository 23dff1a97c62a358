import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/connect.js';
import { migrate, migrationSource, tempProject } from '../support/cli.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

describe('a long transaction holding the table', () => {
  let tdb: TestDatabase;
  let conn: Database;
  const project = tempProject();
  beforeAll(async () => {
    tdb = await createTestDatabase('locks');
    conn = await tdb.connect();
    await conn.pool.query(`CREATE TABLE items (id int PRIMARY KEY, name text); INSERT INTO items SELECT i, 'item ' || i FROM generate_series(1, 100) i`);
    project.write(
      'migrations/20260101000000_label.ts',
      migrationSource(`export default defineMigration({ operations: [op.addColumn('items', { name: 'label', type: 'text', up: sql\`upper(name)\` })] });`, 'defineMigration, op, sql'),
    );
  });
  afterAll(() => tdb.drop());

  it('makes expand retry with a short lock_timeout instead of queueing the application behind it', async () => {
    // A reporting query that keeps a conflicting lock for a while.
    const holder = new pg.Client({ connectionString: tdb.url });
    await holder.connect();
    await holder.query('BEGIN');
    await holder.query('SELECT count(*) FROM items');
    const expanding = migrate(['--lock-timeout', '200ms', 'expand'], { cwd: project.dir, databaseUrl: tdb.url });

    // The application keeps reading meanwhile; behind a plain ALTER TABLE waiting for its lock,
    // these reads would queue until the holder commits and hit their statement_timeout.
    const app = new pg.Client({ connectionString: tdb.url });
    await app.connect();
    await app.query(`SET statement_timeout = '1500ms'`);
    const failures: string[] = [];
    let reading = true;
    const reads = (async () => {
      while (reading) {
        await app.query('SELECT count(*) FROM items').catch((err: Error) => failures.push(err.message));
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    // Hold the lock until expand has been seen waiting for it, and a while longer: several lock timeouts.
    const deadline = Date.now() + 60_000;
    for (;;) {
      const { rows } = await conn.pool.query(
        `SELECT count(*)::int AS n FROM pg_locks WHERE NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) AND relation = 'items'::regclass AND mode = 'AccessExclusiveLock'`,
      );
      if (rows[0].n > 0 || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    await new Promise((r) => setTimeout(r, 2000));
    await holder.query('COMMIT');
    await holder.end();
    const r = await expanding;
    reading = false;
    await reads;
    await app.end();

    expect(failures).toEqual([]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/lock timeout, retrying in \d+ms \(attempt 1\)/);
    const { rows } = await conn.pool.query(`SELECT max(attempts)::int AS attempts FROM curtain.steps WHERE phase = 'expand'`);
    expect(rows[0].attempts).toBeGreaterThan(1);
    expect((await conn.pool.query(`SELECT count(*)::int AS n FROM items WHERE label = upper(name)`)).rows[0].n).toBe(100);
  });
});
