import { OpenFeature } from '@openfeature/server-sdk';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Database } from '../../../src/db/connect.js';
import { UsageError } from '../../../src/errors.js';
import { createFlags, type FlagsClient } from '../../../src/flags/client.js';
import { buildOfrepApp } from '../../../src/flags/ofrep.js';
import { CurtainProvider } from '../../../src/flags/openfeature.js';
import { flagHistory, getFlag, setFlag } from '../../../src/flags/store.js';
import { targetFlag } from '../../../src/flags/target.js';
import { TargetingSyntaxError } from '../../../src/flags/targeting-syntax.js';
import { initialSchema } from '../../../src/store/internal/001-initial.js';
import { ensureStore } from '../../../src/store/store.js';
import { createTestDatabase, type TestDatabase } from '../../support/database.js';

const S = 'curtain';
const quiet = { warn: () => {} };

describe('flag targeting, persisted', () => {
  let tdb: TestDatabase;
  let conn: Database;
  const opened: FlagsClient[] = [];
  const open = async () => {
    const flags = await createFlags({ connectionString: tdb.url, logger: quiet, pollIntervalMs: 60_000, telemetry: false });
    opened.push(flags);
    return flags;
  };
  const count = async (sql: string) => Number((await conn.pool.query(sql)).rows[0].n);

  beforeAll(async () => {
    tdb = await createTestDatabase('targeting');
    conn = await tdb.connect();
    await ensureStore(conn.pool, S);
  });
  afterAll(async () => {
    await OpenFeature.close();
    await Promise.all(opened.map((f) => f.close()));
    await tdb.drop();
  });

  it('stores the allowlist and the constraints in the flag row, audits before/after, and announces the change', async () => {
    await setFlag(conn.pool, S, 'tgt.audit', { enabled: false });
    const flags = await open();
    expect(flags.isEnabled('tgt.audit', { targetingKey: 'user:42' })).toBe(false);

    const row = await targetFlag(conn.pool, S, 'tgt.audit', { enabled: true, for: ['user:42,user:7'], where: ['tenant in (acme, initech)'] }, { actor: 'ops', reason: 'dogfood' });
    expect(row).toMatchObject({ enabled: true, rollout: 0, subjects: ['user:42', 'user:7'], constraints: [{ attribute: 'tenant', operator: 'in', values: ['acme', 'initech'] }] });
    const stored = (await conn.pool.query(`SELECT subjects, constraints, rollout FROM curtain.flags WHERE key = 'tgt.audit'`)).rows[0];
    expect(stored).toEqual({ subjects: ['user:42', 'user:7'], constraints: [{ attribute: 'tenant', operator: 'in', values: ['acme', 'initech'] }], rollout: 0 });

    const [event] = await flagHistory(conn.pool, S, 'tgt.audit', { limit: 1 });
    expect(event).toMatchObject({ actor: 'ops', action: 'update', reason: 'dogfood' });
    expect(event!.before).toMatchObject({ enabled: false, rollout: 100, subjects: [], constraints: [] });
    expect(event!.after).toMatchObject({ enabled: true, rollout: 0, subjects: ['user:42', 'user:7'], constraints: [{ attribute: 'tenant', operator: 'in', values: ['acme', 'initech'] }] });

    // NOTIFY: the running client sees it without polling.
    await vi.waitFor(() => expect(flags.isEnabled('tgt.audit', { targetingKey: 'user:42' })).toBe(true), { timeout: 10_000, interval: 10 });
    expect(flags.details('tgt.audit', { targetingKey: 'u', tenant: 'initech' })).toMatchObject({ value: true, reason: 'TARGETING_MATCH' });
    expect(flags.isEnabled('tgt.audit', { targetingKey: 'u', tenant: 'globex' })).toBe(false);
    expect(flags.list().find((f) => f.key === 'tgt.audit')).toMatchObject({ subjects: ['user:42', 'user:7'] });
  });

  it('targeting never widens exposure by itself: 0 % on a new or disabled flag, the percentage kept on a flag that is on', async () => {
    expect((await targetFlag(conn.pool, S, 'tgt.new', { enabled: true, for: ['u1'] })).rollout).toBe(0);
    await setFlag(conn.pool, S, 'tgt.was-off', { enabled: false, rollout: 100 });
    expect((await targetFlag(conn.pool, S, 'tgt.was-off', { where: ['plan = pro'] })).rollout).toBe(0);
    await setFlag(conn.pool, S, 'tgt.was-on', { enabled: true, rollout: 30 });
    expect((await targetFlag(conn.pool, S, 'tgt.was-on', { for: ['u1'] })).rollout).toBe(30);
    expect((await targetFlag(conn.pool, S, 'tgt.explicit', { enabled: true, rollout: 10, for: ['u1'] })).rollout).toBe(10);
    // Replacing one part keeps the other; clearing removes both.
    const replaced = await targetFlag(conn.pool, S, 'tgt.audit', { for: ['user:9'] });
    expect(replaced).toMatchObject({ subjects: ['user:9'], constraints: [{ attribute: 'tenant' }] });
    const cleared = await targetFlag(conn.pool, S, 'tgt.explicit', { clearTargeting: true });
    expect(cleared).toMatchObject({ subjects: [], constraints: [], rollout: 10, enabled: true });
  });

  it('runs inside the caller’s transaction (as migrate switch will)', async () => {
    const client = await conn.pool.connect();
    try {
      await client.query('BEGIN');
      await targetFlag(client, S, 'tgt.tx', { enabled: true, for: ['u1'] });
      await client.query('ROLLBACK');
    } finally {
      client.release();
    }
    expect(await getFlag(conn.pool, S, 'tgt.tx')).toBeUndefined();
  });

  it('refuses bad input with a clear error and changes nothing', async () => {
    await setFlag(conn.pool, S, 'tgt.safe', { enabled: true, rollout: 5 });
    await setFlag(conn.pool, S, 'tgt.grouped', { enabled: true, rollout: 10, group: 'grp' });
    const before = await count(`SELECT count(*) AS n FROM curtain.flag_events`);
    const version = await count(`SELECT max(version) AS n FROM curtain.flags`);
    await expect(targetFlag(conn.pool, S, 'tgt.safe', { where: ['tenant in acme'] })).rejects.toThrow(TargetingSyntaxError);
    await expect(targetFlag(conn.pool, S, 'tgt.safe', { where: ['tenant in acme'] })).rejects.toThrow(/at column 11/);
    await expect(targetFlag(conn.pool, S, 'tgt.safe', { for: ['a,,b'] })).rejects.toThrow(/empty subject at column 3/);
    await expect(targetFlag(conn.pool, S, 'tgt.safe', { for: ['a'], clearTargeting: true })).rejects.toThrow(UsageError);
    await expect(targetFlag(conn.pool, S, 'tgt.grouped', { for: ['u1'] })).rejects.toThrow(/exclusion group "grp", which cannot be combined with targeting/);
    await expect(setFlag(conn.pool, S, 'tgt.safe', { constraints: [{ attribute: 'tenant', operator: '=', values: ['a', 'b'] }] })).rejects.toThrow(/takes exactly one value/);
    await expect(setFlag(conn.pool, S, 'tgt.safe', { subjects: [' padded'] })).rejects.toThrow(/leading or trailing spaces/);
    await expect(targetFlag(conn.pool, S, 'tgt.new-bad', { for: ['u1'], where: ['x ='] })).rejects.toThrow(/expected a value/);
    expect(await count(`SELECT count(*) AS n FROM curtain.flag_events`)).toBe(before);
    expect(await count(`SELECT max(version) AS n FROM curtain.flags`)).toBe(version);
    expect(await getFlag(conn.pool, S, 'tgt.new-bad')).toBeUndefined();
    expect(await getFlag(conn.pool, S, 'tgt.safe')).toMatchObject({ rollout: 5, subjects: [], constraints: [] });
  });

  it('OFREP evaluates with the context of the request body', async () => {
    await targetFlag(conn.pool, S, 'tgt.ofrep', { enabled: true, for: ['user:42'], where: ['appName = billing-canary'] });
    const flags = await open();
    const app = await buildOfrepApp({ flags });
    const ask = async (context: unknown) => (await app.inject({ method: 'POST', url: '/ofrep/v1/evaluate/flags/tgt.ofrep', payload: { context } })).json();
    expect(await ask({ targetingKey: 'user:42' })).toMatchObject({ value: true, reason: 'TARGETING_MATCH', variant: 'on' });
    expect(await ask({ targetingKey: 'user:1', appName: 'billing-canary' })).toMatchObject({ value: true, reason: 'TARGETING_MATCH' });
    expect(await ask({ targetingKey: 'user:1', appName: 'billing' })).toMatchObject({ value: false, reason: 'DEFAULT' });
    const bulk = async (context: unknown) => (await app.inject({ method: 'POST', url: '/ofrep/v1/evaluate/flags', payload: { context } }));
    const a = await bulk({ appName: 'billing-canary' });
    const b = await bulk({ appName: 'billing' });
    expect(a.json().flags.find((f: { key: string }) => f.key === 'tgt.ofrep').value).toBe(true);
    expect(b.json().flags.find((f: { key: string }) => f.key === 'tgt.ofrep').value).toBe(false);
    expect(a.headers.etag).not.toBe(b.headers.etag); // the context is part of the tag
    await app.close();
  });

  it('the OpenFeature provider passes the whole evaluation context', async () => {
    await targetFlag(conn.pool, S, 'tgt.of', { enabled: true, for: ['user:42'], where: ['tenant in (acme)', 'beta = true'] });
    await OpenFeature.setProviderAndWait('targeting', new CurtainProvider({ connectionString: tdb.url, telemetry: false, logger: quiet, pollIntervalMs: 60_000 }));
    const client = OpenFeature.getClient('targeting');
    expect(await client.getBooleanDetails('tgt.of', false, { targetingKey: 'user:42' })).toMatchObject({ value: true, reason: 'TARGETING_MATCH' });
    expect(await client.getBooleanValue('tgt.of', false, { targetingKey: 'x', tenant: 'acme', beta: true })).toBe(true);
    expect(await client.getBooleanValue('tgt.of', false, { targetingKey: 'x', tenant: 'acme', beta: false })).toBe(false);
    expect(await client.getBooleanValue('tgt.of', false, { targetingKey: 'x', tenant: 'acme' })).toBe(false);
  });

  it('a client of this version still loads a curtain schema that has not been upgraded', async () => {
    await conn.pool.query(initialSchema('older'));
    await conn.pool.query(`INSERT INTO older.flags (key, enabled, rollout) VALUES ('old.on', true, 100), ('old.half', true, 50)`);
    const flags = await createFlags({ connectionString: tdb.url, schema: 'older', logger: quiet, pollIntervalMs: 60_000, telemetry: { flushIntervalMs: 60_000 } });
    opened.push(flags);
    expect(flags.status).toBe('ready');
    expect(flags.isEnabled('old.on')).toBe(true);
    expect(flags.list().find((f) => f.key === 'old.half')).toMatchObject({ rollout: 50, subjects: [], constraints: [] });
    flags.track('old.on', 'error');
    await flags.close(); // the tracked event has no table to go to: dropped; the evaluations are written
    expect(await count(`SELECT sum(true_count) AS n FROM older.flag_usage WHERE key = 'old.on'`)).toBe(1);
  });
});
