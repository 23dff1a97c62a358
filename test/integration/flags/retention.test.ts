import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../../src/db/connect.js';
import { createFlags } from '../../../src/flags/index.js';
import { USAGE_RETENTION_DAYS } from '../../../src/flags/usage.js';
import { ensureStore } from '../../../src/store/store.js';
import { createTestDatabase, type TestDatabase } from '../../support/database.js';

describe('telemetry retention', () => {
  let tdb: TestDatabase;
  let conn: Database;
  beforeAll(async () => {
    tdb = await createTestDatabase('retention');
    conn = await tdb.connect();
    await ensureStore(conn.pool, 'curtain');
  });
  afterAll(() => tdb.drop());

  it(`clients prune usage older than ${USAGE_RETENTION_DAYS} days, and clients gone that long`, async () => {
    await conn.pool.query(`
      INSERT INTO curtain.clients (id, app_name, host, pid, last_seen_at) VALUES
        ('gone', 'api', 'old-host', 1, now() - interval '40 days'),
        ('recent', 'api', 'new-host', 2, now() - interval '1 day');
      INSERT INTO curtain.flag_usage (client_id, key, window_start, true_count, false_count) VALUES
        ('gone', 'a', date_trunc('minute', now() - interval '40 days'), 1, 1),
        ('recent', 'a', date_trunc('minute', now() - interval '40 days'), 1, 0),
        ('recent', 'a', date_trunc('minute', now() - interval '2 days'), 5, 0);`);
    const flags = await createFlags({ connectionString: tdb.url, telemetry: { flushIntervalMs: 50 }, logger: { warn: () => {} } });
    try {
      for (let i = 0; i < 100; i++) {
        const { rows } = await conn.pool.query(`SELECT count(*)::int AS n FROM curtain.flag_usage WHERE window_start < now() - interval '30 days'`);
        if (rows[0].n === 0) break;
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      await flags.close();
    }
    const usage = await conn.pool.query(`SELECT client_id, true_count FROM curtain.flag_usage ORDER BY client_id`);
    expect(usage.rows).toEqual([{ client_id: 'recent', true_count: 5 }]);
    const clients = await conn.pool.query(`SELECT id FROM curtain.clients WHERE id IN ('gone', 'recent') ORDER BY id`);
    expect(clients.rows.map((r) => r.id)).toEqual(['recent']);
  });
});
