import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/connect.js';
import { schemaFingerprint } from '../../src/testing/catalog.js';
import { migrate, migrationSource } from '../support/cli.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { pgDumpMatchesServer } from '../support/pg-dump.js';

// These commands dump the schema with pg_dump, which must be as new as the server.
const dumpable = await pgDumpMatchesServer();
if (!dumpable) process.stderr.write('skipping: no pg_dump as new as the test server on this machine\n');

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
// Inside the package, so the baseline file's `import ... from 'curtain'` resolves to the build.
const dir = path.join(root, 'scratch', `baseline-e2e-${process.pid}`);
const seed = readFileSync(path.join(root, 'test/fixtures/convert/seed.txt'), 'utf8');
const extras = `
CREATE VIEW active_users AS SELECT id, email FROM users WHERE status = 'active';
CREATE FUNCTION order_count(uid bigint) RETURNS bigint LANGUAGE sql STABLE AS $$ SELECT count(*) FROM orders WHERE user_id = uid $$;
ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id);
CREATE TYPE mood AS ENUM ('happy', 'sad');
ALTER TABLE users ADD COLUMN mood mood;`;

async function shape(db: Database) {
  const f = await schemaFingerprint(db.pool);
  return { ...f, columns: (f.columns ?? []).map((c) => c.replace(/ #\d+$/, '')) };
}

describe.skipIf(!dumpable)('migrate baseline and migrate drift', () => {
  let existing: TestDatabase;
  let fresh: TestDatabase;
  let live: Database;
  const run = (url: string, ...args: string[]) => migrate(args, { cwd: dir, databaseUrl: url });

  beforeAll(async () => {
    [existing, fresh] = await Promise.all([createTestDatabase('basel'), createTestDatabase('basef')]);
    live = await existing.connect();
    await live.pool.query(seed + extras);
    mkdirSync(path.join(dir, 'migrations'), { recursive: true });
  });
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await Promise.all([existing?.drop(), fresh?.drop()]);
  });

  it('adopts an existing database: writes a baseline file and records it as contracted', async () => {
    const r = await run(existing.url, 'baseline', '--json');
    expect(r.code, r.stderr).toBe(0);
    const out = r.json();
    expect(out.file).toMatch(/^migrations\/\d{14}_baseline\.ts$/);
    expect(out.counts.relations).toBeGreaterThan(5);
    const text = readFileSync(path.join(dir, out.file), 'utf8');
    expect(text).toContain('CREATE TABLE public.orders');
    expect(text).toContain('CREATE VIEW public.active_users');
    const row = (await live.pool.query(`SELECT phase FROM curtain.migrations WHERE name = $1`, [out.migration])).rows[0];
    expect(row.phase).toBe('contracted');
    // Nothing was ever switched: no flag, so no flag debt.
    expect((await live.pool.query(`SELECT count(*)::int AS n FROM curtain.flags`)).rows[0].n).toBe(0);
    const event = (await live.pool.query(`SELECT details FROM curtain.migration_events WHERE migration = $1 AND event = 'baseline'`, [out.migration])).rows[0];
    expect(event.details.fingerprint.columns.some((c: string) => c.startsWith('public.users.email text'))).toBe(true);
  });

  it('refuses a second baseline (exit 2)', async () => {
    const r = await run(existing.url, 'baseline');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('already has a baseline');
  });

  it('finds no drift right after the baseline, nor after a migration run with migrate up', async () => {
    expect((await run(existing.url, 'status')).stdout).toContain('drift: never checked (run "migrate drift")');
    const clean = await run(existing.url, 'drift');
    expect(clean.code, clean.stdout + clean.stderr).toBe(0);
    expect(clean.stdout).toContain('no drift');
    writeFileSync(
      path.join(dir, 'migrations/20990101000000_users_phone.ts'),
      migrationSource(`export default defineMigration({ operations: [op.addColumn('users', { name: 'phone', type: 'text' })] });`, 'defineMigration, op'),
    );
    expect((await run(existing.url, '--yes', 'up')).code).toBe(0);
    const after = await run(existing.url, 'drift', '--json');
    expect(after.code, after.stderr).toBe(0);
    expect(after.json()).toMatchObject({ drift: false, items: [] });
    expect((await run(existing.url, 'status')).stdout).toContain('drift: none at the last check');
    // The scratch database is gone.
    const left = (await live.pool.query(`SELECT count(*)::int AS n FROM pg_database WHERE datname LIKE 'curtain_drift_%'`)).rows[0].n;
    expect(left).toBe(0);
  });

  it('names a column added by hand (exit 3)', async () => {
    await live.pool.query(`ALTER TABLE users ADD COLUMN hand_made text`);
    const r = await run(existing.url, 'drift');
    expect(r.code).toBe(3);
    expect(r.stdout).toContain('+ column public.users.hand_made text');
    expect(r.stderr).toContain('drift');
    const status = await run(existing.url, 'status', '--json');
    expect(status.json().drift).toMatchObject({ objects: 1 });
    expect((await run(existing.url, 'status')).stdout).toContain('drift: 1 object(s) differed at the last check');
    await live.pool.query(`ALTER TABLE users DROP COLUMN hand_made`);
  });

  it('migrate up on an empty database recreates the same schema from the baseline', async () => {
    const r = await run(fresh.url, 'up', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(r.json().migrations.map((m: any) => m.to)).toEqual(['contracted', 'contracted']);
    expect(await shape(await fresh.connect())).toEqual(await shape(live));
    expect((await run(fresh.url, 'drift')).code).toBe(0);
  });
});
