import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createThrottle, throttleOptionsFrom } from '../../../src/backfill/throttle.js';
import { loadConfig } from '../../../src/config.js';
import { CurtainError, UsageError } from '../../../src/errors.js';
import { createTestDatabase, type TestDatabase } from '../../support/database.js';
import { waitFor } from '../../support/replica.js';

describe('throttle: query, load, options', () => {
  let tdb: TestDatabase;
  let pool: pg.Pool;

  beforeAll(async () => {
    tdb = await createTestDatabase('throttle');
    pool = (await tdb.connect()).pool;
    await pool.query('CREATE TABLE throttle_switch (on_hold boolean NOT NULL); INSERT INTO throttle_switch VALUES (false)');
    await pool.query('CREATE TABLE locked (id int)');
  });
  afterAll(() => tdb.drop());

  it('throttles while the throttle query returns true, and not otherwise', async () => {
    const t = await createThrottle(pool, { maxReplicaLagMs: null, throttleQuery: 'SELECT on_hold FROM throttle_switch' });
    try {
      expect((await t.check()).throttled).toBe(false);
      await pool.query('UPDATE throttle_switch SET on_hold = true');
      expect(await t.check()).toMatchObject({ throttled: true, reason: 'throttle query returned true' });
      await pool.query('UPDATE throttle_switch SET on_hold = false');
      expect((await t.check()).throttled).toBe(false);
      // A failure later on (the table is gone) throttles with the reason instead of throwing.
      await pool.query('ALTER TABLE throttle_switch RENAME TO throttle_switch_gone');
      const s = await t.check();
      expect(s.throttled).toBe(true);
      expect(s.reason).toMatch(/^throttle query failed: relation "throttle_switch" does not exist/);
      await pool.query('ALTER TABLE throttle_switch_gone RENAME TO throttle_switch');
    } finally {
      await t.close();
    }
  });

  it('refuses a throttle query that fails, writes, or returns no boolean, at creation', async () => {
    await expect(createThrottle(pool, { throttleQuery: 'SELECT nope FROM throttle_switch' })).rejects.toThrow(/the throttle query failed: column "nope" does not exist/);
    await expect(createThrottle(pool, { throttleQuery: 'SELECT 1' })).rejects.toThrow(/must return a boolean first column/);
    await expect(createThrottle(pool, { throttleQuery: 'UPDATE throttle_switch SET on_hold = true RETURNING on_hold' })).rejects.toThrow(/read-only transaction/);
    expect((await pool.query('SELECT on_hold FROM throttle_switch')).rows).toEqual([{ on_hold: false }]);
    await expect(createThrottle(pool, { throttleQuery: '  ' })).rejects.toBeInstanceOf(UsageError);
    await expect(createThrottle(pool, { maxActiveBackends: -1 })).rejects.toThrow(/maxActiveBackends must be a non-negative number/);
    await expect(createThrottle(pool, { replicaUrls: ['mysql://x/y'] })).rejects.toThrow(/replica r1: "mysql:\/\/x\/y" is not a postgres:\/\/ connection URL/);
    await expect(createThrottle(pool, { replicaUrls: [{ name: 'a', url: 'postgres://h/a' }, { name: 'a', url: 'postgres://h/b' }] })).rejects.toThrow(/two replicas are named "a"/);
    await expect(createThrottle(pool, { replicaUrls: [{ name: 'bad name', url: 'postgres://h/a' }] })).rejects.toBeInstanceOf(CurtainError);
  });

  it('throttles on lock waiters and active backends above their thresholds', async () => {
    const holder = await pool.connect();
    const waiter = await pool.connect();
    const t = await createThrottle(pool, { maxReplicaLagMs: null, maxLockWaiters: 0, maxActiveBackends: 0 });
    const loose = await createThrottle(pool, { maxReplicaLagMs: null, maxLockWaiters: 10_000, maxActiveBackends: 10_000 });
    try {
      await holder.query('BEGIN');
      await holder.query('LOCK TABLE locked IN ACCESS EXCLUSIVE MODE');
      const { rows } = await waiter.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      const waiting = waiter.query('SELECT count(*) FROM locked');
      await waitFor(
        async () => (await pool.query(`SELECT wait_event_type = 'Lock' AS w FROM pg_stat_activity WHERE pid = $1`, [rows[0]!.pid])).rows[0]?.w === true,
        30_000,
        'the second session to wait on the lock',
      );
      const s = await t.check();
      expect(s.throttled).toBe(true);
      expect(s.reason).toMatch(/(^|; )[1-9]\d* sessions waiting on locks > 0(;|$)/);
      expect(s.reason).toMatch(/(^|; )[1-9]\d* active backends > 0(;|$)/);
      expect((await loose.check()).throttled).toBe(false);
      await holder.query('COMMIT');
      await waiting;
    } finally {
      holder.release();
      waiter.release();
      await t.close();
      await loose.close();
    }
  });

  it('with no replicas and nothing configured, checks pass (the standalone test server has no standbys)', async () => {
    const t = await createThrottle(pool);
    try {
      const s = await t.check();
      expect(s.replicas.filter((r) => r.source === 'connection')).toEqual([]);
      expect(s.reasons.filter((r) => !r.startsWith('replica '))).toEqual([]);
    } finally {
      await t.close();
    }
  });

  it('reads and validates the backfill throttling keys of the config file', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'curtain-throttle-config-'));
    let dir = root;
    let n = 0;
    try {
      // A folder per file: the loader caches modules by path.
      const write = (o: unknown) => {
        dir = mkdtempSync(path.join(root, `c${n++}-`));
        writeFileSync(path.join(dir, 'curtain.config.json'), JSON.stringify(o));
      };
      write({});
      expect((await loadConfig({ cwd: dir })).backfill).toMatchObject({ maxReplicaLagMs: 5000, replicas: [] });
      write({
        backfill: {
          maxReplicaLag: '7.5s',
          replicas: ['postgres://replica-1/app', { name: 'eu', url: 'postgresql://u:secret@replica-eu:5433/app' }],
          throttleQuery: 'SELECT false',
          maxActiveBackends: 40,
          maxLockWaiters: 5,
        },
      });
      const loaded = await loadConfig({ cwd: dir });
      expect(throttleOptionsFrom(loaded.backfill)).toMatchObject({ maxReplicaLagMs: 7500, maxActiveBackends: 40, maxLockWaiters: 5, throttleQuery: 'SELECT false' });
      expect(loaded.backfill).toMatchObject({
        maxReplicaLagMs: 7500,
        replicas: [
          { name: 'r1', url: 'postgres://replica-1/app' },
          { name: 'eu', url: 'postgresql://u:secret@replica-eu:5433/app' },
        ],
        throttleQuery: 'SELECT false',
        maxActiveBackends: 40,
        maxLockWaiters: 5,
      });
      write({ backfill: { maxReplicaLag: false } });
      expect((await loadConfig({ cwd: dir })).backfill.maxReplicaLagMs).toBeNull();
      write({ backfill: { maxReplicaLag: 'soon' } });
      await expect(loadConfig({ cwd: dir })).rejects.toThrow(/backfill.maxReplicaLag "soon" is not a duration/);
      write({ backfill: { maxActiveBackends: -3 } });
      await expect(loadConfig({ cwd: dir })).rejects.toThrow(/backfill.maxActiveBackends/);
      write({ backfill: { replicas: ['replica-1:5432'] } });
      await expect(loadConfig({ cwd: dir })).rejects.toThrow(/backfill.replicas: replica r1: "replica-1:5432" is not a postgres:\/\/ connection URL/);
      write({ backfill: { replicas: [{ name: 'x', url: 'postgres://a:pw@h/d' }, { name: 'x', url: 'postgres://h/e' }] } });
      await expect(loadConfig({ cwd: dir })).rejects.toThrow(/two replicas are named "x"/);
      write({ backfill: { throttleQuery: '' } });
      await expect(loadConfig({ cwd: dir })).rejects.toThrow(/backfill.throttleQuery/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
