import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/connect.js';
import { createFlags } from '../../src/flags/client.js';
import { ensureStore } from '../../src/store/store.js';
import { BIN, migrate, tempProject } from '../support/cli.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

describe('migrate flags / codegen / serve', () => {
  let tdb: TestDatabase;
  let conn: Database;
  const project = tempProject();
  const run = (...args: string[]) => migrate(args, { cwd: project.dir, databaseUrl: tdb.url, env: { CURTAIN_ACTOR: 'e2e' } });
  const count = async (sql: string) => (await conn.pool.query(sql)).rows[0].n as number;

  beforeAll(async () => {
    tdb = await createTestDatabase('flagscli');
    conn = await tdb.connect();
    await ensureStore(conn.pool, 'curtain'); // so each test also runs alone (-t)
  });
  afterAll(() => tdb.drop());

  it('set creates and changes flags, with --json and audit rows', async () => {
    const created = await run('flags', 'set', 'checkout.v2', 'on', '--percent', '25', '--description', 'new checkout', '--reason', 'canary', '--json');
    expect(created.code, created.stderr).toBe(0);
    expect(created.json()).toMatchObject({ created: true, flag: { key: 'checkout.v2', enabled: true, rollout: 25, description: 'new checkout' } });
    const changed = await run('flags', 'set', 'checkout.v2', '--percent', '50');
    expect(changed.code, changed.stderr).toBe(0);
    expect(changed.stdout).toContain('changed checkout.v2: on 50%');
    expect(await count(`SELECT count(*)::int AS n FROM curtain.flag_events WHERE key = 'checkout.v2'`)).toBe(2);
  });

  it('rejects invalid keys and arguments with exit 2, changing nothing', async () => {
    const cases = [
      ['flags', 'set', 'Bad Key', 'on'],
      ['flags', 'set', 'ok.key', 'maybe'],
      ['flags', 'set', 'ok.key', 'on', '--percent', '150'],
      ['flags', 'set', 'ok.key'],
      ['flags', 'get', 'UPPER'],
      ['flags', 'retire', '_x'],
      ['flags', 'history', 'a b'],
    ];
    const results = await Promise.all(cases.map((args) => run(...args)));
    results.forEach((r, i) => {
      expect(r.code, `${cases[i]!.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(/^error: /m);
    });
    expect(await count(`SELECT count(*)::int AS n FROM curtain.flags WHERE key <> 'checkout.v2'`)).toBe(0);
  });

  it('get shows one flag; an unknown one is exit 1', async () => {
    const r = await run('flags', 'get', 'checkout.v2', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(r.json().flag).toMatchObject({ key: 'checkout.v2', rollout: 50, group: null, retired: false, version: expect.any(Number) });
    const human = await run('flags', 'get', 'checkout.v2');
    expect(human.stdout).toMatch(/state:\s+on 50%/);
    expect((await run('flags', 'get', 'no.such')).code).toBe(1);
  });

  it('list shows flags with live usage in the window', async () => {
    const flags = await createFlags({ connectionString: tdb.url, appName: 'e2e-app', telemetry: { flushIntervalMs: 60_000 }, logger: { warn: () => {} } });
    for (let i = 0; i < 10; i++) flags.isEnabled('checkout.v2', { targetingKey: `u${i}` });
    await flags.close(); // flushes
    const r = await run('flags', 'list', '--window', '15m', '--json');
    expect(r.code, r.stderr).toBe(0);
    const out = r.json();
    expect(out.windowMs).toBe(900_000);
    const [flag] = out.flags;
    expect(flag).toMatchObject({ key: 'checkout.v2', usage: { liveClients: 1 } });
    expect(flag.usage.trueCount + flag.usage.falseCount).toBe(10);
    const human = await run('flags', 'list');
    expect(human.stdout).toMatch(/KEY\s+STATE/);
    expect(human.stdout).toMatch(/checkout\.v2\s+on 50%/);
  });

  it('history lists the audit trail, newest first', async () => {
    const r = await run('flags', 'history', 'checkout.v2', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(r.json().events.map((e: any) => [e.action, e.actor, e.reason])).toEqual([
      ['update', 'e2e', null],
      ['create', 'e2e', 'canary'],
    ]);
    expect((await run('flags', 'history', 'checkout.v2')).stdout).toContain('rollout: 25 → 50');
  });

  it('retire refuses (exit 3) while source mentions the key or its migration is not contracted, then deletes it', async () => {
    project.write('src/checkout.ts', `export const v2 = (flags: any) => flags.isEnabled('checkout.v2');\n`);
    const refused = await run('flags', 'retire', 'checkout.v2', '--json');
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain('src/checkout.ts:1');
    expect(refused.json()).toMatchObject({ retired: false, guard: 'flag-references', references: [{ file: 'src/checkout.ts', line: 1 }] });

    project.write('src/checkout.ts', `export const v2 = () => true;\n`);
    await conn.pool.query(`UPDATE curtain.flags SET migration = '20260101_checkout' WHERE key = 'checkout.v2'`);
    await conn.pool.query(
      `INSERT INTO curtain.migrations (name, checksum, phase, flag, kind, actor) VALUES ('20260101_checkout', 'c', 'switched', 'checkout.v2', 'code', 't')`,
    );
    const pending = await run('flags', 'retire', 'checkout.v2');
    expect(pending.code).toBe(3);
    expect(pending.stderr).toContain('20260101_checkout');

    await conn.pool.query(`UPDATE curtain.migrations SET phase = 'contracted' WHERE name = '20260101_checkout'`);
    const ok = await run('flags', 'retire', 'checkout.v2', '--reason', 'contracted', '--json');
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.json()).toMatchObject({ key: 'checkout.v2', retired: true });
    expect(await count(`SELECT count(*)::int AS n FROM curtain.flags`)).toBe(0);
    expect(await count(`SELECT count(*)::int AS n FROM curtain.flag_tombstones WHERE key = 'checkout.v2'`)).toBe(1);
    expect((await run('flags', 'retire', 'checkout.v2')).code).toBe(1);
  });

  it('codegen writes the key union', async () => {
    await run('flags', 'set', 'users.split-name', 'off');
    const r = await run('codegen', '--out', 'types/flags.d.ts', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(r.json()).toMatchObject({ keys: ['users.split-name'] });
    expect(readFileSync(path.join(project.dir, 'types/flags.d.ts'), 'utf8')).toContain('"users.split-name": true;');
  });

  it('serve answers OFREP until SIGTERM, then exits 0', async () => {
    const child = spawn(process.execPath, [BIN, '--database-url', tdb.url, 'serve', '--port', '0', '--json'], {
      cwd: project.dir,
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    while (!stdout.trim().endsWith('}')) {
      if (child.exitCode !== null) throw new Error('serve exited early');
      await new Promise((r) => setTimeout(r, 50));
    }
    const { url } = JSON.parse(stdout) as { url: string };
    const res = await fetch(`${url}/ofrep/v1/evaluate/flags/users.split-name`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
    expect(await res.json()).toMatchObject({ key: 'users.split-name', value: false, reason: 'DISABLED' });
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
