import { spawn } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/connect.js';
import { ensureStore } from '../../src/store/store.js';
import { BIN, migrate, migrationSource, tempProject } from '../support/cli.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

const ADMIN = 'e2e-admin-secret-7f3a9c1d';
const READ = 'e2e-read-secret-5b2e8d4a';
const WRONG = 'e2e-wrong-secret-0000aaaa';
const HOSTILE = 'text \x1b]0;pwned\x07\x1b[2J\u202eevil';

/** A non-loopback address of this machine, if it has one. */
function externalAddress(): string | undefined {
  return Object.values(os.networkInterfaces())
    .flat()
    .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
}

describe('console-related CLI: init, escaping, backfill control, serve keys', { timeout: 180_000 }, () => {
  let tdb: TestDatabase;
  let conn: Database;
  const project = tempProject();
  const run = (args: string[], env: Record<string, string> = {}) => migrate(args, { cwd: project.dir, databaseUrl: tdb.url, env: { CURTAIN_ACTOR: 'e2e', ...env } });

  beforeAll(async () => {
    tdb = await createTestDatabase('consolecli');
    conn = await tdb.connect();
    await ensureStore(conn.pool, 'curtain');
    await conn.pool.query(`INSERT INTO curtain.migrations (name, checksum, phase, flag, kind, actor) VALUES
      ('20250101000000_running', 'c', 'expanding', 'x.running', 'schema', 'setup'),
      ('20250101000100_finished', 'c', 'expanded', 'x.finished', 'schema', 'setup')`);
  });
  afterAll(() => tdb.drop());

  it('init creates a private, git-ignored .curtain/ and adds it to the project .gitignore once', async () => {
    writeFileSync(path.join(project.dir, '.gitignore'), 'node_modules');
    const first = await run(['init']);
    expect(first.code, first.stderr).toBe(0);
    expect(statSync(path.join(project.dir, '.curtain')).mode & 0o777).toBe(0o700);
    expect(readFileSync(path.join(project.dir, '.curtain', '.gitignore'), 'utf8')).toMatch(/^\*$/m);
    expect(readFileSync(path.join(project.dir, '.gitignore'), 'utf8')).toBe('node_modules\n.curtain/\n');
    expect((await run(['init'])).code).toBe(0);
    expect(readFileSync(path.join(project.dir, '.gitignore'), 'utf8')).toBe('node_modules\n.curtain/\n');
  });

  it('prints control characters from data as visible escapes in flags get, list, history and status', async () => {
    expect((await run(['flags', 'set', 'esc.flag', 'on', '--description', HOSTILE, '--reason', HOSTILE], { CURTAIN_ACTOR: `ops${HOSTILE}` })).code).toBe(0);
    project.write('migrations/20260101000000_code.ts', migrationSource(`export default defineMigration({ flag: 'esc.code', description: ${JSON.stringify(HOSTILE)} });`));
    expect((await run(['expand', '20260101000000_code'], { CURTAIN_ACTOR: `ops${HOSTILE}` })).code).toBe(0);
    const outputs = await Promise.all([
      run(['flags', 'get', 'esc.flag']),
      run(['flags', 'list']),
      run(['flags', 'history', 'esc.flag']),
      run(['status']),
      run(['status', '20260101000000_code']),
    ]);
    for (const r of outputs) {
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout + r.stderr).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202e]/);
    }
    expect(outputs[0]!.stdout).toContain('text \\x1b]0;pwned\\x07\\x1b[2J\\u202eevil');
    expect(outputs[2]!.stdout).toContain('ops text \\x1b]0;pwned'.replace(' ', ''));
    expect(outputs[4]!.stdout).toContain('\\x1b]0;pwned');
  });

  it('refuses descriptions and reasons over their limits', async () => {
    const long = await run(['flags', 'set', 'esc.flag', '--description', 'd'.repeat(1001)]);
    expect(long.code).toBe(2);
    expect(long.stderr).toContain('the description is 1001 characters long; at most 1000 are accepted');
    expect((await run(['flags', 'set', 'esc.flag', 'off', '--reason', 'r'.repeat(501)])).code).toBe(2);
  });

  it('backfill pause|resume|set steer an expanding migration as the actor; others are refused', async () => {
    const paused = await run(['backfill', 'pause', '20250101000000_running', '--json']);
    expect(paused.code, paused.stderr).toBe(0);
    expect(paused.json().control).toMatchObject({ migration: '20250101000000_running', paused: true, updatedBy: 'e2e' });
    const set = await run(['backfill', 'set', '20250101000000_running', '--batch-size', '500', '--batch-delay', '50ms', '--max-replica-lag', '5s', '--json']);
    expect(set.code, set.stderr).toBe(0);
    expect(set.json().control).toMatchObject({ paused: true, batchSize: 500, batchDelayMs: 50, maxReplicaLagMs: 5000 });
    const resumed = await run(['backfill', 'resume', '20250101000000_running']);
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toContain('resumed backfill of 20250101000000_running: running, batch size 500');
    const { rows } = await conn.pool.query(`SELECT event, actor FROM curtain.migration_events WHERE migration = '20250101000000_running' ORDER BY id`);
    expect(rows).toEqual([
      { event: 'backfill.pause', actor: 'e2e' },
      { event: 'backfill.set', actor: 'e2e' },
      { event: 'backfill.resume', actor: 'e2e' },
    ]);

    const finished = await run(['backfill', 'pause', '20250101000100_finished']);
    expect(finished.code).toBe(2);
    expect(finished.stderr).toContain('is expanded: only an expanding migration has a backfill to steer');
    const unknown = await run(['backfill', 'pause', 'no_such_migration']);
    expect(unknown.code).toBe(2); // as for every command given an unknown name
    expect(unknown.stderr).toContain('no migration named "no_such_migration"');
    expect((await run(['backfill', 'set', '20250101000000_running'])).code).toBe(2);
    expect((await run(['backfill', 'set', '20250101000000_running', '--batch-size', '0'])).code).toBe(2);
    expect((await conn.pool.query(`SELECT count(*)::int AS n FROM curtain.backfill_control`)).rows[0].n).toBe(1);
  });

  it('serve refuses to listen beyond this machine without keys, and validates keys without printing them', async () => {
    const open = await run(['serve', '--host', '0.0.0.0', '--port', '0']);
    expect(open.code).toBe(2);
    expect(open.stderr).toContain('refusing to serve on 0.0.0.0 without keys');
    const bad = tempProject();
    writeFileSync(path.join(bad.dir, 'curtain.config.json'), JSON.stringify({ serve: { keys: [{ name: 'ops', key: 'short-7f3a', role: 'admin' }] } }));
    const short = await migrate(['serve', '--port', '0'], { cwd: bad.dir, databaseUrl: tdb.url });
    expect(short.code).toBe(2);
    expect(short.stderr).toContain('serve.keys.0.key: a key must be at least 16 characters');
    expect(short.stderr).not.toContain('short-7f3a');
    writeFileSync(path.join(bad.dir, 'curtain.config.json'), JSON.stringify({ serve: { keys: [{ name: 'ops', key: 'two words-7f3a9c1e2b', role: 'admin' }] } }));
    const spaced = await migrate(['serve', '--port', '0'], { cwd: bad.dir, databaseUrl: tdb.url });
    expect(spaced.code).toBe(2);
    expect(spaced.stderr).toContain('serve.keys.0.key: a key is printable ASCII without spaces');
    expect(spaced.stderr).not.toContain('7f3a9c1e2b');
  });

  it('serve with keys: never logs a key, refuses clients without one (also from another address)', async () => {
    const keyed = tempProject();
    writeFileSync(
      path.join(keyed.dir, 'curtain.config.json'),
      JSON.stringify({ serve: { keys: [{ name: 'ops-alice', key: ADMIN, role: 'admin' }, { name: 'viewer', key: READ, role: 'read' }] } }),
    );
    const child = spawn(process.execPath, [BIN, '--database-url', tdb.url, 'serve', '--host', '0.0.0.0', '--port', '0', '--json'], {
      cwd: keyed.dir,
      env: { ...process.env, NO_COLOR: '1', DATABASE_URL: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      while (!stdout.trim().endsWith('}')) {
        if (child.exitCode !== null) throw new Error(`serve exited early: ${stderr}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const { port, keys } = JSON.parse(stdout) as { port: number; keys: unknown };
      expect(keys).toEqual([{ name: 'ops-alice', role: 'admin' }, { name: 'viewer', role: 'read' }]);
      const base = `http://127.0.0.1:${port}`;
      expect((await fetch(`${base}/api/flags`)).status).toBe(401);
      expect((await fetch(`${base}/api/flags`, { headers: { authorization: `Bearer ${WRONG}` } })).status).toBe(401);
      expect((await fetch(`${base}/api/flags`, { headers: { 'x-api-key': READ } })).status).toBe(200);
      const put = await fetch(`${base}/api/flags/serve.flag`, { method: 'PUT', headers: { 'x-api-key': READ, 'content-type': 'application/json' }, body: '{"enabled":true}' });
      expect(put.status).toBe(403);
      expect((await fetch(`${base}/api/flags/serve.flag`, { method: 'PUT', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: '{"enabled":true}' })).status).toBe(200);
      const external = externalAddress();
      if (external) {
        expect((await fetch(`http://${external}:${port}/api/flags`)).status).toBe(401);
        expect((await fetch(`http://${external}:${port}/`)).status).toBe(401);
      }
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    const history = await run(['flags', 'history', 'serve.flag', '--json']);
    expect(history.json().events[0]).toMatchObject({ actor: 'ops-alice' });
    for (const secret of [ADMIN, READ, WRONG]) expect(stdout + stderr).not.toContain(secret);
  });
});
