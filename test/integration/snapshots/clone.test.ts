import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { quoteIdent } from '../../../src/db/identifiers.js';
import { createSnapshot, dropSnapshot, getSnapshot, listSnapshots, restoreSnapshot } from '../../../src/snapshots/index.js';
import { ensureStore } from '../../../src/store/store.js';
import { createTestDatabase, serverUrl, type TestDatabase } from '../../support/database.js';

const schema = 'curtain';

describe('clone snapshots', () => {
  let tdb: TestDatabase;
  let pool: pg.Pool;
  const rows = async (table: string) => (await pool.query(`SELECT * FROM ${table} ORDER BY 1`)).rows;
  const databases = async () => {
    const admin = new pg.Client({ connectionString: serverUrl() });
    await admin.connect();
    try {
      const { rows } = await admin.query<{ datname: string; datallowconn: boolean }>(
        `SELECT datname, datallowconn FROM pg_database WHERE datname LIKE $1 ORDER BY 1`,
        [`${tdb.name}%`],
      );
      return rows;
    } finally {
      await admin.end();
    }
  };

  beforeAll(async () => {
    tdb = await createTestDatabase('snapclone');
    pool = (await tdb.connect()).pool;
    await ensureStore(pool, schema);
    await pool.query(`
      CREATE TABLE items (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, label text NOT NULL);
      INSERT INTO items (label) SELECT 'item ' || i FROM generate_series(1, 25) i;`);
  });
  afterAll(async () => {
    // Clone databases live outside the test database: drop any left over.
    const admin = new pg.Client({ connectionString: serverUrl() });
    await admin.connect();
    try {
      for (const d of await databases()) {
        if (d.datname !== tdb.name) await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(d.datname)}`);
      }
    } finally {
      await admin.end();
    }
    await tdb.drop();
  });

  it('refuses while another session is connected, naming it, and leaves no record', async () => {
    const other = new pg.Client({ connectionString: tdb.url, application_name: 'someone-else' });
    await other.connect();
    try {
      const err = (await createSnapshot(pool, { schema, strategy: 'clone' }).catch((e: unknown) => e)) as Error;
      expect(err.message).toMatch(/cannot clone database .*: 1 other session\(s\) are connected to database ".*" \(someone-else\)/);
      expect(await listSnapshots(pool, { schema })).toEqual([]);
      expect((await databases()).map((d) => d.datname)).toEqual([tdb.name]);
    } finally {
      await other.end();
    }
  });

  it('clones when alone, restores by swapping databases, and the restore can be undone', async () => {
    const items = await rows('items');
    const snap = await createSnapshot(pool, { schema, strategy: 'clone', reason: 'clone test' });
    expect(snap).toMatchObject({ strategy: 'clone', status: 'complete', location: `${tdb.name}_snap_${snap.id}` });
    expect(snap.tables.map((t) => [t.name, t.rows])).toEqual([['items', 25]]);
    expect(await databases()).toContainEqual({ datname: snap.location, datallowconn: false });

    await pool.query(`UPDATE items SET label = 'poisoned' WHERE id < 10; DELETE FROM items WHERE id > 20`);
    const poisoned = await rows('items');
    const result = await restoreSnapshot(pool, snap.id, { schema });
    expect(await rows('items')).toEqual(items);
    // The catalog inside the restored database knows every snapshot, including the safety one.
    expect((await listSnapshots(pool, { schema })).map((s) => [s.id, s.status]).sort()).toEqual(
      [
        [snap.id, 'complete'],
        [result.safetySnapshotId, 'complete'],
      ].sort(),
    );
    await expect(restoreSnapshot(pool, snap.id, { schema, tables: ['items'] })).rejects.toThrow('a clone snapshot restores the whole database');

    const undo = await restoreSnapshot(pool, result.safetySnapshotId, { schema });
    expect(await rows('items')).toEqual(poisoned);
    for (const id of [snap.id, result.safetySnapshotId, undo.safetySnapshotId]) {
      const s = await getSnapshot(pool, id, { schema });
      await dropSnapshot(pool, id, { schema });
      expect((await databases()).map((d) => d.datname)).not.toContain(s.location);
    }
    expect(await listSnapshots(pool, { schema })).toEqual([]);
  });
});
