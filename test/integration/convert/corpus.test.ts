import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadModule, parseSync } from 'libpg-query';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convertSql, databaseCatalog } from '../../../src/convert/index.js';
import type { Database } from '../../../src/db/connect.js';
import { createMigrator } from '../../../src/migration/migrator.js';
import { schemaFingerprint } from '../../../src/testing/catalog.js';
import { migrate } from '../../support/cli.js';
import { createTestDatabase, type TestDatabase } from '../../support/database.js';

// Real-world DDL, each statement converted to a migration, type-checked, linted, and run through
// expand/switch/contract; the schema must end as it does when the statement is applied directly.
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const fixtures = path.join(root, 'test/fixtures/convert');
const seed = readFileSync(path.join(fixtures, 'seed.txt'), 'utf8');
const cases = readdirSync(fixtures)
  .filter((f) => f.endsWith('.sql'))
  .sort()
  .map((f, i) => ({ case: f.replace(/\.sql$/, ''), sql: readFileSync(path.join(fixtures, f), 'utf8'), name: `202601010${String(i).padStart(5, '0')}_c${f.replace(/\.sql$/, '')}` }));
// Inside the package, so the generated files' `import ... from 'curtain'` resolves to the build.
const project = path.join(root, 'scratch', `convert-corpus-${process.pid}`);

async function statements(sql: string): Promise<string[]> {
  await loadModule();
  const bytes = Buffer.from(sql);
  return (parseSync(sql).stmts as { stmt_location?: number; stmt_len?: number }[]).map((s) =>
    bytes.subarray(s.stmt_location ?? 0, s.stmt_len ? (s.stmt_location ?? 0) + s.stmt_len : undefined).toString(),
  );
}

/**
 * What old application code keeps doing during the migration: insert users and
 * their orders, update order totals. It only names columns every case keeps.
 */
function writer(url: string) {
  const pool = new pg.Pool({ connectionString: url, max: 1, application_name: 'writer' });
  const failures: string[] = [];
  let writes = 0;
  let stopping = false;
  let next = 100_000 + Math.floor(Math.random() * 1000) * 1000;
  let firstWrite!: () => void;
  const started = new Promise<void>((resolve) => (firstWrite = resolve));
  const loop = (async () => {
    while (!stopping) {
      const id = next++;
      try {
        await pool.query(`INSERT INTO users (id, email, status, created_at) VALUES ($1, $2, 'active', now())`, [id, `w${id}@example.com`]);
        await pool.query(`INSERT INTO orders (id, user_id, total, status, created_at) VALUES ($1, $1, 1, 'paid', now())`, [id]);
        await pool.query(`UPDATE orders SET total = total + 1 WHERE id = $1`, [1 + (id % 500)]);
        writes += 3;
      } catch (err) {
        failures.push((err as Error).message);
      }
      firstWrite();
    }
  })();
  return {
    started,
    count: () => writes,
    async stop() {
      stopping = true;
      await loop;
      await pool.end();
      return { writes, failures };
    },
  };
}

async function reset(db: Database): Promise<void> {
  await db.pool.query('DROP SCHEMA public CASCADE; CREATE SCHEMA public;');
  await db.pool.query(seed);
}

/** The schema without column positions (an online change re-creates columns at the end). */
async function shape(db: Database) {
  const f = await schemaFingerprint(db.pool);
  return { ...f, columns: (f.columns ?? []).map((c) => c.replace(/ #\d+$/, '')) };
}

describe('convert: a corpus of real-world DDL', () => {
  let managed: TestDatabase;
  let twin: TestDatabase;
  let m: Database;
  let t: Database;

  beforeAll(async () => {
    expect(cases.length).toBeGreaterThanOrEqual(30);
    [managed, twin] = await Promise.all([createTestDatabase('convm'), createTestDatabase('convt')]);
    [m, t] = await Promise.all([managed.connect(), twin.connect()]);
    await reset(m);
    mkdirSync(project, { recursive: true });
    // Convert everything against the seeded catalog (current types decide `down`).
    for (const c of cases) {
      const { source } = await convertSql(c.sql, { catalog: databaseCatalog(m.pool) });
      mkdirSync(path.join(project, c.case), { recursive: true });
      writeFileSync(path.join(project, c.case, `${c.name}.ts`), source);
    }
  }, 120_000);
  afterAll(async () => {
    rmSync(project, { recursive: true, force: true });
    await Promise.all([managed?.drop(), twin?.drop()]);
  });

  it('every generated file type-checks (one tsc run) and has no placeholder left', () => {
    const files = cases.map((c) => path.join(project, c.case, `${c.name}.ts`));
    for (const f of files) expect(readFileSync(f, 'utf8'), f).not.toContain('TODO_write');
    const tsc = spawnSync(
      process.execPath,
      [path.join(root, 'node_modules/typescript/bin/tsc'), '--noEmit', '--strict', '--skipLibCheck', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--types', 'node', ...files],
      { cwd: root, encoding: 'utf8' },
    );
    expect(tsc.stdout + tsc.stderr, 'tsc').toBe('');
    expect(tsc.status).toBe(0);
  }, 240_000);

  it('every generated file passes migrate lint (with the seeded database for the SQL it generates)', async () => {
    const files = cases.map((c) => path.join(project, c.case, `${c.name}.ts`));
    const r = await migrate(['lint', ...files], { cwd: project, databaseUrl: managed.url });
    expect(r.stdout + r.stderr).toContain(`${cases.length} migration(s) linted: 0 error(s), 0 warning(s)`);
    expect(r.code, r.stdout + r.stderr).toBe(0);
  }, 240_000);

  it.each(cases)('$case: expand, switch and contract end where the direct statement does, with a writer running', async (c) => {
    await Promise.all([reset(m), reset(t)]);
    for (const s of await statements(c.sql)) await t.pool.query(s);
    const migrator = await createMigrator({ pool: m.pool, cwd: project, migrationsDir: c.case });
    const w = writer(managed.url);
    await w.started;
    const before = w.count();
    try {
      const results = await migrator.up(c.name, { yes: true });
      expect(results.map((r) => r.to)).toEqual(['contracted']);
    } finally {
      await migrator.close();
    }
    const { writes, failures } = await w.stop();
    expect(failures).toEqual([]);
    expect(writes).toBeGreaterThan(before); // it kept writing while the migration ran
    const [after, direct] = [await shape(m), await shape(t)];
    expect(after.columns.length).toBeGreaterThan(15);
    expect(after).toEqual(direct);
  }, 120_000);
});
