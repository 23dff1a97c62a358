import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { watchAutovacuum, type AutovacuumConflict } from '../../../src/db/autovacuum.js';
import { processId } from '../../../src/db/queryable.js';
import type { StepEvent } from '../../../src/migration/executor.js';
import { createMigrator } from '../../../src/migration/migrator.js';
import { migrationSource } from '../../support/cli.js';
import { startPrivateServer, type PrivateServer } from '../../support/private-server.js';
import { waitFor } from '../../support/replica.js';

/**
 * An autovacuum worker holding the table a DDL step needs. On a server of our
 * own: autovacuum wakes every second, and deadlock_timeout is a minute, so
 * PostgreSQL's own cancellation (after deadlock_timeout of a conflicting
 * wait) cannot be what gets the step through. The table's vacuum is slowed
 * to a crawl (cost limit 1, delay 100 ms: ten pages a second), so it holds
 * its lock for a minute unless cancelled.
 */
describe('DDL meets autovacuum', () => {
  let server: PrivateServer;
  let pool: pg.Pool;

  beforeAll(async () => {
    server = await startPrivateServer(['autovacuum_naptime = 1', 'deadlock_timeout = 60s']);
    pool = new pg.Pool({ connectionString: server.urlFor('postgres'), max: 6 });
    // pg_monitor: a role without it cannot even see that a blocker is an autovacuum worker.
    await pool.query(`CREATE ROLE app LOGIN NOSUPERUSER IN ROLE pg_monitor`);
    await pool.query(
      `CREATE TABLE customer (id int PRIMARY KEY, email text)
         WITH (autovacuum_vacuum_threshold = 0, autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_cost_limit = 1, autovacuum_vacuum_cost_delay = 100)`,
    );
    await pool.query(`INSERT INTO customer SELECT i, 'c' || i || '@example.com' FROM generate_series(1, 60000) i`);
    await pool.query(`ALTER TABLE customer OWNER TO app`);
  }, 120_000);
  afterAll(async () => {
    await pool?.end();
    await server?.stop();
  });

  /** Dead rows for autovacuum, then the pid of the worker it starts on the table. */
  const autovacuumOnCustomer = async (): Promise<number> => {
    await pool.query(`UPDATE customer SET email = email WHERE id % 20 = 0`);
    let pid = 0;
    await waitFor(
      async () => {
        const { rows } = await pool.query(
          `SELECT pid FROM pg_stat_activity WHERE backend_type = 'autovacuum worker' AND query LIKE '%public.customer%'`,
        );
        pid = rows[0]?.pid ?? 0;
        return pid !== 0;
      },
      90_000,
      'an autovacuum worker on public.customer',
    );
    return pid;
  };

  it('a role that may see but not cancel autovacuum is told why, and the worker keeps running', async () => {
    const worker = await autovacuumOnCustomer();
    const app = new pg.Pool({ connectionString: server.urlFor('postgres').replace('postgres@', 'app@'), max: 3 });
    const waiter = await app.connect();
    const conflicts: AutovacuumConflict[] = [];
    const pid = processId(waiter);
    const watch = watchAutovacuum(app, () => pid, (c) => conflicts.push(c));
    try {
      await waiter.query(`SET lock_timeout = '30s'`);
      await waiter.query('BEGIN');
      const locking = waiter.query('LOCK TABLE customer IN ACCESS EXCLUSIVE MODE').catch((e: Error) => e);
      await waitFor(async () => conflicts.length > 0, 30_000, 'the watcher to see the autovacuum worker');
      expect(conflicts[0]).toMatchObject({ pid: worker, cancelled: false });
      expect(conflicts[0]!.activity).toContain('public.customer');
      expect(conflicts[0]!.why).toMatch(/(superuser|permission denied).*pg_signal_autovacuum_worker/s);
      // Still there: nothing was cancelled.
      const { rows } = await pool.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = $1 AND backend_type = 'autovacuum worker'`, [worker]);
      expect(rows[0].n).toBe(1);
      await pool.query('SELECT pg_cancel_backend($1)', [pid]);
      await locking;
    } finally {
      watch.stop();
      await waiter.query('ROLLBACK').catch(() => {});
      waiter.release();
      await app.end();
    }
  }, 180_000);

  it('expand cancels the worker holding its table and goes on (lock attempts shorter than deadlock_timeout)', async () => {
    const worker = await autovacuumOnCustomer();
    const cwd = mkdtempSync(path.join(os.tmpdir(), 'curtain-autovacuum-'));
    mkdirSync(path.join(cwd, 'migrations'));
    writeFileSync(
      path.join(cwd, 'migrations/20260101000000_email_address.ts'),
      migrationSource(`export default defineMigration({ operations: [op.renameColumn('customer', 'email', 'email_address')] });`, 'defineMigration, op'),
    );
    const events: StepEvent[] = [];
    // Three attempts of at most 500 ms: without the cancel, the worker (a minute of work) outlasts them all.
    const migrator = await createMigrator({
      pool,
      cwd,
      migrationsDir: 'migrations',
      actor: 'test',
      lockTimeout: '500ms',
      lockRetries: 2,
      reporter: { step: (_m, e) => events.push(e) },
    });
    const [expanded] = await migrator.expand();
    expect(expanded?.to).toBe('expanded');
    const cancelled = events.filter((e): e is Extract<StepEvent, { type: 'autovacuum' }> => e.type === 'autovacuum');
    expect(cancelled.map((e) => e.conflict.pid)).toContain(worker);
    expect(cancelled.every((e) => e.conflict.cancelled)).toBe(true);
    const { rows } = await pool.query(`SELECT column_name FROM information_schema.columns WHERE table_name = 'customer' ORDER BY ordinal_position`);
    expect(rows.map((r) => r.column_name)).toEqual(['id', 'email', 'email_address']);
  }, 180_000);
});
