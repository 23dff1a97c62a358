import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, migrate } from '../support/cli.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
// Inside the package so that `import ... from 'curtain'` in generated files resolves for tsc.
const dir = path.join(root, 'scratch', `convert-e2e-${process.pid}`);

describe('migrate convert and create --from-sql', () => {
  let tdb: TestDatabase;
  const run = (...args: string[]) => migrate(args, { cwd: dir, databaseUrl: tdb.url });
  const files = () => readdirSync(path.join(dir, 'migrations'));
  const tsc = (file: string) =>
    spawnSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '--noEmit', '--strict', '--skipLibCheck', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--types', 'node', file], {
      cwd: root,
      encoding: 'utf8',
    });

  beforeAll(async () => {
    tdb = await createTestDatabase('conv');
    mkdirSync(path.join(dir, 'migrations'), { recursive: true });
    const db = await tdb.connect();
    await db.pool.query(`CREATE TABLE users (id bigint PRIMARY KEY, name text, nick text NOT NULL, minutes integer)`);
  });
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await tdb.drop();
  });

  it('converts a .sql file into one migration, prints its path (and {file} with --json)', async () => {
    writeFileSync(path.join(dir, 'rename.sql'), 'ALTER TABLE users RENAME COLUMN name TO full_name;\n');
    const r = await run('convert', 'rename.sql', '--json');
    expect(r.code, r.stderr).toBe(0);
    const { file } = r.json();
    expect(file).toMatch(/^migrations\/\d{14}_rename\.ts$/);
    const text = readFileSync(path.join(dir, file), 'utf8');
    expect(text).toContain('//   ALTER TABLE users RENAME COLUMN name TO full_name;');
    expect(text).toContain('op.renameColumn("users", "name", "full_name")');
    expect(tsc(path.join(dir, file)).status).toBe(0);
  });

  it('reads stdin with "-" and needs --name then', async () => {
    const input = 'CREATE INDEX users_name_idx ON users (name);';
    const noName = spawnSync(process.execPath, [BIN, '--database-url', tdb.url, 'convert', '-'], { cwd: dir, input, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
    expect(noName.status).toBe(2);
    expect(noName.stderr).toContain('--name');
    const r = spawnSync(process.execPath, [BIN, '--database-url', tdb.url, 'convert', '-', '--name', 'index_name'], { cwd: dir, input, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/created migrations\/\d{14}_index_name\.ts/);
    const file = files().find((f) => f.endsWith('_index_name.ts'))!;
    expect(readFileSync(path.join(dir, 'migrations', file), 'utf8')).toContain('op.createIndex("users", { columns: ["name"], name: "users_name_idx" })');
  });

  it('offers DROP + ADD of the same type as a rename (file comment and stderr), never choosing it', async () => {
    const r = await run('create', 'nick_to_handle', '--from-sql', 'ALTER TABLE users DROP COLUMN nick; ALTER TABLE users ADD COLUMN handle text;');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('dropping nick and adding handle (both text) may be a rename');
    const text = readFileSync(path.join(dir, 'migrations', files().find((f) => f.endsWith('_nick_to_handle.ts'))!), 'utf8');
    expect(text).toContain('// users: dropping nick and adding handle');
    expect(text).not.toMatch(/^\s+op\.renameColumn/m);
    // nick is NOT NULL without a default: down is the author's to write, and the file does not compile until then.
    expect(text).toContain('op.dropColumn("users", "nick", { down: TODO_write_down_users_nick })');
    expect(text).toContain('op.addColumn("users", { name: "handle", type: "text" })');
  });

  it('leaves a placeholder that does not compile where PostgreSQL has no reverse cast', async () => {
    const r = await run('create', 'minutes_interval', '--from-sql', "ALTER TABLE users ALTER COLUMN minutes TYPE interval USING minutes * interval '1 minute';", '--json');
    expect(r.code, r.stderr).toBe(0);
    const file = path.join(dir, r.json().file);
    const text = readFileSync(file, 'utf8');
    expect(text).toContain("up: sql`minutes * interval '1 minute'`");
    expect(text).toContain('PostgreSQL has no cast from interval back to integer');
    const failed = tsc(file);
    expect(failed.status).not.toBe(0);
    expect(failed.stdout).toContain('write this expression: PostgreSQL has no cast from interval back to integer');
    // With the author's down, it compiles.
    writeFileSync(file, text.replace('down: TODO_write_down_users_minutes', 'down: sql`(extract(epoch from minutes) / 60)::integer`'));
    expect(tsc(file).status, tsc(file).stdout).toBe(0);
  });

  it('keeps what has no online operation as op.sql with the linter findings above it', async () => {
    const r = await run('create', 'vacuum', '--from-sql', 'VACUUM FULL users;', '--json');
    expect(r.code, r.stderr).toBe(0);
    const text = readFileSync(path.join(dir, r.json().file), 'utf8');
    expect(text).toMatch(/\/\/ lint error vacuum-full: .*\n\s+op\.sql\(\{ up: sql`VACUUM FULL users` \}\)/);
  });

  it('refuses SQL that does not parse, or no statements (exit 2), writing nothing', async () => {
    const before = files().length;
    const bad = await run('create', 'broken', '--from-sql', 'ALTER TABLE users ADD COLUMN;');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('cannot parse the SQL');
    const empty = await run('create', 'empty', '--from-sql', '  -- nothing\n');
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain('no statements to convert');
    expect((await run('convert', 'missing.sql')).code).toBe(2);
    expect(files().length).toBe(before);
  });
});
