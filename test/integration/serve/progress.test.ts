/**
 * The console's rate and ETA come from checkpoint samples. A backfill held
 * by a pause must not carry its samples across the pause: the first rate
 * after a resume would spread the new batches over the whole hold.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProgressTracker } from '../../../src/serve/progress.js';
import { writeCheckpoint } from '../../../src/store/checkpoints.js';
import { ensureStore } from '../../../src/store/store.js';
import { createTestDatabase, type TestDatabase } from '../../support/database.js';

const M = '20250101000000_held';

describe('backfill progress across a pause', () => {
  let tdb: TestDatabase;
  let conn: Awaited<ReturnType<TestDatabase['connect']>>;
  beforeAll(async () => {
    tdb = await createTestDatabase('progress');
    conn = await tdb.connect();
    await ensureStore(conn.pool, 'curtain');
  });
  afterAll(() => tdb.drop());

  // A checkpoint at a chosen age, so the expected rate does not depend on how fast the test runs.
  const checkpoint = async (rowsDone: number, secondsAgo: number) => {
    await writeCheckpoint(conn.pool, 'curtain', M, 'public.t', { lastKey: [String(rowsDone)], rowsDone, rowsTotal: 1000, done: false });
    await conn.pool.query(`UPDATE curtain.backfill_checkpoints SET updated_at = now() - make_interval(secs => $1) WHERE migration = $2`, [secondsAgo, M]);
  };
  const pause = (paused: boolean) =>
    conn.pool.query(
      `INSERT INTO curtain.backfill_control (migration, paused, updated_by, updated_at) VALUES ($1, $2, 'test', now())
       ON CONFLICT (migration) DO UPDATE SET paused = EXCLUDED.paused`,
      [M, paused],
    );

  it('measures the rate from the batches after the resume only', async () => {
    const tracker = new ProgressTracker('curtain');
    const view = async () => (await tracker.read(conn.pool)).find((v) => v.migration === M)!;

    await checkpoint(0, 20); // seeded before the first batch, then held for a while
    await pause(true);
    expect(await view()).toMatchObject({ rowsDone: 0, paused: true, rowsPerSecond: null, etaSeconds: null });
    await pause(false);
    await checkpoint(100, 4); // the first batch after the resume
    expect(await view()).toMatchObject({ rowsDone: 100, rowsPerSecond: null }); // one sample: no rate yet
    await checkpoint(300, 0);
    const measured = await view();
    // 200 rows in 4 s; with the held seed still counted it would read 300 rows in 20 s.
    expect(measured.rowsPerSecond).toBeCloseTo(50, 0);
    expect(measured.etaSeconds).toBeCloseTo(700 / measured.rowsPerSecond!, 6);
    expect(measured.text).toContain('50 rows/s');
  });
});
