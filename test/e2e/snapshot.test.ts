import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findPgTools, serverMajor } from '../../src/snapshots/pg-tools.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

const BIN = path.resolve('dist/cli/bin.js');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run the built CLI as a process against `url`. */
function run(url: string, cwd: string, args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { cwd, env: { ...process.env, DATABASE_URL: url, CURTAIN_ACTOR: 'e2e', NO_COLOR: '1' } },
      (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
    );
  });
}
const json = (r: Run) => JSON.parse(r.stdout) as any;

// Each test runs the CLI up to a dozen times; on a busy 2-core machine one run can take several seconds.
const CLI_TESTS = { timeout: 10 * 60_000 };

describe('migrate snapshot (CLI)', CLI_TESTS, () => {
  let tdb: TestDatabase;
  let pool: pg.Pool;
  let cwd: string;
  const migrate = (...args: string[]) => run(tdb.url, cwd, args);
  const emails = async () => (await pool.query(`SELECT email FROM users ORDER BY id`)).rows.map((r) => r.email as string);

  beforeAll(async () => {
    tdb = await createTestDatabase('snapcli');
    pool = (await tdb.connect()).pool;
    cwd = mkdtempSync(path.join(os.tmpdir(), 'curtain-snapcli-'));
    await pool.query(`
      CREATE TABLE users (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, email text NOT NULL);
      INSERT INTO users (email) SELECT 'u' || i FROM generate_series(1, 10) i;`);
  });
  afterAll(async () => {
    rmSync(cwd, { recursive: true, force: true });
    await tdb.drop();
  });

  it('create, list, show, restore (only with --yes), drop and prune', async () => {
    const created = await migrate('snapshot', 'create', '--tables', 'users', '--reason', 'e2e', '--json');
    expect(created.code).toBe(0);
    const snap = json(created);
    expect(snap).toMatchObject({ strategy: 'tables', status: 'complete', reason: 'e2e', actor: 'e2e' });
    expect(snap.tables).toEqual([expect.objectContaining({ schema: 'public', name: 'users', rows: 10 })]);

    const listed = await migrate('snapshot', 'list', '--json');
    expect(listed.code).toBe(0);
    expect(json(listed).map((s: { id: string }) => s.id)).toEqual([snap.id]);
    const human = await migrate('snapshot', 'list');
    expect(human.stdout).toMatch(/^ID\s+STRATEGY\s+STATUS/);
    expect(human.stdout).toContain(snap.id);

    await pool.query(`DELETE FROM users WHERE id > 7`);
    const shown = await migrate('snapshot', 'show', snap.id, '--json');
    expect(shown.code).toBe(0);
    expect(json(shown).tables).toEqual([expect.objectContaining({ table: 'public.users', rowsThen: 10, rowsNow: 7, changed: true })]);

    const refused = await migrate('snapshot', 'restore', snap.id);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('--yes');
    expect(await emails()).toHaveLength(7);

    const restored = await migrate('snapshot', 'restore', snap.id, '--yes', '--json');
    expect(restored.code).toBe(0);
    const result = json(restored);
    expect(result.restored).toEqual([expect.objectContaining({ table: 'public.users', rows: 10, mode: 'replace' })]);
    expect(result.safetySnapshotId).toEqual(expect.any(String));
    expect(await emails()).toHaveLength(10);

    const undo = await migrate('snapshot', 'restore', result.safetySnapshotId, '--tables', 'users', '--yes');
    expect(undo.code).toBe(0);
    expect(undo.stdout).toContain(`restored snapshot ${result.safetySnapshotId}`);
    expect(await emails()).toHaveLength(7);

    const dropped = await migrate('snapshot', 'drop', snap.id, '--json');
    expect(dropped.code).toBe(0);
    expect(json(dropped)).toEqual({ dropped: [snap.id] });

    expect((await migrate('snapshot', 'prune', '--older-than', '7d', '--json')).stdout).toContain('"dropped": []');
    const pruned = await migrate('snapshot', 'prune', '--keep', '1', '--json');
    expect(pruned.code).toBe(0);
    expect(json(pruned).dropped).toHaveLength(1); // two safety snapshots were left; the newest stays
  });

  it('exits 1 on an unknown id and 2 on bad usage', async () => {
    for (const args of [
      ['show', 'nope'],
      ['restore', 'nope', '--yes'],
    ]) {
      const r = await migrate('snapshot', ...args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr).toContain('no snapshot with id "nope"');
    }
    expect((await migrate('snapshot', 'prune')).code).toBe(2);
    expect((await migrate('snapshot', 'prune', '--older-than', 'soon')).code).toBe(2);
    const bogus = await migrate('snapshot', 'create', '--strategy', 'bogus');
    expect(bogus.code).toBe(2);
    expect(bogus.stderr).toContain('use one of: tables, dump, clone');
    const missing = await migrate('snapshot', 'create', '--tables', 'nope');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no such table: public.nope');
  });

  it('dump: a file under .curtain/snapshots with a compatible pg_dump, else exit 1 suggesting tables', async () => {
    const major = await serverMajor(pool);
    const compatible = findPgTools('pg_dump').some((t) => t.major >= major);
    const r = await migrate('snapshot', 'create', '--strategy', 'dump', '--tables', 'users', '--json');
    if (compatible) {
      expect(r.code).toBe(0);
      expect(json(r).location).toBe(path.join(cwd, '.curtain/snapshots', `${json(r).id}.dump`));
    } else {
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`needs pg_dump ${major} or newer`);
      expect(r.stderr).toContain('--strategy tables');
    }
  });
});

describe('migrate snapshot --strategy clone (CLI)', CLI_TESTS, () => {
  let tdb: TestDatabase;
  let cwd: string;
  const migrate = (...args: string[]) => run(tdb.url, cwd, args);
  const count = async () => {
    const c = new pg.Client({ connectionString: tdb.url });
    await c.connect();
    try {
      return (await c.query('SELECT count(*)::int AS n FROM items')).rows[0].n as number;
    } finally {
      await c.end(); // the clone needs the database to itself: never stay connected
    }
  };

  beforeAll(async () => {
    tdb = await createTestDatabase('snapcliclone');
    cwd = mkdtempSync(path.join(os.tmpdir(), 'curtain-snapcli-'));
    const c = new pg.Client({ connectionString: tdb.url });
    await c.connect();
    await c.query(`CREATE TABLE items (id int PRIMARY KEY); INSERT INTO items SELECT generate_series(1, 5)`);
    await c.end();
  });
  afterAll(async () => {
    rmSync(cwd, { recursive: true, force: true });
    await tdb.drop();
  });

  it('clones without tripping over its own lock connection, restores, and drops the clone databases', async () => {
    const created = await migrate('snapshot', 'create', '--strategy', 'clone', '--json');
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    const id = json(created).id as string;
    const c = new pg.Client({ connectionString: tdb.url });
    await c.connect();
    await c.query('DELETE FROM items WHERE id > 2');
    await c.end();
    expect(await count()).toBe(2);
    const restored = await migrate('snapshot', 'restore', id, '--yes', '--json');
    expect(restored.code).toBe(0);
    expect(await count()).toBe(5);
    for (const s of json(await migrate('snapshot', 'list', '--json')) as { id: string }[]) {
      expect((await migrate('snapshot', 'drop', s.id)).code).toBe(0);
    }
  });
});
