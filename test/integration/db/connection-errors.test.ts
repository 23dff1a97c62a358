import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../../src/db/connect.js';
import { isConnectionError } from '../../../src/db/connection-error.js';
import { createTestDatabase, type TestDatabase } from '../../support/database.js';

let tdb: TestDatabase;
let admin: Database;
beforeAll(async () => {
  tdb = await createTestDatabase('connerr');
  admin = await tdb.connect();
});
afterAll(() => tdb.drop());

describe('pools opened by connect() own their connection errors', () => {
  it('a checked-out client whose session is terminated emits no unhandled error; the pool keeps working', async () => {
    const { pool } = await tdb.connect();
    const client = await pool.connect();
    // Nobody listens on this client (as with Kysely or the step executor): only the pool's per-connection owner.
    expect(client.listenerCount('error')).toBe(1);
    const pid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    const ended = new Promise<void>((resolve) => client.once('end', () => resolve()));
    const running = client.query('SELECT pg_sleep(600)').then(
      () => undefined,
      (e: unknown) => e,
    );
    for (;;) {
      const { rows } = await admin.pool.query(`SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND query = 'SELECT pg_sleep(600)'`, [pid]);
      if (rows.length > 0) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    await admin.pool.query('SELECT pg_terminate_backend($1)', [pid]);
    const err = await running;
    await ended;
    expect(isConnectionError(err)).toBe(true);
    client.release(err as Error);
    expect((await pool.query('SELECT 1 AS ok')).rows[0].ok).toBe(1);
  });

  it('idle clients terminated by the server are dropped without crashing', async () => {
    const { pool } = await tdb.connect();
    await Promise.all([pool.query('SELECT 1'), pool.query('SELECT 1')]);
    const mine = (await admin.pool.query<{ pid: number }>(`SELECT pg_backend_pid() AS pid`)).rows[0]!.pid;
    await admin.pool.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> $1`, [mine]);
    for (;;) {
      const { rows } = await admin.pool.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> $1`, [mine]);
      if (rows[0].n === 0 && pool.idleCount === 0) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect((await pool.query('SELECT 2 AS ok')).rows[0].ok).toBe(2);
  });

  it('checking clients out and in does not accumulate listeners', async () => {
    const { pool } = await tdb.connect();
    for (let i = 0; i < 30; i++) {
      const c = await pool.connect();
      expect(c.listenerCount('error')).toBe(1);
      c.release();
    }
  });
});
