import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Database } from '../../../src/db/connect.js';
import { GuardRefusal, UsageError } from '../../../src/errors.js';
import { createFlags, type FlagsClient } from '../../../src/flags/client.js';
import { flagUsage } from '../../../src/flags/usage.js';
import { retireFlag } from '../../../src/flags/retire.js';
import { deleteFlag, flagHistory, setFlag } from '../../../src/flags/store.js';
import { ensureStore } from '../../../src/store/store.js';
import { createTestDatabase, type TestDatabase } from '../../support/database.js';

const S = 'curtain';
const quiet = () => ({ warn: vi.fn() });
const UNREACHABLE = 'postgres://postgres@127.0.0.1:1/nothing';

describe('the flags client', () => {
  let tdb: TestDatabase;
  let conn: Database;
  const opened: FlagsClient[] = [];
  const open = async (options: Partial<Parameters<typeof createFlags>[0]> = {}) => {
    const flags = await createFlags({ connectionString: tdb.url, logger: quiet(), pollIntervalMs: 60_000, ...options });
    opened.push(flags);
    return flags;
  };
  const dir = mkdtempSync(path.join(os.tmpdir(), 'curtain-flags-'));

  beforeAll(async () => {
    tdb = await createTestDatabase('flags');
    conn = await tdb.connect();
    await ensureStore(conn.pool, S);
  });
  afterAll(async () => {
    await Promise.all(opened.map((f) => f.close()));
    await tdb.drop();
  });

  it('loads every flag at start and evaluates synchronously', async () => {
    await setFlag(conn.pool, S, 'start.on', { enabled: true });
    await setFlag(conn.pool, S, 'start.off', { enabled: false });
    const flags = await open();
    expect(flags.status).toBe('ready');
    expect(flags.isEnabled('start.on')).toBe(true);
    expect(flags.isEnabled('start.off')).toBe(false);
    expect(flags.details('start.off')).toMatchObject({ value: false, reason: 'DISABLED' });
  });

  it('sees a change through LISTEN/NOTIFY, with a change event', async () => {
    const flags = await open();
    const changes: string[][] = [];
    flags.on('change', (c) => changes.push(c.keys));
    await setFlag(conn.pool, S, 'notify.me', { enabled: true }, { reason: 'test' });
    await vi.waitFor(() => expect(flags.isEnabled('notify.me')).toBe(true), { timeout: 10_000, interval: 10 });
    expect(changes.flat()).toContain('notify.me');
    await deleteFlag(conn.pool, S, 'notify.me');
    await vi.waitFor(() => expect(flags.has('notify.me')).toBe(false), { timeout: 10_000, interval: 10 });
  });

  it('falls back to polling the version when LISTEN is off (deletions included)', async () => {
    const flags = await open({ listen: false, pollIntervalMs: 50 });
    await setFlag(conn.pool, S, 'poll.me', { enabled: true });
    await vi.waitFor(() => expect(flags.isEnabled('poll.me')).toBe(true), { timeout: 10_000, interval: 10 });
    await deleteFlag(conn.pool, S, 'poll.me');
    await vi.waitFor(() => expect(flags.has('poll.me')).toBe(false), { timeout: 10_000, interval: 10 });
  });

  it('warns once per unknown or invalid key, answers false, never throws', async () => {
    const logger = quiet();
    const flags = await open({ logger });
    expect(flags.isEnabled('no.such-flag')).toBe(false);
    expect(flags.isEnabled('no.such-flag')).toBe(false);
    expect(flags.isEnabled('Bad Key!' as string)).toBe(false);
    expect(flags.isEnabled('Bad Key!' as string)).toBe(false);
    expect(flags.isEnabled(undefined as unknown as string)).toBe(false);
    expect(flags.isEnabled('start.on', null as never)).toBe(true);
    const hostile = {
      get targetingKey(): string {
        throw new Error('boom');
      },
    };
    await setFlag(conn.pool, S, 'hostile.split', { enabled: true, rollout: 50 });
    await flags.refresh();
    expect(flags.isEnabled('hostile.split', hostile)).toBe(false);
    const messages = logger.warn.mock.calls.map((c) => String(c[0]));
    expect(messages.filter((m) => m.includes('no.such-flag'))).toHaveLength(1);
    expect(messages.filter((m) => m.includes('Bad Key!'))).toHaveLength(1);
  });

  it('writes an audit row for every change (who, before, after, why), and history reads them back', async () => {
    const flags = await open();
    await flags.set('audit.me', { enabled: true, rollout: 10 }, { actor: 'alice', reason: 'canary' });
    await flags.set('audit.me', { rollout: 50 }, { actor: 'bob', reason: 'wider' });
    await deleteFlag(conn.pool, S, 'audit.me', { actor: 'carol', reason: 'done' });
    const events = await flags.history('audit.me');
    expect(events.map((e) => [e.action, e.actor, e.reason])).toEqual([
      ['delete', 'carol', 'done'],
      ['update', 'bob', 'wider'],
      ['create', 'alice', 'canary'],
    ]);
    expect(events[1]!.before).toMatchObject({ rollout: 10 });
    expect(events[1]!.after).toMatchObject({ rollout: 50 });
    expect(events[0]!.after).toBeNull();
  });

  it('rejects invalid keys and bad rollouts with a UsageError, changing nothing', async () => {
    const flags = await open();
    await expect(flags.set('Bad Key', { enabled: true })).rejects.toBeInstanceOf(UsageError);
    await expect(flags.set('ok.key', { rollout: 101 })).rejects.toBeInstanceOf(UsageError);
    await expect(flags.history('Bad Key')).rejects.toBeInstanceOf(UsageError);
    expect((await conn.pool.query(`SELECT count(*)::int AS n FROM curtain.flags WHERE key = 'ok.key'`)).rows[0].n).toBe(0);
  });

  it('refuses a group change that would overflow the group or move other members', async () => {
    await setFlag(conn.pool, S, 'grp.a', { enabled: true, rollout: 30, group: 'grp' });
    await setFlag(conn.pool, S, 'grp.b', { enabled: true, rollout: 30, group: 'grp' });
    await expect(setFlag(conn.pool, S, 'grp.c', { enabled: true, rollout: 50, group: 'grp' })).rejects.toThrow(/at most 40%/);
    await expect(setFlag(conn.pool, S, 'grp.a', { rollout: 40 })).rejects.toThrow(/would move the subjects of "grp.b"/);
    await expect(setFlag(conn.pool, S, 'grp.a', { group: null })).rejects.toThrow(/would move/);
    await setFlag(conn.pool, S, 'grp.b', { rollout: 70 }); // the newest member may grow
    const flags = await open();
    for (let s = 0; s < 500; s++) expect(flags.isEnabled('grp.a', { targetingKey: `u${s}` }) && flags.isEnabled('grp.b', { targetingKey: `u${s}` })).toBe(false);
  });

  it('reports usage: registers the client and flushes true/false counts', async () => {
    await setFlag(conn.pool, S, 'usage.half', { enabled: true, rollout: 50 });
    const flags = await open({ appName: 'usage-test', telemetry: { flushIntervalMs: 100 } });
    let on = 0;
    for (let i = 0; i < 200; i++) if (flags.isEnabled('usage.half', { targetingKey: `s${i}` })) on++;
    flags.isEnabled('usage.unknown-key');
    await vi.waitFor(
      async () => {
        const [u] = await flagUsage(conn.pool, S, 'usage.half', { windowMs: 60_000 });
        expect(u).toMatchObject({ key: 'usage.half', liveClients: 1, trueCount: on, falseCount: 200 - on });
      },
      { timeout: 10_000, interval: 50 },
    );
    // Unknown keys are counted in memory only: no telemetry rows for keys anyone can make up.
    expect(await flagUsage(conn.pool, S, 'usage.unknown-key')).toEqual([]);
    expect(flags.unknownKeys()).toMatchObject({ evaluations: 1, keys: 1, top: [{ key: 'usage.unknown-key', count: 1 }] });
    const client = (await conn.pool.query(`SELECT * FROM curtain.clients WHERE id = $1`, [flags.clientId])).rows[0];
    expect(client).toMatchObject({ app_name: 'usage-test', pid: process.pid, host: os.hostname() });
  });

  it('keeps answering last known values when its connections are killed, then recovers', async () => {
    await setFlag(conn.pool, S, 'kill.me', { enabled: true });
    const flags = await open({ appName: 'kill-test', pollIntervalMs: 100, reconnect: { minDelayMs: 20, maxDelayMs: 200 } });
    const statuses: string[] = [];
    flags.on('status', (s) => statuses.push(s));
    const kill = () =>
      conn.pool.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'curtain flags: kill-test'`);
    await kill();
    expect(flags.isEnabled('kill.me')).toBe(true);
    await vi.waitFor(() => expect(statuses).toContain('stale'), { timeout: 10_000, interval: 10 });
    expect(flags.isEnabled('kill.me')).toBe(true);
    await setFlag(conn.pool, S, 'kill.me', { enabled: false });
    await vi.waitFor(() => expect(flags.isEnabled('kill.me')).toBe(false), { timeout: 10_000, interval: 10 });
    await vi.waitFor(() => expect(flags.status).toBe('ready'), { timeout: 10_000, interval: 10 });
    // LISTEN is back: a change arrives without polling.
    await kill();
    await vi.waitFor(() => expect(flags.status).toBe('ready'), { timeout: 10_000, interval: 10 });
  });

  it('writes a backup file, and starts from it when the database is unreachable', async () => {
    const backupFile = path.join(dir, 'flags.json');
    await setFlag(conn.pool, S, 'backup.on', { enabled: true });
    const writer = await open({ backupFile });
    await writer.close();
    expect(JSON.parse(readFileSync(backupFile, 'utf8')).flags.map((f: { key: string }) => f.key)).toContain('backup.on');

    const logger = quiet();
    const offline = await open({ connectionString: UNREACHABLE, backupFile, logger, reconnect: { minDelayMs: 1000, maxDelayMs: 5000 } });
    expect(offline.status).toBe('stale');
    expect(offline.isEnabled('backup.on')).toBe(true);
    expect(offline.isEnabled('start.off')).toBe(false);
    expect(logger.warn.mock.calls.some((c) => String(c[0]).includes('serving'))).toBe(true);
  });

  it('starts with everything false (status error) when the database is unreachable and there is no backup', async () => {
    const flags = await open({ connectionString: UNREACHABLE, backupFile: path.join(dir, 'missing.json'), reconnect: { minDelayMs: 1000, maxDelayMs: 5000 } });
    expect(flags.status).toBe('error');
    expect(flags.isEnabled('start.on')).toBe(false);
  });

  it('retires a flag only when its migration is contracted (or it has none)', async () => {
    await setFlag(conn.pool, S, 'retire.me', { enabled: true, migration: '20260101_x' });
    await conn.pool.query(
      `INSERT INTO curtain.migrations (name, checksum, phase, flag, kind, actor) VALUES ('20260101_x', 'c', 'switched', 'retire.me', 'code', 't')`,
    );
    const flags = await open();
    await expect(flags.retire('retire.me')).rejects.toBeInstanceOf(GuardRefusal);
    expect(flags.has('retire.me')).toBe(true);
    await conn.pool.query(`UPDATE curtain.migrations SET phase = 'contracted' WHERE name = '20260101_x'`);
    const result = await flags.retire('retire.me', { reason: 'contracted' });
    expect(result.retired).toBe(true);
    expect(flags.has('retire.me')).toBe(false);
    expect((await flagHistory(conn.pool, S, 'retire.me'))[0]).toMatchObject({ action: 'delete', reason: 'contracted' });
    await setFlag(conn.pool, S, 'app.flag', { enabled: true });
    const dirWithRef = mkdtempSync(path.join(os.tmpdir(), 'curtain-src-'));
    await import('node:fs/promises').then((fs) => fs.mkdir(path.join(dirWithRef, 'src')).then(() => fs.writeFile(path.join(dirWithRef, 'src/a.ts'), `x('app.flag')\n`)));
    await expect(retireFlag(conn.pool, S, 'app.flag', { sources: { root: dirWithRef, globs: ['src/**/*.ts'] } })).rejects.toThrow(/src\/a.ts:1/);
    expect((await retireFlag(conn.pool, S, 'app.flag')).retired).toBe(true);
  });

  it('refuses to retire a group member whose removal would move later members', async () => {
    await setFlag(conn.pool, S, 'rg.a', { enabled: true, rollout: 20, group: 'rg' });
    await setFlag(conn.pool, S, 'rg.b', { enabled: true, rollout: 20, group: 'rg' });
    await expect(retireFlag(conn.pool, S, 'rg.a')).rejects.toThrow(/would move the subjects of "rg.b"/);
    expect((await retireFlag(conn.pool, S, 'rg.b')).retired).toBe(true); // the newest may go
    expect((await retireFlag(conn.pool, S, 'rg.a')).retired).toBe(true);
  });
});
