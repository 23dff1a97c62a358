import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../../src/db/connect.js';
import { createFlags } from '../../../src/flags/client.js';
import { errorRates } from '../../../src/flags/error-rates.js';
import { CurtainProvider } from '../../../src/flags/openfeature.js';
import { bucket } from '../../../src/flags/hash.js';
import { setFlag } from '../../../src/flags/store.js';
import { ensureStore } from '../../../src/store/store.js';
import { createTestDatabase, type TestDatabase } from '../../support/database.js';

const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures/track-errors.mjs');
const KEY = 'checkout.v2';
const COUNT = 400;

function run(url: string, mode: 'client' | 'openfeature'): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, url, KEY, String(COUNT), mode], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 && out.includes('done') ? resolve() : reject(new Error(`${mode} exited ${code}: ${err}`))));
  });
}

describe('errors tracked by client processes, per side of the flag', () => {
  let tdb: TestDatabase;
  let conn: Database;

  beforeAll(async () => {
    tdb = await createTestDatabase('tracking');
    conn = await tdb.connect();
    await ensureStore(conn.pool, 'curtain');
    await setFlag(conn.pool, 'curtain', KEY, { enabled: true, rollout: 50 });
  });
  afterAll(() => tdb.drop());

  it('flags.track and the OpenFeature Tracking API count errors on the path each subject took; errorRates sums them', async () => {
    // The oracle: which subjects are on the new path, from the bucket alone.
    const on = Array.from({ length: COUNT }, (_, i) => bucket(`s-${i}`, KEY) <= 50);
    const onCount = on.filter(Boolean).length;
    const offErrors = on.filter((v, i) => !v && i % 4 === 0).length;
    expect(onCount).toBeGreaterThan(150);
    expect(onCount).toBeLessThan(250);

    await run(tdb.url, 'client');
    await run(tdb.url, 'openfeature');

    const rates = await errorRates(conn.pool, 'curtain', KEY, 10 * 60_000);
    expect(rates.on).toEqual({ evaluations: 2 * onCount, errors: 2 * onCount, rate: 1 });
    expect(rates.off).toEqual({ evaluations: 2 * (COUNT - onCount), errors: 2 * offErrors, rate: offErrors / (COUNT - onCount) });
    expect(rates.since.getTime()).toBeLessThanOrEqual(Date.now() - 10 * 60_000 + 60_000);

    // Events without a flag key count for the flag the process evaluated, per side; other events are kept apart.
    const slow = await errorRates(conn.pool, 'curtain', KEY, 10 * 60_000, { event: 'slow' });
    expect(slow.on.errors).toBe(2 * onCount);
    expect(slow.off.errors).toBe(2 * (COUNT - onCount));
    const { rows } = await conn.pool.query(
      `SELECT c.app_name, t.event, t.value, sum(t.count)::int AS n FROM curtain.flag_tracking t JOIN curtain.clients c ON c.id = t.client_id
        GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
    );
    expect(rows).toEqual(
      ['track-client', 'track-openfeature'].flatMap((app) => [
        { app_name: app, event: 'error', value: false, n: offErrors },
        { app_name: app, event: 'error', value: true, n: onCount },
        { app_name: app, event: 'slow', value: false, n: COUNT - onCount },
        { app_name: app, event: 'slow', value: true, n: onCount },
      ]),
    );

    // A flag nobody evaluated has no rate.
    expect((await errorRates(conn.pool, 'curtain', 'nobody.uses', 60_000)).on).toEqual({ evaluations: 0, errors: 0, rate: null });
  });

  it('without a context, an event counts for the value this process last evaluated; bad names and unknown flags record nothing', async () => {
    await setFlag(conn.pool, 'curtain', 'proc.flag', { enabled: true, rollout: 50 });
    const warnings: string[] = [];
    const flags = await createFlags({ connectionString: tdb.url, pollIntervalMs: 60_000, telemetry: { flushIntervalMs: 3_600_000 }, logger: { warn: (m: string) => warnings.push(m) } });
    const inside = Array.from({ length: 50 }, (_, i) => `p-${i}`).find((s) => bucket(s, 'proc.flag') <= 50)!;
    const provider = new CurtainProvider({ flags });
    expect(flags.isEnabled('proc.flag', { targetingKey: inside })).toBe(true);
    flags.track('proc.flag', 'error'); // no context: the last value, true
    provider.track('error', {}, { flagKey: 'proc.flag' }); // what the SDK passes without a context
    flags.track('proc.flag', 'error', { targetingKey: 'another-subject', tenant: 'x' }); // with a context: its own value
    flags.track('proc.flag', '');
    flags.track('proc.flag', 'x'.repeat(129));
    flags.track('no.such.flag', 'error');
    await flags.close();
    const r = await errorRates(conn.pool, 'curtain', 'proc.flag', 60_000);
    const other = bucket('another-subject', 'proc.flag') <= 50;
    expect(r.on).toEqual({ evaluations: 1, errors: 2 + (other ? 1 : 0), rate: 2 + (other ? 1 : 0) });
    expect(r.off.errors).toBe(other ? 0 : 1);
    expect((await conn.pool.query(`SELECT count(*)::int AS n FROM curtain.flag_tracking WHERE key = 'no.such.flag' OR event <> ALL ('{error,slow}')`)).rows[0].n).toBe(0);
    expect(warnings.filter((w) => /tracked event name/.test(w))).toHaveLength(2);
  });
});
