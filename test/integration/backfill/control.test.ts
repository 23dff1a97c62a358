import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  getBackfillControl,
  listBackfillControls,
  pauseBackfill,
  reportBackfillThrottle,
  resumeBackfill,
  setBackfillControl,
  UnknownMigrationError,
} from '../../../src/backfill/control.js';
import { UsageError } from '../../../src/errors.js';
import { listEvents } from '../../../src/store/migrations.js';
import { ensureStore } from '../../../src/store/store.js';
import { createTestDatabase, type TestDatabase } from '../../support/database.js';

const S = 'curtain';

describe('backfill live control', () => {
  let tdb: TestDatabase;
  let pool: pg.Pool;
  const record = (name: string, phase: string) =>
    pool.query(`INSERT INTO curtain.migrations (name, checksum, phase, flag, kind, actor) VALUES ($1, 'c', $2, $1, 'schema', 't')`, [name, phase]);

  beforeAll(async () => {
    tdb = await createTestDatabase('bfcontrol');
    pool = (await tdb.connect()).pool;
    await ensureStore(pool, S);
    await record('m.running', 'expanding');
    await record('m.done', 'expanded');
  });
  afterAll(() => tdb.drop());

  it('has defaults before anything is written', async () => {
    expect(await getBackfillControl(pool, S, 'm.running')).toMatchObject({ paused: false, batchSize: null, batchDelayMs: null, maxReplicaLagMs: null, updatedBy: null });
  });

  it('pauses, resumes and changes settings, naming the actor in the row and the timeline', async () => {
    expect(await pauseBackfill(pool, S, 'm.running', { actor: 'alice' })).toMatchObject({ paused: true, updatedBy: 'alice' });
    expect(await setBackfillControl(pool, S, 'm.running', { batchSize: 500, batchDelayMs: 20 }, { actor: 'bob' })).toMatchObject({
      paused: true,
      batchSize: 500,
      batchDelayMs: 20,
      updatedBy: 'bob',
    });
    expect(await resumeBackfill(pool, S, 'm.running', { actor: 'carol' })).toMatchObject({ paused: false, batchSize: 500, updatedBy: 'carol' });
    expect(await setBackfillControl(pool, S, 'm.running', { maxReplicaLagMs: 5000, batchSize: null }, { actor: 'dave' })).toMatchObject({
      batchSize: null,
      batchDelayMs: 20,
      maxReplicaLagMs: 5000,
    });
    const events = (await listEvents(pool, S, 'm.running')).map((e) => [e.event, e.actor, e.details]);
    expect(events).toEqual([
      ['backfill.pause', 'alice', {}],
      ['backfill.set', 'bob', { batchSize: 500, batchDelayMs: 20 }],
      ['backfill.resume', 'carol', {}],
      ['backfill.set', 'dave', { maxReplicaLagMs: 5000, batchSize: null }],
    ]);
    expect((await listBackfillControls(pool, S)).map((c) => c.migration)).toEqual(['m.running']);
  });

  it('refuses unknown migrations, migrations not expanding, and bad values, changing nothing', async () => {
    await expect(pauseBackfill(pool, S, 'm.nope', { actor: 'x' })).rejects.toBeInstanceOf(UnknownMigrationError);
    await expect(pauseBackfill(pool, S, 'm.done', { actor: 'x' })).rejects.toThrow(/m.done is expanded: only an expanding migration has a backfill to steer/);
    await expect(setBackfillControl(pool, S, 'm.running', { batchSize: 0 }, { actor: 'x' })).rejects.toBeInstanceOf(UsageError);
    await expect(setBackfillControl(pool, S, 'm.running', { batchDelayMs: 1.5 }, { actor: 'x' })).rejects.toBeInstanceOf(UsageError);
    await expect(setBackfillControl(pool, S, 'm.running', {}, { actor: 'x' })).rejects.toThrow(/nothing to change/);
    const { rows } = await pool.query(`SELECT migration FROM curtain.backfill_control ORDER BY 1`);
    expect(rows).toEqual([{ migration: 'm.running' }]);
    expect((await getBackfillControl(pool, S, 'm.running')).updatedBy).toBe('dave');
  });

  it('lets the backfill report why it waits without touching the settings or their actor', async () => {
    await reportBackfillThrottle(pool, S, 'm.running', 'replica r1 lag 7.2 s > 5 s');
    const throttled = await getBackfillControl(pool, S, 'm.running');
    expect(throttled).toMatchObject({ throttled: 'replica r1 lag 7.2 s > 5 s', updatedBy: 'dave', maxReplicaLagMs: 5000 });
    expect(throttled.throttledAt).toBeInstanceOf(Date);
    await reportBackfillThrottle(pool, S, 'm.running', null);
    expect(await getBackfillControl(pool, S, 'm.running')).toMatchObject({ throttled: null, throttledAt: null });
  });
});
