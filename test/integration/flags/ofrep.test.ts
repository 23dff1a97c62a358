import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Database } from '../../../src/db/connect.js';
import { createFlags, type FlagsClient } from '../../../src/flags/client.js';
import { bucket } from '../../../src/flags/hash.js';
import { startOfrepServer, type OfrepServer } from '../../../src/flags/ofrep.js';
import { setFlag } from '../../../src/flags/store.js';
import { ensureStore } from '../../../src/store/store.js';
import { createTestDatabase, type TestDatabase } from '../../support/database.js';

describe('OFREP over HTTP', () => {
  let tdb: TestDatabase;
  let conn: Database;
  let flags: FlagsClient;
  let server: OfrepServer;
  let open: OfrepServer;

  const post = (base: string, path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  const auth = { authorization: 'Bearer read-key' };

  beforeAll(async () => {
    tdb = await createTestDatabase('ofrep');
    conn = await tdb.connect();
    await ensureStore(conn.pool, 'curtain');
    await setFlag(conn.pool, 'curtain', 'api.on', { enabled: true });
    await setFlag(conn.pool, 'curtain', 'api.split', { enabled: true, rollout: 40 });
    flags = await createFlags({ connectionString: tdb.url, telemetry: false, pollIntervalMs: 60_000, logger: { warn: () => {} } });
    server = await startOfrepServer({ flags, apiKey: 'read-key', adminKey: 'admin-key' }, { port: 0 });
    open = await startOfrepServer({ flags }, { port: 0 });
  });
  afterAll(async () => {
    await server.close();
    await open.close();
    await flags.close();
    await tdb.drop();
  });

  it('evaluates one flag', async () => {
    const res = await post(server.url, '/ofrep/v1/evaluate/flags/api.on', { context: { targetingKey: 'u1' } }, auth);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ key: 'api.on', value: true, reason: 'STATIC', variant: 'on' });
    const split = await (await post(server.url, '/ofrep/v1/evaluate/flags/api.split', { context: { targetingKey: 'u1' } }, { 'x-api-key': 'read-key' })).json();
    expect(split).toMatchObject({ key: 'api.split', value: bucket('u1', 'api.split') <= 40, reason: 'SPLIT' });
  });

  it('accepts a request without a body or content type', async () => {
    const res = await fetch(`${server.url}/ofrep/v1/evaluate/flags/api.on`, { method: 'POST', headers: auth });
    expect(res.status).toBe(200);
  });

  it('answers 401 without or with a wrong key', async () => {
    expect((await post(server.url, '/ofrep/v1/evaluate/flags/api.on', {})).status).toBe(401);
    expect((await post(server.url, '/ofrep/v1/evaluate/flags/api.on', {}, { authorization: 'Bearer nope' })).status).toBe(401);
    expect((await post(server.url, '/ofrep/v1/evaluate/flags', {}, { 'x-api-key': 'nope' })).status).toBe(401);
    expect((await post(open.url, '/ofrep/v1/evaluate/flags/api.on', {})).status).toBe(200); // no apiKey configured: open
  });

  it('answers 404 FLAG_NOT_FOUND for unknown flags', async () => {
    const res = await post(server.url, '/ofrep/v1/evaluate/flags/api.nope', {}, auth);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ key: 'api.nope', errorCode: 'FLAG_NOT_FOUND', errorDetails: expect.any(String) });
  });

  it('answers 400 for malformed bodies, bad contexts and invalid keys', async () => {
    const bad = await post(server.url, '/ofrep/v1/evaluate/flags/api.on', '{not json', auth);
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ key: 'api.on', errorCode: 'PARSE_ERROR' });
    const ctx = await post(server.url, '/ofrep/v1/evaluate/flags/api.on', { context: { targetingKey: 42 } }, auth);
    expect(ctx.status).toBe(400);
    expect(await ctx.json()).toMatchObject({ key: 'api.on', errorCode: 'INVALID_CONTEXT' });
    const arr = await post(server.url, '/ofrep/v1/evaluate/flags', { context: [] }, auth);
    expect(arr.status).toBe(400);
    expect(await arr.json()).toMatchObject({ errorCode: 'INVALID_CONTEXT' });
    const key = await post(server.url, '/ofrep/v1/evaluate/flags/Bad%20Key', {}, auth);
    expect(key.status).toBe(400);
    expect(await key.json()).toMatchObject({ key: 'Bad Key', errorCode: 'PARSE_ERROR' });
  });

  it('evaluates in bulk with an ETag, answering 304 while nothing changed', async () => {
    const body = { context: { targetingKey: 'u7' } };
    const first = await post(server.url, '/ofrep/v1/evaluate/flags', body, auth);
    expect(first.status).toBe(200);
    const etag = first.headers.get('etag')!;
    expect(etag).toBeTruthy();
    const json = (await first.json()) as { flags: { key: string; value: boolean }[] };
    expect(json.flags.map((f) => f.key)).toEqual(['api.on', 'api.split']);

    const again = await post(server.url, '/ofrep/v1/evaluate/flags', body, { ...auth, 'if-none-match': etag });
    expect(again.status).toBe(304);
    const otherSubject = await post(server.url, '/ofrep/v1/evaluate/flags', { context: { targetingKey: 'u8' } }, { ...auth, 'if-none-match': etag });
    expect(otherSubject.status).toBe(200);

    await setFlag(conn.pool, 'curtain', 'api.on', { enabled: false });
    await vi.waitFor(() => expect(flags.isEnabled('api.on')).toBe(false), { timeout: 10_000, interval: 10 });
    const changed = await post(server.url, '/ofrep/v1/evaluate/flags', body, { ...auth, 'if-none-match': etag });
    expect(changed.status).toBe(200);
    expect(changed.headers.get('etag')).not.toBe(etag);
  });

  it('has admin endpoints only with the admin key', async () => {
    const put = (base: string, headers: Record<string, string>) =>
      fetch(`${base}/admin/v1/flags/api.new`, { method: 'PUT', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ enabled: true, reason: 'http' }) });
    expect((await put(server.url, auth)).status).toBe(403); // the read key cannot write
    expect((await put(open.url, {})).status).toBe(403); // no keys configured: read-only
    const ok = await put(server.url, { authorization: 'Bearer admin-key' });
    expect(ok.status).toBe(200);
    expect(flags.isEnabled('api.new')).toBe(true);
    const bad = await fetch(`${server.url}/admin/v1/flags/api.new`, { method: 'PUT', headers: { 'x-api-key': 'admin-key', 'content-type': 'application/json' }, body: '{"rollout": 500}' });
    expect(bad.status).toBe(422);
    const history = await fetch(`${server.url}/admin/v1/flags/api.new/history`, { headers: { 'x-api-key': 'admin-key' } });
    // The actor is the key's name, whatever the body says.
    expect(((await history.json()) as { events: { reason: string; actor: string }[] }).events[0]).toMatchObject({ reason: 'http', actor: 'admin-key' });
    const forged = await fetch(`${server.url}/admin/v1/flags/api.new`, { method: 'PUT', headers: { 'x-api-key': 'admin-key', 'content-type': 'application/json' }, body: '{"enabled": false, "actor": "someone-else"}' });
    expect(forged.status).toBe(422);
  });

  it('retires through DELETE with the admin key: 409 while its migration runs, 404 when unknown', async () => {
    const del = (key: string) => fetch(`${server.url}/admin/v1/flags/${key}`, { method: 'DELETE', headers: { 'x-api-key': 'admin-key' } });
    await setFlag(conn.pool, 'curtain', 'api.tmp', { enabled: true, migration: 'm1' });
    await conn.pool.query(`INSERT INTO curtain.migrations (name, checksum, phase, flag, kind, actor) VALUES ('m1', 'c', 'expanded', 'api.tmp', 'code', 't')`);
    expect((await del('api.tmp')).status).toBe(409);
    await conn.pool.query(`UPDATE curtain.migrations SET phase = 'aborted' WHERE name = 'm1'`);
    const ok = await del('api.tmp');
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ key: 'api.tmp', retired: true });
    expect((await del('api.tmp')).status).toBe(404);
    expect((await fetch(`${server.url}/admin/v1/flags/api.on`, { method: 'DELETE', headers: auth })).status).toBe(403);
  });
});
