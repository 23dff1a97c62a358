import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/connect.js';
import { schemaFingerprint } from '../../src/testing/catalog.js';
import { migrate, migrationSource } from '../support/cli.js';
import { createTestDatabase, serverUrl, type TestDatabase } from '../support/database.js';
import { pgDumpMatchesServer } from '../support/pg-dump.js';

// These commands dump the schema with pg_dump, which must be as new as the server.
const dumpable = await pgDumpMatchesServer();
if (!dumpable) process.stderr.write(`skipping: no pg_dump as new as the test server on this machine (${serverUrl()})\n`);

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const dir = path.join(root, 'scratch', `squash-e2e-${process.pid}`);
const src = (ops: string) => migrationSource(`export default defineMigration({ operations: [${ops}] });`, 'defineMigration, op');
const first = {
  '20260101000000_users.ts': src(`op.createTable('users', { columns: [{ name: 'id', type: 'bigint', primaryKey: true }, { name: 'name', type: 'text' }] })`),
  '20260102000000_email.ts': src(`op.addColumn('users', { name: 'email', type: 'text' }), op.createIndex('users', { columns: ['email'], name: 'users_email_idx' })`),
  '20260103000000_full_name.ts': src(`op.renameColumn('users', 'name', 'full_name')`),
};
const later = { '20260104000000_phone.ts': src(`op.addColumn('users', { name: 'phone', type: 'text' })`) };

async function shape(db: Database) {
  const f = await schemaFingerprint(db.pool);
  return { ...f, columns: (f.columns ?? []).map((c) => c.replace(/ #\d+$/, '')) };
}

describe.skipIf(!dumpable)('migrate squash --through', () => {
  let here: TestDatabase; // where squash runs
  let elsewhere: TestDatabase; // another database where the folded migrations ran (production, say)
  let fresh: TestDatabase;
  const run = (db: TestDatabase, ...args: string[]) => migrate(args, { cwd: dir, databaseUrl: db.url });
  const files = () => readdirSync(path.join(dir, 'migrations')).sort();

  beforeAll(async () => {
    [here, elsewhere, fresh] = await Promise.all([createTestDatabase('sqh'), createTestDatabase('sqe'), createTestDatabase('sqf')]);
    mkdirSync(path.join(dir, 'migrations'), { recursive: true });
    for (const [f, text] of Object.entries(first)) writeFileSync(path.join(dir, 'migrations', f), text);
    for (const db of [here, elsewhere]) expect((await run(db, '--yes', 'up')).code).toBe(0);
    for (const [f, text] of Object.entries(later)) writeFileSync(path.join(dir, 'migrations', f), text);
  });
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await Promise.all([here?.drop(), elsewhere?.drop(), fresh?.drop()]);
  });

  it('refuses (exit 3) while a migration it would fold is in flight, changing nothing', async () => {
    expect((await run(here, 'expand', 'phone')).code).toBe(0);
    const r = await run(here, 'squash', '--through', 'phone');
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('20260104000000_phone is expanded');
    expect(files()).toEqual([...Object.keys(first), ...Object.keys(later)].sort());
    expect((await run(here, 'abort', 'phone')).code).toBe(0);
  });

  it('folds the contracted migrations into one file and marks them squashed', async () => {
    const r = await run(here, 'squash', '--through', 'full_name', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(r.json()).toMatchObject({ file: 'migrations/20260103000000_squashed.ts', folded: ['20260101000000_users', '20260102000000_email', '20260103000000_full_name'] });
    expect(files()).toEqual(['20260103000000_squashed.ts', '20260104000000_phone.ts']);
    const text = readFileSync(path.join(dir, 'migrations/20260103000000_squashed.ts'), 'utf8');
    expect(text).toContain('CREATE TABLE public.users');
    expect(text).toContain('full_name text');
    const db = await here.connect();
    const events = (await db.pool.query(`SELECT migration, details FROM curtain.migration_events WHERE event = 'squashed' ORDER BY migration`)).rows;
    expect(events.map((e) => [e.migration, e.details.into])).toEqual([
      ['20260101000000_users', '20260103000000_squashed'],
      ['20260102000000_email', '20260103000000_squashed'],
      ['20260103000000_full_name', '20260103000000_squashed'],
    ]);
    expect((await db.pool.query(`SELECT phase FROM curtain.migrations WHERE name = '20260103000000_squashed'`)).rows[0].phase).toBe('contracted');
    expect((await run(here, 'drift')).code).toBe(0);
  });

  it('a new database replays the one file (then the later ones) and ends with the same schema', async () => {
    expect((await run(here, '--yes', 'up')).code).toBe(0);
    const r = await run(fresh, 'up', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(r.json().migrations.map((m: any) => m.migration)).toEqual(['20260103000000_squashed', '20260104000000_phone']);
    expect(await shape(await fresh.connect())).toEqual(await shape(await here.connect()));
  });

  it('a database where the folded migrations ran takes the squashed file without re-running its DDL', async () => {
    const r = await run(elsewhere, '--yes', 'up');
    expect(r.code, r.stderr).toBe(0);
    expect(await shape(await elsewhere.connect())).toEqual(await shape(await here.connect()));
    expect(existsSync(path.join(dir, 'migrations/20260101000000_users.ts'))).toBe(false);
  });

  it('refuses an unknown name (exit 2)', async () => {
    expect((await run(here, 'squash', '--through', 'nope')).code).toBe(2);
  });
});
