/**
 * What `migrate serve` says about access when it starts, checked against
 * what it then does: the line is how an operator learns whether the console
 * is open. (It once said reads were open with only an admin key configured.)
 * Also the configuration keys it replaced (`serve.apiKey`, `serve.adminKey`).
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, migrate, tempProject } from '../support/cli.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

const ADMIN = 'startup-admin-secret-3e9b71';
const READ = 'startup-read-secret-8c04d2';

describe('migrate serve at start', { timeout: 120_000 }, () => {
  let tdb: TestDatabase;
  beforeAll(async () => {
    tdb = await createTestDatabase('servestart');
  });
  afterAll(() => tdb.drop());

  /** A project with this `serve` configuration (none: no config file). */
  const projectWith = (serve?: unknown): string => {
    const project = tempProject();
    if (serve !== undefined) writeFileSync(path.join(project.dir, 'curtain.config.json'), JSON.stringify({ serve }));
    return project.dir;
  };

  /**
   * Start `migrate serve` in `cwd`, wait for its "console on" line (stderr),
   * let `check` talk to it, then stop it; returns that line and everything printed.
   */
  const serveOnce = async (cwd: string, check: (base: string) => Promise<void>): Promise<{ line: string; output: string }> => {
    const child = spawn(process.execPath, [BIN, '--database-url', tdb.url, 'serve', '--port', '0'], {
      cwd,
      env: { ...process.env, NO_COLOR: '1', DATABASE_URL: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const line = await new Promise<string>((resolve, reject) => {
      const look = (d: Buffer) => {
        output += d;
        const found = output.split('\n').find((l) => l.startsWith('console on '));
        if (found) resolve(found);
      };
      child.stdout.on('data', look);
      child.stderr.on('data', look);
      child.once('exit', (code) => reject(new Error(`serve exited (${code}) before saying where it listens: ${output}`)));
    });
    try {
      await check(line.match(/^console on (http:\/\/[^/ ]+)\//)![1]!);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    return { line, output };
  };

  const status = async (url: string, init: RequestInit = {}) => (await fetch(url, init)).status;

  it('without keys: this machine only, read-only', async () => {
    const { line } = await serveOnce(projectWith(), async (base) => {
      expect(await status(`${base}/api/flags`)).toBe(200);
      expect(await status(`${base}/api/flags/x.y`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{"enabled":true}' })).toBe(403);
    });
    expect(line).toMatch(/^console on http:\/\/127\.0\.0\.1:\d+\/ \(no keys: clients on this machine only, read-only\)$/);
  });

  it('with a read and an admin key: names and roles, and that every request needs a key', async () => {
    const { line, output } = await serveOnce(
      projectWith({ keys: [{ name: 'ops-alice', key: ADMIN, role: 'admin' }, { name: 'viewer', key: READ, role: 'read' }] }),
      async (base) => {
        expect(await status(`${base}/api/flags`)).toBe(401);
        expect(await status(`${base}/api/flags`, { headers: { authorization: `Bearer ${READ}` } })).toBe(200);
      },
    );
    expect(line).toMatch(/^console on http:\/\/127\.0\.0\.1:\d+\/ \(keys: ops-alice \(admin\), viewer \(read\); every request needs a key, reads included\)$/);
    expect(output).not.toContain(ADMIN);
    expect(output).not.toContain(READ);
  });

  it('with only an admin key: reads need that key too, and the line says so', async () => {
    const { line, output } = await serveOnce(projectWith({ keys: [{ name: 'ops-alice', key: ADMIN, role: 'admin' }] }), async (base) => {
      expect(await status(`${base}/api/flags`)).toBe(401);
      expect(await status(`${base}/`)).toBe(401);
      expect(await status(`${base}/api/flags`, { headers: { authorization: `Bearer ${ADMIN}` } })).toBe(200);
    });
    expect(line).toMatch(/^console on http:\/\/127\.0\.0\.1:\d+\/ \(keys: ops-alice \(admin\); every request needs a key, reads included\)$/);
    expect(line).not.toMatch(/open|without a key|no key needed/);
    expect(output).not.toContain(ADMIN);
  });

  it('refuses serve.apiKey / serve.adminKey with the serve.keys form to use instead, exit 2, no stack trace, no secret', async () => {
    const both = await migrate(['serve', '--port', '0'], { cwd: projectWith({ apiKey: READ, adminKey: ADMIN }), databaseUrl: tdb.url });
    expect(both.code).toBe(2);
    expect(both.stdout).toBe('');
    expect(both.stderr.trim().split('\n')).toEqual([
      'error: invalid configuration in curtain.config.json: serve.apiKey and serve.adminKey are no longer supported; keys are named and have a role',
      expect.stringMatching(/^hint: write serve\.keys: \[\{ name: 'api-key', key: <the apiKey>, role: 'read' \}, \{ name: 'admin-key', key: <the adminKey>, role: 'admin' \}\] instead/),
    ]);
    expect(both.stderr).not.toContain(ADMIN);
    expect(both.stderr).not.toContain(READ);
    const one = await migrate(['status'], { cwd: projectWith({ adminKey: ADMIN }), databaseUrl: tdb.url });
    expect(one.code).toBe(2);
    expect(one.stderr).toContain('serve.adminKey is no longer supported');
    expect(one.stderr).toContain("hint: write serve.keys: [{ name: 'admin-key', key: <the adminKey>, role: 'admin' }]");
    expect(one.stderr).not.toMatch(/^\s+at /m);
    expect(one.stderr).not.toContain('Unrecognized');
  });
});
