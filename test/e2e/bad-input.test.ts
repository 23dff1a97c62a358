import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/connect.js';
import { schemaFingerprint } from '../../src/testing/catalog.js';
import { migrate } from '../support/cli.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const corpus = path.join(root, 'test/fixtures/bad-migrations');
const cases = readdirSync(corpus).sort();

/** Where `migrate lint` must place each problem (file line:column). */
const LINT_POSITIONS: Record<string, string> = {
  'bad-file-name': '1:1',
  'flag-with-quotes': '3:41',
  'flag-with-spaces': '3:41',
  'missing-column': '4:16',
  'missing-table': '4:16',
  'no-default-export': '1:1',
  'syntax-error': '6:1',
  'type-change-without-up': '5:16',
  'unknown-operation': '5:16',
  'unknown-option': '4:34',
  'wrong-option-type': '5:16',
};

/** Everything curtain keeps, minus times and ids: must not change after a refused command. */
async function curtainState(conn: Database) {
  const count = async (table: string) => (await conn.pool.query(`SELECT count(*)::int AS n FROM curtain.${table}`)).rows[0].n;
  return {
    migrations: await count('migrations'),
    flags: await count('flags'),
    flagEvents: await count('flag_events'),
    steps: await count('steps'),
    events: await count('migration_events'),
    checkpoints: await count('backfill_checkpoints'),
    snapshots: await count('snapshots'),
  };
}

describe('the bad-input corpus', () => {
  let tdb: TestDatabase;
  let conn: Database;
  beforeAll(async () => {
    tdb = await createTestDatabase('bad');
    conn = await tdb.connect();
    await conn.pool.query(`CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL); INSERT INTO users VALUES (1, 'a@example.com')`);
    // Create the curtain schema so "unchanged" compares like with like.
    expect((await migrate(['status'], { cwd: root, databaseUrl: tdb.url, env: { CURTAIN_IGNORE: '1' } })).code).toBe(0);
  });
  afterAll(() => tdb.drop());

  it('has a case for every kind of broken migration', () => {
    expect(cases).toEqual(Object.keys(LINT_POSITIONS).concat('throws-halfway').sort());
  });

  for (const name of cases) {
    it(`${name}: expand prints the exact error and changes nothing`, async () => {
      const expected = JSON.parse(readFileSync(path.join(corpus, name, 'expected.json'), 'utf8')) as { exit: number; error: string };
      const catalogBefore = await schemaFingerprint(conn.pool);
      const stateBefore = await curtainState(conn);
      const r = await migrate(['--migrations-dir', `test/fixtures/bad-migrations/${name}`, 'expand'], { cwd: root, databaseUrl: tdb.url });
      expect(r.code).toBe(expected.exit);
      const errorLine = r.stderr.split('\n').find((l) => l.startsWith('error: '));
      expect(errorLine).toBe(expected.error);
      expect(r.stderr).not.toMatch(/\n\s+at /); // never a stack trace for a user mistake
      expect(await schemaFingerprint(conn.pool)).toEqual(catalogBefore);
      expect(await curtainState(conn)).toEqual(stateBefore);
    });
  }

  it('loads every target before changing anything: a valid migration followed by a broken one expands neither', async () => {
    // The scratch folder lives inside the package so that `import ... from 'curtain'` resolves to the build.
    const dir = path.join(root, 'scratch', `load-first-${process.pid}`);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(path.join(dir, 'migrations'), { recursive: true });
    try {
      writeFileSync(
        path.join(dir, 'migrations/20250101000000_add_phone.ts'),
        `import { defineMigration, op } from 'curtain';\nexport default defineMigration({ operations: [op.addColumn('users', { name: 'phone', type: 'text' })] });\n`,
      );
      for (const broken of ['unknown-operation', 'syntax-error']) {
        const source = path.join(corpus, broken);
        const file = readdirSync(source).find((f) => f.endsWith('.ts'))!;
        for (const f of readdirSync(path.join(dir, 'migrations')).filter((f) => f.startsWith('2026'))) rmSync(path.join(dir, 'migrations', f));
        writeFileSync(path.join(dir, 'migrations', file), readFileSync(path.join(source, file), 'utf8'));
        const catalogBefore = await schemaFingerprint(conn.pool);
        const stateBefore = await curtainState(conn);
        const r = await migrate(['expand'], { cwd: dir, databaseUrl: tdb.url });
        expect(r.code, r.stderr).toBe(1);
        expect(r.stderr).toContain(`migrations/${file}`);
        expect(r.stderr).not.toMatch(/\n\s+at /);
        // The valid first migration was not expanded either: the set is refused as a whole.
        expect(await schemaFingerprint(conn.pool)).toEqual(catalogBefore);
        expect(await curtainState(conn)).toEqual(stateBefore);
        expect((await conn.pool.query(`SELECT count(*)::int AS n FROM information_schema.columns WHERE table_name = 'users' AND column_name = 'phone'`)).rows[0].n).toBe(0);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('migrate lint reports every problem with its position', async () => {
    const r = await migrate(['lint', '--json', ...cases.map((c) => `test/fixtures/bad-migrations/${c}`)], { cwd: root, databaseUrl: tdb.url });
    expect(r.code).toBe(1);
    const out = r.json();
    const byCase = new Map<string, string>();
    for (const f of out.findings) byCase.set(f.file.split('/')[3], `${f.line}:${f.column}`);
    expect(Object.fromEntries(byCase)).toEqual(LINT_POSITIONS);
    expect(out.errors).toBe(Object.keys(LINT_POSITIONS).length);
  });

  it("migrate lint over the repository's migrations is clean", async () => {
    const r = await migrate(['lint', '--json'], { cwd: root });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.json()).toMatchObject({ files: 11, errors: 0, warnings: 0 });
  });
});
