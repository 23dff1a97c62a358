import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/connect.js';
import { BIN, migrate, migrationSource, tempProject, type CliResult } from '../support/cli.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

const STACK = /\n\s+at |Unhandled 'error' event|node:internal/;

/** Start `migrate ...args` and keep the child, to signal it or to act on the database while it runs. */
function start(args: string[], cwd: string, url: string): { child: ChildProcess; done: Promise<CliResult>; stdout(): string } {
  const child = spawn(process.execPath, [BIN, '--database-url', url, ...args], {
    cwd,
    env: { ...process.env, NO_COLOR: '1', DATABASE_URL: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr, json: () => JSON.parse(stdout) }));
  });
  return { child, done, stdout: () => stdout };
}

/** Poll `probe` until it returns something truthy (observed state, no fixed sleeps), or the process ends first. */
async function until<T>(probe: () => Promise<T | undefined | false>, running: Promise<unknown>, what: string): Promise<T> {
  let ended = false;
  void running.then(() => (ended = true));
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (ended) throw new Error(`the command ended before ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const BIG = 150_000;
const IMPORTS = 'defineMigration, op, sql';

describe('SIGINT and SIGTERM', { timeout: 10 * 60_000 }, () => {
  let tdb: TestDatabase;
  let conn: Database;
  const project = tempProject();
  beforeAll(async () => {
    tdb = await createTestDatabase('sigint');
    conn = await tdb.connect();
    await conn.pool.query(`CREATE TABLE items (id int PRIMARY KEY, price text NOT NULL);
      INSERT INTO items SELECT i, (i % 1000)::text FROM generate_series(1, ${BIG}) i`);
    project.write(
      'migrations/20260101000000_price_cents.ts',
      migrationSource(
        `export default defineMigration({ operations: [op.addColumn('items', { name: 'price_cents', type: 'int', up: sql\`price::int * 100\` })] });`,
        IMPORTS,
      ),
    );
  });
  afterAll(() => tdb.drop());

  const checkpoint = async () =>
    (await conn.pool.query(`SELECT rows_done, done FROM curtain.backfill_checkpoints WHERE table_name = 'public.items'`).catch(() => ({ rows: [] }))).rows[0];

  it('the first SIGINT stops the backfill after the current batch: exit 130, checkpoint kept, and a rerun completes', async () => {
    const run = start(['expand', '--batch-size', '200', '--batch-delay', '20ms'], project.dir, tdb.url);
    await until(async () => (await checkpoint())?.rows_done >= 1000, run.done, 'the backfill started');
    run.child.kill('SIGINT');
    const r = await run.done;
    expect(r.code, r.stderr).toBe(130);
    expect(r.stderr).toContain('SIGINT: stopping after the current batch/step (Ctrl-C again to force)');
    expect(r.stderr).not.toMatch(STACK);
    // Stopped part-way, nothing undone: the column, the record and the checkpoint are there.
    const cp = await checkpoint();
    expect(cp.done).toBe(false);
    expect(cp.rows_done).toBeGreaterThanOrEqual(1000);
    expect(cp.rows_done).toBeLessThan(BIG);
    const filled = (await conn.pool.query(`SELECT count(price_cents)::int AS n FROM items`)).rows[0].n;
    expect(filled).toBe(cp.rows_done);
    expect((await conn.pool.query(`SELECT phase FROM curtain.migrations`)).rows).toEqual([{ phase: 'expanding' }]);

    const rerun = await migrate(['expand'], { cwd: project.dir, databaseUrl: tdb.url });
    expect(rerun.code, rerun.stderr).toBe(0);
    expect((await conn.pool.query(`SELECT count(*)::int AS n FROM items WHERE price_cents = price::int * 100`)).rows[0].n).toBe(BIG);
    expect((await conn.pool.query(`SELECT phase FROM curtain.migrations`)).rows).toEqual([{ phase: 'expanded' }]);
  });
});

describe('losing every connection mid-command', { timeout: 10 * 60_000 }, () => {
  let tdb: TestDatabase;
  let conn: Database;
  const project = tempProject();
  beforeAll(async () => {
    tdb = await createTestDatabase('termall');
    conn = await tdb.connect();
    // The custom expand step waits (on a checked-out pooled client) until the test creates public.go.
    project.write(
      'migrations/20260101000000_slow_step.ts',
      migrationSource(`export default defineMigration({
  async expand({ query }) {
    const { rows } = await query("SELECT to_regclass('public.go') IS NULL AS wait");
    if (rows[0].wait) await query('SELECT pg_sleep(600)');
    await query('CREATE TABLE made_by_expand (id int)');
  },
  async abort({ query }) { await query('DROP TABLE made_by_expand'); },
});`),
    );
  });
  afterAll(() => tdb.drop());

  const terminateAll = () =>
    conn.pool.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`);

  it('ends with one line and the rerun hint, never a stack; the rerun resumes', async () => {
    const run = start(['expand'], project.dir, tdb.url);
    await until(
      async () => (await conn.pool.query(`SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND query = 'SELECT pg_sleep(600)'`)).rows.length > 0,
      run.done,
      'the custom step started',
    );
    await terminateAll();
    const r = await run.done;
    expect(r.code, r.stderr).not.toBe(0);
    expect(r.stderr).not.toMatch(STACK);
    expect(r.stderr.trim().split('\n').at(-1)).toMatch(/^hint: .*rerun "migrate expand.*" to resume/);
    // Nothing was undone and nothing of the step committed.
    expect((await conn.pool.query(`SELECT to_regclass('public.made_by_expand') AS t`)).rows[0].t).toBeNull();

    await conn.pool.query('CREATE TABLE go ()');
    const rerun = await migrate(['expand'], { cwd: project.dir, databaseUrl: tdb.url });
    expect(rerun.code, rerun.stderr).toBe(0);
    expect((await conn.pool.query(`SELECT phase FROM curtain.migrations`)).rows).toEqual([{ phase: 'expanded' }]);
  });

  it('migrate serve survives its connections being terminated and still stops cleanly', async () => {
    const run = start(['serve', '--port', '0', '--json'], project.dir, tdb.url);
    await until(async () => /"url"/.test(run.stdout()) && /}\s*$/.test(run.stdout()), run.done, 'serve listened');
    const url = JSON.parse(run.stdout()).url as string;
    await terminateAll();
    // The flags client reconnects and answers again (observed: a successful evaluation after the termination).
    await until(
      async () => {
        const res = await fetch(`${url}/ofrep/v1/evaluate/flags`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"context":{}}' }).catch(() => undefined);
        return res?.ok;
      },
      run.done,
      'serve answered again',
    );
    run.child.kill('SIGTERM');
    const r = await run.done;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(STACK);
  });
});

describe('passwords in connection strings', { timeout: 10 * 60_000 }, () => {
  const project = tempProject();
  it.each([
    ['postgres://postgres:s3cret-pw@127.0.0.1:1/none', 'postgres://postgres:***@127.0.0.1:1/none'],
    ['postgres://postgres@127.0.0.1:1/none?password=s3cret-pw', 'postgres://postgres@127.0.0.1:1/none?password=***'],
  ])('are never printed: %s', async (url, shown) => {
    for (const args of [['status'], ['status', '--json']]) {
      const r = await migrate(args, { cwd: project.dir, databaseUrl: url });
      expect(r.code).toBe(1);
      expect(r.stderr + r.stdout).not.toContain('s3cret-pw');
      expect(r.stderr).toContain(`cannot connect to ${shown}`);
    }
    const viaEnv = await migrate(['status'], { cwd: project.dir, env: { DATABASE_URL: url } });
    expect(viaEnv.stderr + viaEnv.stdout).not.toContain('s3cret-pw');
  });
});
