import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createThrottle, type ThrottleState } from '../../../src/backfill/throttle.js';
import { freePorts, startReplicaPair, waitFor, type ReplicaPair } from '../../support/replica.js';

/**
 * The throttle against a real primary and a real streaming standby (started
 * from the server binaries on this machine; fails, naming what to install,
 * where they are missing).
 */
describe('throttle on a real streaming replica', () => {
  let pair: ReplicaPair;
  let pool: pg.Pool;
  const standbyCount = async () => {
    const c = new pg.Client({ connectionString: pair.standbyUrl });
    await c.connect();
    try {
      return (await c.query<{ n: number }>('SELECT count(*)::int AS n FROM poisoned')).rows[0]!.n;
    } finally {
      await c.end();
    }
  };

  beforeAll(async () => {
    pair = await startReplicaPair({ standbyName: 'r1' });
    pool = new pg.Pool({ connectionString: pair.primaryUrl, max: 4 });
    await pool.query('CREATE TABLE poisoned (id int PRIMARY KEY, note text)');
    await pair.waitForCatchUp();
  }, 240_000);
  afterAll(async () => {
    await pool?.end();
    await pair?.stop();
  });

  it('throttles while replay is paused and the lag exceeds the threshold, naming the replica; clears after resume and catch-up', async () => {
    const t = await createThrottle(pool, { maxReplicaLagMs: 1000, replicaUrls: [{ name: 'standby-url', url: pair.standbyUrl }] });
    try {
      expect(t.active).toBe(true);
      let state: ThrottleState | undefined;
      await waitFor(async () => !(state = await t.check()).throttled, 60_000, 'the throttle to report the caught-up standby as clear');
      expect(state!.replicas.map((r) => `${r.name}/${r.source}`).sort()).toEqual(['r1/pg_stat_replication', 'standby-url/connection']);

      await pair.pause();
      await pool.query(`INSERT INTO poisoned SELECT g, repeat('x', 100) FROM generate_series(1, 2000) g`);
      await waitFor(
        async () => (state = await t.check()).reasons.filter((r) => r.startsWith('replica ')).length === 2,
        60_000,
        'both views of the standby to exceed 1 s of lag',
      );
      expect(state!.throttled).toBe(true);
      expect(state!.reason).toMatch(/replica r1 lag \d+(\.\d)? s > 1 s \(\d+(\.\d)? [kM]?B behind\)/);
      expect(state!.reason).toMatch(/replica standby-url lag \d+(\.\d)? s > 1 s/);
      const r1 = state!.replicas.find((r) => r.name === 'r1')!;
      expect(r1.lagMs).toBeGreaterThan(1000);
      expect(r1.bytesBehind).toBeGreaterThan(100_000);
      // Really behind: the standby has not replayed the rows.
      expect(await standbyCount()).toBe(0);

      await pair.resume();
      await waitFor(async () => !(state = await t.check()).throttled, 60_000, 'the throttle to clear after resume');
      expect(state!.reason).toBe('');
      expect(await standbyCount()).toBe(2000);
    } finally {
      await t.close();
    }
  }, 240_000);

  it('a replica it cannot reach throttles with the reason and never throws; a dropped connection recovers by itself', async () => {
    const [port] = await freePorts(1);
    const ghost = await createThrottle(pool, {
      maxReplicaLagMs: 5000,
      replicaUrls: [`postgres://postgres@127.0.0.1:${port}/postgres`],
      timeoutMs: 1000,
    });
    try {
      const s = await ghost.check();
      expect(s.throttled).toBe(true);
      expect(s.reason).toMatch(/^replica r1 unreachable: /);
      expect(s.replicas.find((r) => r.source === 'connection')).toMatchObject({ name: 'r1', lagMs: null });
    } finally {
      await ghost.close();
    }

    const t = await createThrottle(pool, { replicaUrls: [{ name: 'standby', url: pair.standbyUrl }] });
    try {
      await waitFor(async () => !(await t.check()).throttled, 60_000, 'the throttle to see the standby');
      // Kill the throttle's connection on the standby, as a replica restart would.
      const c = new pg.Client({ connectionString: pair.standbyUrl });
      await c.connect();
      const killed = await c.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'curtain throttle'`);
      await c.end();
      expect(killed.rowCount).toBe(1);
      const after = await t.check();
      if (after.throttled) expect(after.reason).toMatch(/^replica standby unreachable: /);
      await waitFor(async () => !(await t.check()).throttled, 60_000, 'the throttle to reconnect to the standby');
    } finally {
      await t.close();
    }
  }, 240_000);
});
