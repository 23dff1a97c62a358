import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initialSchema } from '../../src/store/internal/001-initial.js';
import { ensureStore, STORE_VERSION } from '../../src/store/store.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import type { Database } from '../../src/db/connect.js';

describe('the curtain schema', () => {
  let tdb: TestDatabase;
  let conn: Database;
  beforeAll(async () => {
    tdb = await createTestDatabase('store');
    conn = await tdb.connect();
  });
  afterAll(() => tdb.drop());

  it('is created by its internal migrations and creating it twice is a no-op', async () => {
    await ensureStore(conn.pool, 'curtain');
    const other = await tdb.connect();
    await ensureStore(other.pool, 'curtain');
    const { rows } = await conn.pool.query(`SELECT name FROM curtain.store_versions ORDER BY name`);
    expect(rows.map((r) => r.name)).toHaveLength(STORE_VERSION);
    const tables = await conn.pool.query(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'curtain' ORDER BY 1`,
    );
    expect(tables.rows.map((r) => r.table_name)).toEqual(
      expect.arrayContaining(['migrations', 'flags', 'flag_events', 'snapshots', 'backfill_checkpoints', 'steps', 'clients', 'flag_usage']),
    );
  });

  it('is created once when two processes race on first use', async () => {
    const a = await tdb.connect();
    const b = await tdb.connect();
    await Promise.all([ensureStore(a.pool, 'racing'), ensureStore(b.pool, 'racing')]);
    const { rows } = await conn.pool.query(`SELECT count(*)::int AS n FROM racing.store_versions`);
    expect(rows[0].n).toBe(STORE_VERSION);
  });

  it('upgrades a schema left at an older version by running only the missing internal migrations', async () => {
    await conn.pool.query(initialSchema('upgrading'));
    await conn.pool.query(`CREATE TABLE upgrading.store_versions (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now());
      INSERT INTO upgrading.store_versions (name) VALUES ('001-initial')`);
    const fresh = await tdb.connect();
    await ensureStore(fresh.pool, 'upgrading');
    const { rows } = await conn.pool.query(`SELECT name FROM upgrading.store_versions ORDER BY name`);
    expect(rows.map((r) => r.name)).toHaveLength(STORE_VERSION);
    expect(rows.map((r) => r.name)).toEqual(
      expect.arrayContaining(['001-initial', '002-usage-retention', '003-migrate-lock', '004-flag-targeting', '004-flag-tracking', '005-backfill-control', '008-client-versions']),
    );
    const idx = await conn.pool.query(`SELECT indexname FROM pg_indexes WHERE schemaname = 'upgrading' AND indexname = 'flag_usage_window_start'`);
    expect(idx.rows).toHaveLength(1);
    const cols = await conn.pool.query(
      `SELECT column_name, column_default FROM information_schema.columns WHERE table_schema = 'upgrading' AND table_name = 'flags' AND column_name IN ('subjects', 'constraints') ORDER BY 1`,
    );
    expect(cols.rows).toEqual([
      { column_name: 'constraints', column_default: "'[]'::jsonb" },
      { column_name: 'subjects', column_default: "'{}'::text[]" },
    ]);
    expect((await conn.pool.query(`SELECT to_regclass('upgrading.flag_tracking') IS NOT NULL AS ok`)).rows[0].ok).toBe(true);
  });

  it('takes its name from the configuration', async () => {
    await ensureStore(conn.pool, 'Odd "name"');
    const { rows } = await conn.pool.query(`SELECT count(*)::int AS n FROM "Odd ""name""".flags`);
    expect(rows[0].n).toBe(0);
  });
});
