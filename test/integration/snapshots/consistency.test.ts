import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSnapshot, diffSnapshot } from '../../../src/snapshots/index.js';
import { ensureStore } from '../../../src/store/store.js';
import { createTestDatabase, type TestDatabase } from '../../support/database.js';

const schema = 'curtain';

describe('snapshot consistency', () => {
  let tdb: TestDatabase;
  let pool: pg.Pool;

  beforeAll(async () => {
    tdb = await createTestDatabase('snapconsist');
    pool = (await tdb.connect()).pool;
    await ensureStore(pool, schema);
    await pool.query(`
      CREATE TABLE a (id int PRIMARY KEY);
      CREATE TABLE b (id int PRIMARY KEY);
      CREATE TABLE events (id int PRIMARY KEY, at timestamptz, day date, ratio float8, span interval, raw bytea);
      INSERT INTO a SELECT generate_series(1, 10);
      INSERT INTO b SELECT generate_series(1, 10);
      INSERT INTO events SELECT i, timestamptz '2026-01-01 12:00:00+00' + i * interval '1 hour', date '2026-01-01' + i,
                                i / 3.0, i * interval '90 minutes', decode(md5(i::text), 'hex')
                           FROM generate_series(1, 20) i;`);
  });
  afterAll(() => tdb.drop());

  it('copies every table as of one moment (REPEATABLE READ), even when a table is busy', async () => {
    // Another session inserts into b and holds b locked, so the snapshot copies a, then waits on b.
    const other = new pg.Client({ connectionString: tdb.url });
    await other.connect();
    try {
      await other.query('BEGIN');
      await other.query('INSERT INTO b VALUES (11)');
      await other.query('LOCK TABLE b IN ACCESS EXCLUSIVE MODE');
      const taking = createSnapshot(pool, { schema, tables: ['a', 'b'] });
      // Wait (by state, not by time) until the snapshot is blocked on b.
      for (;;) {
        const { rows } = await pool.query(
          `SELECT count(*)::int AS n FROM pg_locks WHERE relation = 'b'::regclass AND NOT granted`,
        );
        if (rows[0].n > 0) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      await other.query('COMMIT'); // b now has 11 rows, but not in the snapshot's view
      const snap = await taking;
      expect(snap.tables.map((t) => [t.name, t.rows])).toEqual([
        ['a', 10],
        ['b', 10],
      ]);
    } finally {
      await other.end();
    }
  });

  it('checksums do not depend on the session settings of whoever computes them', async () => {
    const odd = new pg.Pool({
      connectionString: tdb.url,
      options: '-c TimeZone=Asia/Tokyo -c DateStyle=German -c extra_float_digits=-3 -c IntervalStyle=iso_8601 -c bytea_output=escape',
    });
    try {
      const snap = await createSnapshot(odd, { schema, tables: ['events'] });
      const diff = await diffSnapshot(pool, snap.id, { schema });
      expect(diff.tables[0]).toMatchObject({ changed: false, rowsNow: 20 });
      expect(diff.tables[0]!.checksumNow).toBe(snap.tables[0]!.checksum);
      await pool.query(`UPDATE events SET ratio = ratio + 1e-12 WHERE id = 7`);
      expect((await diffSnapshot(odd, snap.id, { schema })).tables[0]!.changed).toBe(true);
    } finally {
      await odd.end();
    }
  });
});
