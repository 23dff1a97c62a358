import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { writeCheckpoint } from '../../../src/store/checkpoints.js';
import { reportBackfillThrottle } from '../../../src/backfill/control.js';
import { loadConfig, type Config } from '../../../src/config.js';
import { createFlags, type FlagsClient } from '../../../src/flags/client.js';
import { listenOn, type OfrepServer } from '../../../src/flags/ofrep.js';
import { flagHistory, getFlag, setFlag } from '../../../src/flags/store.js';
import { createMigrator } from '../../../src/migration/migrator.js';
import { listEvents } from '../../../src/store/migrations.js';
import { endRollout, startRollout } from '../../../src/store/rollouts.js';
import { buildServeApp } from '../../../src/serve/app.js';
import { ensureStore } from '../../../src/store/store.js';
import { migrationSource, tempProject } from '../../support/cli.js';
import { createTestDatabase, type TestDatabase } from '../../support/database.js';

const ADMIN = 'admin-secret-0123456789';
const READ = 'read-secret-0123456789';
const KEYS = [
  { name: 'ops-alice', key: ADMIN, role: 'admin' as const },
  { name: 'viewer', key: READ, role: 'read' as const },
];
const CODE = '20260101000000_code_switch';
const PENDING = '20260101000100_later';

describe('the console API', () => {
  let tdb: TestDatabase;
  let pool: pg.Pool;
  let config: Config;
  let flags: FlagsClient;
  let server: OfrepServer;
  const apps: FastifyInstance[] = [];

  const call = async (method: string, path: string, options: { key?: string; body?: unknown; headers?: Record<string, string>; base?: string } = {}) => {
    const headers: Record<string, string> = { ...(options.key ? { authorization: `Bearer ${options.key}` } : {}), ...options.headers };
    if (options.body !== undefined && !headers['content-type']) headers['content-type'] = 'application/json';
    const res = await fetch(`${options.base ?? server.url}${path}`, {
      method,
      headers,
      body: options.body === undefined ? undefined : typeof options.body === 'string' ? options.body : JSON.stringify(options.body),
    });
    const text = await res.text();
    let json: any;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, json, text, headers: res.headers };
  };
  const app = async (options: Partial<Parameters<typeof buildServeApp>[0]>) => {
    const a = await buildServeApp({ flags, console: { config, pool, pollMs: 100 }, rateLimit: { max: 0, windowMs: 60_000 }, ...options });
    apps.push(a);
    return a;
  };

  beforeAll(async () => {
    tdb = await createTestDatabase('serveapi');
    pool = (await tdb.connect()).pool;
    await ensureStore(pool, 'curtain');
    const project = tempProject();
    project.write(`migrations/${CODE}.ts`, migrationSource(`export default defineMigration({ flag: 'api.code', description: 'a code path' });`));
    project.write(`migrations/${PENDING}.ts`, migrationSource(`export default defineMigration({ flag: 'api.later' });`));
    const migrator = await createMigrator({ pool, cwd: project.dir, actor: 'setup' });
    await migrator.expand(CODE);
    await migrator.close();
    // A backfill in progress (the record only: its progress is written by hand below).
    await pool.query(`INSERT INTO curtain.migrations (name, checksum, phase, flag, kind, actor) VALUES ('20250101000000_running', 'c', 'expanding', 'api.running', 'schema', 'setup')`);
    await setFlag(pool, 'curtain', 'plain.flag', { enabled: false, description: 'not owned by a migration' });
    config = await loadConfig({ cwd: project.dir });
    flags = await createFlags({ connectionString: tdb.url, appName: 'api-test', telemetry: { flushIntervalMs: 50 }, warnUnknown: false });
    server = await listenOn(await app({ keys: KEYS }), { port: 0 });
  });
  afterAll(async () => {
    for (const a of apps) await a.close();
    await flags.close();
    await tdb.drop();
  });

  it('asks for a key: 401 without one or with a wrong one, with a login prompt for browsers', async () => {
    for (const path of ['/', '/api/migrations', '/api/flags', '/api/snapshots', '/api/events']) {
      const none = await call('GET', path);
      expect(none.status).toBe(401);
      expect(none.headers.get('www-authenticate')).toMatch(/^Basic realm="curtain"/);
    }
    const wrong = await call('GET', '/api/migrations', { key: 'admin-secret-0123456780' });
    expect(wrong.status).toBe(401);
    expect(wrong.json).toEqual({ statusCode: 401, error: 'Unauthorized', message: 'the key is not valid', hint: expect.any(String) });
    expect(wrong.text).not.toContain(ADMIN.slice(0, 10));
  });

  it('lets a read key see everything: migrations with timeline, flags with usage and history, snapshots, the page without buttons', async () => {
    const list = await call('GET', '/api/migrations', { key: READ });
    expect(list.status).toBe(200);
    const code = list.json.migrations.find((m: { name: string }) => m.name === CODE);
    expect(code).toMatchObject({ phase: 'expanded', kind: 'code', flag: 'api.code', flagState: 'off', description: 'a code path' });
    expect(list.json.migrations.find((m: { name: string }) => m.name === PENDING)).toMatchObject({ phase: 'pending' });
    const detail = await call('GET', `/api/migrations/${CODE}`, { key: READ });
    expect(detail.json.migration.timeline.map((e: { event: string; actor: string }) => [e.event, e.actor])).toEqual([
      ['expand.start', 'setup'],
      ['expand.done', 'setup'],
    ]);
    expect((await call('GET', '/api/migrations/code_switch', { key: READ })).json.migration.name).toBe(CODE);
    const flagsView = await call('GET', '/api/flags', { key: READ });
    expect(flagsView.json.flags.map((f: { key: string }) => f.key)).toEqual(['api.code', 'plain.flag']);
    expect(flagsView.json.flags[1]).toMatchObject({ state: 'off', usage: [{ window: '5m' }, { window: '1h' }, { window: '24h' }], history: [{ action: 'create' }] });
    expect((await call('GET', '/api/flags/plain.flag/history', { key: READ })).json.events).toHaveLength(1);
    expect((await call('GET', '/api/flags/plain.flag/history?limit=1', { key: READ })).json.events).toHaveLength(1);
    for (const limit of ['0', '1001', '0x10', '1e2', '2.0', ' 5', '']) {
      expect((await call('GET', `/api/flags/plain.flag/history?limit=${encodeURIComponent(limit)}`, { key: READ })).status, `limit=${limit}`).toBe(422);
    }
    const unknown = await call('GET', '/api/flags/no.such.flag/history', { key: READ });
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get('content-type')).toMatch(/^application\/json/);
    expect(unknown.json).toEqual({ statusCode: 404, error: 'Not Found', message: 'flag "no.such.flag" does not exist' });
    expect((await call('GET', '/api/snapshots', { key: READ })).json).toEqual({ snapshots: [] });
    const page = await call('GET', '/', { key: READ });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(page.text).toContain(CODE);
    expect(page.text).toContain('plain.flag');
    expect(page.text).not.toContain('data-action=');
    const adminPage = await call('GET', '/', { key: ADMIN });
    expect(adminPage.text).toContain(`data-action="switch" data-name="${CODE}"`);
    expect(adminPage.text).toContain('data-action="flag" data-key="plain.flag"');
    expect(adminPage.text).not.toContain('data-action="flag" data-key="api.code"'); // a migration's flag is switched, not set
  });

  it('answers 403 when a read key acts, and changes nothing', async () => {
    expect((await call('PUT', '/api/flags/plain.flag', { key: READ, body: { enabled: true } })).status).toBe(403);
    expect((await call('POST', `/api/migrations/${CODE}/switch`, { key: READ, body: { percent: 25 } })).status).toBe(403);
    expect((await call('POST', '/api/migrations/20250101000000_running/backfill/pause', { key: READ, body: {} })).status).toBe(403);
    expect((await getFlag(pool, 'curtain', 'plain.flag'))?.enabled).toBe(false);
    expect((await getFlag(pool, 'curtain', 'api.code'))?.enabled).toBe(false);
  });

  it('switches a migration through the lifecycle as the key, never as a body field', async () => {
    const forged = await call('POST', `/api/migrations/${CODE}/switch`, { key: ADMIN, body: { percent: 25, actor: 'mallory' } });
    expect(forged.status).toBe(422);
    expect((await call('POST', `/api/migrations/${CODE}/switch`, { key: ADMIN, body: { percent: 101 } })).status).toBe(422);
    const ok = await call('POST', `/api/migrations/${CODE}/switch`, { key: ADMIN, body: { percent: 25 } });
    expect(ok.status).toBe(200);
    expect(ok.json.result).toMatchObject({ migration: CODE, to: 'switched' });
    expect(await getFlag(pool, 'curtain', 'api.code')).toMatchObject({ enabled: true, rollout: 25 });
    expect((await flagHistory(pool, 'curtain', 'api.code'))[0]).toMatchObject({ actor: 'ops-alice' });
    expect((await listEvents(pool, 'curtain', CODE)).at(-1)).toMatchObject({ event: 'switch.on', actor: 'ops-alice' });
    const off = await call('POST', `/api/migrations/${CODE}/switch`, { key: ADMIN, body: { off: true } });
    expect(off.json.result).toMatchObject({ to: 'expanded' });
    // The list says who last acted on it (the key's name), beside who recorded it.
    const listed = (await call('GET', '/api/migrations', { key: READ })).json.migrations.find((m: { name: string }) => m.name === CODE);
    expect(listed.lastEvent).toMatchObject({ event: 'switch.off', actor: 'ops-alice', at: expect.any(String) });
    expect(listed.actor).not.toBe('ops-alice');
    expect((await call('POST', `/api/migrations/${PENDING}/switch`, { key: ADMIN, body: { percent: 5 } })).status).toBe(409);
    expect((await call('POST', '/api/migrations/nope/switch', { key: ADMIN, body: { percent: 5 } })).status).toBe(404);
    expect((await call('GET', '/api/migrations/nope', { key: READ })).status).toBe(404);
  });

  it('sets a flag that no migration owns, refusing migration flags, oversized texts, non-JSON and cross-site writes', async () => {
    const ok = await call('PUT', '/api/flags/plain.flag', { key: ADMIN, body: { enabled: true, percent: 40, description: 'new text', reason: 'canary' } });
    expect(ok.status).toBe(200);
    expect(ok.json.flag).toMatchObject({ enabled: true, rollout: 40, description: 'new text' });
    expect((await flagHistory(pool, 'curtain', 'plain.flag'))[0]).toMatchObject({ actor: 'ops-alice', reason: 'canary' });
    expect((await call('PUT', '/api/flags/api.code', { key: ADMIN, body: { enabled: true } })).status).toBe(409);
    expect((await call('PUT', '/api/flags/plain.flag', { key: ADMIN, body: { description: 'd'.repeat(1001) } })).status).toBe(422);
    expect((await call('PUT', '/api/flags/plain.flag', { key: ADMIN, body: { enabled: false, reason: 'r'.repeat(501) } })).status).toBe(422);
    expect((await call('PUT', '/api/flags/Bad%20Key', { key: ADMIN, body: { enabled: true } })).status).toBe(422);
    expect((await call('PUT', '/api/flags/plain.flag', { key: ADMIN, body: 'enabled=false', headers: { 'content-type': 'application/x-www-form-urlencoded' } })).status).toBe(415);
    // The older admin routes too: a JSON text sent as a form is still not JSON.
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    expect((await call('PUT', '/admin/v1/flags/plain.flag', { key: ADMIN, body: '{"enabled":false}', headers: form })).status).toBe(415);
    expect((await call('DELETE', '/admin/v1/flags/plain.flag', { key: ADMIN, body: '{"reason":"x"}', headers: form })).status).toBe(415);
    expect((await call('PUT', '/api/flags/plain.flag', { key: ADMIN, body: { enabled: false }, headers: { origin: 'http://evil.example' } })).status).toBe(403);
    expect((await call('PUT', '/api/flags/plain.flag', { key: ADMIN, body: { enabled: false }, headers: { 'sec-fetch-site': 'cross-site' } })).status).toBe(403);
    expect(await getFlag(pool, 'curtain', 'plain.flag')).toMatchObject({ enabled: true, rollout: 40, description: 'new text' });
    // Whatever a description holds, the page shows it as text.
    await call('PUT', '/api/flags/html.flag', { key: ADMIN, body: { enabled: false, description: '<img src=x onerror=alert(1)>\x1b[31m' } });
    const page = await call('GET', '/', { key: READ });
    expect(page.text).toContain('&lt;img src=x onerror=alert(1)&gt;\\x1b[31m');
    expect(page.text).not.toContain('<img');
    expect(page.text).not.toContain('\x1b');
  });

  it('pauses and resumes a running backfill as the key; 409 for one not expanding, 404 for none', async () => {
    const paused = await call('POST', '/api/migrations/20250101000000_running/backfill/pause', { key: ADMIN, body: {} });
    expect(paused.status).toBe(200);
    expect(paused.json.control).toMatchObject({ paused: true, updatedBy: 'ops-alice' });
    const resumed = await call('POST', '/api/migrations/20250101000000_running/backfill/resume', { key: ADMIN });
    expect(resumed.json.control).toMatchObject({ paused: false, updatedBy: 'ops-alice' });
    expect((await call('POST', `/api/migrations/${CODE}/backfill/pause`, { key: ADMIN, body: {} })).status).toBe(409);
    expect((await call('POST', '/api/migrations/nope/backfill/pause', { key: ADMIN, body: {} })).status).toBe(404);
  });

  it('shows a migration\'s rollout plan: step, next step and when, and why it stopped', async () => {
    await startRollout(pool, 'curtain', {
      migration: CODE,
      flag: 'api.code',
      steps: [1, 10, 100],
      targeting: null,
      everyMs: 600_000,
      check: null,
      verifyBaseline: null,
      errorBaseline: null,
      actor: 'ops-alice',
    });
    const running = (await call('GET', `/api/migrations/${CODE}`, { key: READ })).json.migration;
    expect(running.rolloutPlan).toMatchObject({ status: 'running', step: 1, of: 3, steps: [1, 10, 100] });
    expect(running.rolloutPlan.line).toMatch(/^running, step 1\/3 \(1 ?%\), next 10 ?% in 9m \d+s at /);
    expect((await call('GET', '/', { key: READ })).text).toContain('rollout plan: running, step 1/3');

    await endRollout(pool, 'curtain', CODE, 'stopped', 'new-path error rate 4.1 % > old path 0.2 %');
    const stopped = (await call('GET', '/api/migrations', { key: READ })).json.migrations.find((m: { name: string }) => m.name === CODE);
    expect(stopped.rolloutPlan).toMatchObject({ status: 'stopped', stopReason: 'new-path error rate 4.1 % > old path 0.2 %', nextAt: null });
    const page = (await call('GET', '/', { key: READ })).text;
    expect(page).toContain('rollout plan: stopped at step 1/3');
    expect(page).toContain('new-path error rate 4.1 % &gt; old path 0.2 %');
    // A migration without a plan has none.
    expect((await call('GET', '/api/migrations', { key: READ })).json.migrations.find((m: { name: string }) => m.name === PENDING).rolloutPlan).toBeNull();
  });

  it('answers 413 for bodies over 64 KiB, on the API and on OFREP', async () => {
    const big = { description: 'x'.repeat(70 * 1024) };
    const api = await call('PUT', '/api/flags/plain.flag', { key: ADMIN, body: big });
    expect(api.status).toBe(413);
    const ofrep = await call('POST', '/ofrep/v1/evaluate/flags/plain.flag', { key: READ, body: { context: { targetingKey: 'x'.repeat(70 * 1024) } } });
    expect(ofrep.status).toBe(413);
  });

  it('writes telemetry for known flags only; unknown keys are counted in memory and summarised', async () => {
    for (let i = 0; i < 30; i++) expect((await call('POST', `/ofrep/v1/evaluate/flags/made.up.${i}`, { key: READ, body: {} })).status).toBe(404);
    expect((await call('POST', '/ofrep/v1/evaluate/flags/plain.flag', { key: READ, body: { context: { targetingKey: 'u1' } } })).status).toBe(200);
    await vi.waitFor(async () => {
      const { rows } = await pool.query(`SELECT key FROM curtain.flag_usage WHERE client_id = $1`, [flags.clientId]);
      expect(rows.map((r) => r.key)).toContain('plain.flag');
    }, { timeout: 15_000, interval: 50 });
    const { rows } = await pool.query(`SELECT count(*)::int AS n FROM curtain.flag_usage WHERE key LIKE 'made.up.%'`);
    expect(rows[0].n).toBe(0);
    const view = await call('GET', '/api/flags', { key: READ });
    expect(view.json.unknown).toMatchObject({ evaluations: 30, keys: 30 });
  });

  it('streams state changes and backfill progress as server-sent events', async () => {
    const res = await fetch(`${server.url}/api/events`, { headers: { authorization: `Bearer ${READ}` } });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = res.body!.getReader();
    let text = '';
    const events = () =>
      text
        .split('\n\n')
        .filter((b) => b.startsWith('event: '))
        .map((b) => ({ event: b.split('\n')[0]!.slice(7), data: JSON.parse(b.split('\n')[1]!.slice(6)) }));
    const pump = (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        text += new TextDecoder().decode(value);
      }
    })();
    try {
      await vi.waitFor(() => expect(events().some((e) => e.event === 'state')).toBe(true), { timeout: 10_000 });
      const progressOf = () => events().filter((e) => e.event === 'progress').flatMap((e) => e.data).filter((p: { migration: string }) => p.migration === '20250101000000_running');
      await writeCheckpoint(pool, 'curtain', '20250101000000_running', 'public.t', { lastKey: ['10'], rowsDone: 10, rowsTotal: 100, done: false });
      await vi.waitFor(() => expect(progressOf().map((p: { rowsDone: number }) => p.rowsDone)).toContain(10), { timeout: 10_000 });
      await writeCheckpoint(pool, 'curtain', '20250101000000_running', 'public.t', { lastKey: ['50'], rowsDone: 50, rowsTotal: 100, done: false });
      await vi.waitFor(() => expect(progressOf().at(-1)).toMatchObject({ rowsDone: 50, rowsTotal: 100, text: expect.stringMatching(/^50 \/ 100 rows \(50%\)/) }), { timeout: 10_000 });
      // Two checkpoints seen: a rate, and from it the time left, in the data and in the line.
      const measured = progressOf().at(-1);
      expect(measured.rowsPerSecond).toBeGreaterThan(0);
      expect(measured.etaSeconds).toBeCloseTo((100 - 50) / measured.rowsPerSecond, 6);
      expect(measured.text).toMatch(/ · ETA \S+$/);
      const listed = await call('GET', '/api/migrations', { key: READ });
      expect(listed.json.migrations.find((m: { name: string }) => m.name === '20250101000000_running').backfill).toMatchObject({
        rowsDone: 50,
        etaSeconds: expect.any(Number),
      });
      // What the backfill reports about waiting shows up in its line.
      await reportBackfillThrottle(pool, 'curtain', '20250101000000_running', 'replica r1 lag 7.2 s > 5 s');
      await writeCheckpoint(pool, 'curtain', '20250101000000_running', 'public.t', { lastKey: ['60'], rowsDone: 60, rowsTotal: 100, done: false });
      await vi.waitFor(() => expect(progressOf().at(-1).text).toContain('throttled: replica r1 lag 7.2 s > 5 s'), { timeout: 10_000 });
      const before = events().filter((e) => e.event === 'state').length;
      await setFlag(pool, 'curtain', 'plain.flag', { enabled: false }, { actor: 'elsewhere' });
      await vi.waitFor(() => expect(events().filter((e) => e.event === 'state').length).toBeGreaterThan(before), { timeout: 10_000 });
    } finally {
      await reader.cancel();
      await pump.catch(() => {});
    }
  });

  it('without keys: loopback clients read, cannot act unless --insecure-admin; other machines are refused', async () => {
    const open = await app({});
    const remote = await open.inject({ method: 'GET', url: '/api/flags', remoteAddress: '192.0.2.10' });
    expect(remote.statusCode).toBe(403);
    expect(remote.json().message).toMatch(/no keys configured/);
    expect((await open.inject({ method: 'GET', url: '/api/flags', remoteAddress: '127.0.0.1' })).statusCode).toBe(200);
    const put = { method: 'PUT' as const, url: '/api/flags/plain.flag', payload: { enabled: true }, remoteAddress: '127.0.0.1' };
    expect((await open.inject(put)).statusCode).toBe(403);
    const insecure = await app({ insecureAdmin: true });
    expect((await insecure.inject(put)).statusCode).toBe(200);
    expect((await flagHistory(pool, 'curtain', 'plain.flag'))[0]).toMatchObject({ actor: 'insecure-admin' });
    expect((await insecure.inject({ ...put, remoteAddress: '192.0.2.10' })).statusCode).toBe(403);
    // DNS rebinding: a page of another site, its name now resolving to 127.0.0.1, reaches the server from loopback.
    const rebound = { host: 'evil.example:8016', origin: 'http://evil.example:8016', 'sec-fetch-site': 'same-origin' };
    const read = await open.inject({ method: 'GET', url: '/api/flags', remoteAddress: '127.0.0.1', headers: rebound });
    expect(read.statusCode).toBe(403);
    expect(read.json().message).toMatch(/localhost, 127\.0\.0\.1 or \[::1\] only/);
    expect((await insecure.inject({ ...put, headers: rebound })).statusCode).toBe(403);
    expect((await insecure.inject({ method: 'GET', url: '/', remoteAddress: '127.0.0.1', headers: rebound })).statusCode).toBe(403);
    expect((await insecure.inject({ ...put, headers: { host: '127.0.0.1:8016' } })).statusCode).toBe(200);
    expect((await insecure.inject({ ...put, headers: { host: '[::1]:8016' } })).statusCode).toBe(200);
  });

  it('refuses NUL characters in texts (422, not a failed INSERT) and counts characters as code points', async () => {
    const nul = await call('PUT', '/api/flags/plain.flag', { key: ADMIN, body: { description: 'a\u0000b' } });
    expect(nul.status).toBe(422);
    expect(nul.json.message).toMatch(/NUL/);
    expect((await call('PUT', '/api/flags/plain.flag', { key: ADMIN, body: { enabled: true, reason: 'a\u0000b' } })).status).toBe(422);
    // 600 emoji are 600 characters (1200 UTF-16 units): within the limit of 1000, everywhere.
    const emoji = await call('PUT', '/api/flags/plain.flag', { key: ADMIN, body: { description: '\u{1F600}'.repeat(600) } });
    expect(emoji.status).toBe(200);
    expect((await call('PUT', '/api/flags/plain.flag', { key: ADMIN, body: { description: '\u{1F600}'.repeat(1001) } })).status).toBe(422);
    await expect(setFlag(pool, 'curtain', 'plain.flag', { description: 'x\u0000' })).rejects.toThrow(/NUL/);
  });

  it('refuses a short name several migrations share (409, as the CLI), and says which migration file does not load', async () => {
    const project = tempProject();
    project.write('migrations/20260301000000_twin.ts', migrationSource(`export default defineMigration({ flag: 'api.twin-a' });`));
    project.write('migrations/20260302000000_twin.ts', migrationSource(`export default defineMigration({ flag: 'api.twin-b' });`));
    const twins = await app({ keys: KEYS, console: { config: await loadConfig({ cwd: project.dir }), pool, pollMs: 100 } });
    const get = (url: string) => twins.inject({ method: 'GET', url, headers: { authorization: `Bearer ${ADMIN}` } });
    const ambiguous = await get('/api/migrations/twin');
    expect(ambiguous.statusCode).toBe(409);
    expect(ambiguous.json().message).toBe('"twin" matches several migrations: 20260301000000_twin, 20260302000000_twin');
    const sw = await twins.inject({ method: 'POST', url: '/api/migrations/twin/switch', payload: { percent: 5 }, headers: { authorization: `Bearer ${ADMIN}` } });
    expect(sw.statusCode).toBe(409);
    expect((await get('/api/migrations/20260302000000_twin')).json().migration).toMatchObject({ name: '20260302000000_twin' });
    project.write('migrations/not a migration.ts', migrationSource(`export default defineMigration({});`));
    const broken = await get('/api/migrations');
    expect(broken.statusCode).toBe(500);
    expect(broken.json().message).toMatch(/not a migration\.ts: is not named <timestamp>_<name>\.ts/);
  });

  it('answers HEAD /api/events with the headers, without opening a stream', async () => {
    // Before the fix no response came at all: the timeout fails the test fast.
    const res = await fetch(`${server.url}/api/events`, { method: 'HEAD', headers: { authorization: `Bearer ${READ}` }, signal: AbortSignal.timeout(5000) });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
  });

  it('limits requests per key, each key on its own', async () => {
    const limited = await app({ keys: KEYS, rateLimit: { max: 3, windowMs: 60_000 } });
    const get = (key: string) => limited.inject({ method: 'GET', url: '/api/snapshots', headers: { authorization: `Bearer ${key}` } });
    for (let i = 0; i < 3; i++) expect((await get(READ)).statusCode).toBe(200);
    const over = await get(READ);
    expect(over.statusCode).toBe(429);
    expect(over.json()).toMatchObject({ statusCode: 429, error: 'Too Many Requests' });
    expect((await get(ADMIN)).statusCode).toBe(200);
  });
});
