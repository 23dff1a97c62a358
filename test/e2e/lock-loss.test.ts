import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/connect.js';
import { migrationSource, tempProject } from '../support/cli.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { startMigrate } from '../support/resilience.js';

/**
 * Fencing, not hope: a migrate whose lock session is ended by the server stops
 * at its next batch or step boundary with exit 4 and never reports success;
 * a second migrate that takes the lock meanwhile finishes the work, and the
 * final state is what each command reported.
 */
describe('a lost migrate lock', () => {
  let tdb: TestDatabase;
  let conn: Database;
  const project = tempProject();
  const ROWS = 60_000;

  beforeAll(async () => {
    tdb = await createTestDatabase('lockloss');
    conn = await tdb.connect();
    await conn.pool.query(`CREATE TABLE events (id bigint PRIMARY KEY, qty integer);
      INSERT INTO events SELECT i, i % 1000 FROM generate_series(1, ${ROWS}) i; ANALYZE events`);
    project.write(
      'migrations/20260101000000_wide.ts',
      migrationSource(`export default defineMigration({ operations: [op.alterColumn('events', 'qty', { type: 'bigint', up: sql\`qty::bigint\`, down: sql\`qty_big::integer\`, name: 'qty_big' })] });`, 'defineMigration, op, sql'),
    );
  });
  afterAll(() => tdb.drop());

  it('the first command exits 4 at the next boundary, the second completes, nothing is reported twice', async () => {
    const first = startMigrate(['expand', '--batch-size', '500', '--batch-delay', '20ms'], { cwd: project.dir, databaseUrl: tdb.url });
    // Wait until the backfill is under way (observed in its checkpoint).
    for (;;) {
      if (first.child.exitCode !== null) break;
      const { rows } = await conn.pool.query(`SELECT coalesce(max(rows_done), 0)::int AS n FROM curtain.backfill_checkpoints`).catch(() => ({ rows: [{ n: 0 }] }));
      if (rows[0].n >= 2_000) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(first.child.exitCode, 'expand finished before its lock could be taken away').toBeNull();
    // The server ends the lock session (as idle_session_timeout, a proxy or pg_terminate_backend would).
    const { rows: holders } = await conn.pool.query(
      `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'curtain: migrate expand (pid%'`,
    );
    expect(holders).toHaveLength(1);
    await conn.pool.query(`SELECT pg_terminate_backend($1)`, [holders[0].pid]);
    const second = await startMigrate(['--lock-wait', '120s', 'expand'], { cwd: project.dir, databaseUrl: tdb.url }).done;
    const firstDone = await first.done;
    expect(firstDone.code, firstDone.stderr).toBe(4);
    expect(firstDone.stderr).toMatch(/lost the migrate lock/);
    expect(firstDone.stderr).toMatch(/rerun to resume/);
    expect(firstDone.stdout + firstDone.stderr).not.toMatch(/pending → expanded/);
    expect(second.code, second.stderr).toBe(0);
    const { rows } = await conn.pool.query(
      `SELECT m.phase, (SELECT count(*)::int FROM curtain.migration_events e WHERE e.migration = m.name AND e.event = 'expand.done') AS done,
              (SELECT count(*)::int FROM events WHERE qty_big IS DISTINCT FROM qty::bigint) AS out_of_sync
         FROM curtain.migrations m`,
    );
    expect(rows).toEqual([{ phase: 'expanded', done: 1, out_of_sync: 0 }]);
  });
});
