/**
 * The console in a real browser: Chromium (Debian's package) driven by
 * playwright-core, against `migrate serve` running as a process on a real
 * database holding the demo's shop and migrations.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedShop } from '../../examples/demo/schema.js';
import { BIN, LIB, migrate, tempProject } from '../support/cli.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

// Code passed to page.evaluate runs in the browser; the project compiles without DOM types.
declare const document: any;
declare const window: any;
type HTMLElement = any;

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const ADMIN = 'browser-admin-secret-91c7e2';
const READ = 'browser-read-secret-4d8a0f';
const SPLIT = '20260101000100_split_user_name';
const RENAME = '20260101000200_rename_email';
const USERS = 20_000;

/** Debian's chromium, or the one CHROMIUM points at; a clear failure when there is none. */
function chromiumPath(): string {
  const candidates = [process.env.CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter((p): p is string => Boolean(p));
  const found = candidates.find((p) => existsSync(p)) ?? (spawnSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8' }).stdout.trim() || undefined);
  if (!found) throw new Error('the browser tests need Chromium: apt-get install -y chromium (or set CHROMIUM to its path)');
  return found;
}

function externalAddress(): string | undefined {
  return Object.values(os.networkInterfaces())
    .flat()
    .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
}

/** Wait until `child` printed a line matching `re` (on stdout). */
// Everything a child printed, from its start: lines printed while nobody waits are not lost.
const printed = new WeakMap<ChildProcess, { text: string; used: number }>();

function waitForLine(child: ChildProcess, re: RegExp, what: string): Promise<string> {
  let log = printed.get(child);
  if (!log) {
    const fresh = { text: '', used: 0 };
    printed.set(child, fresh);
    child.stdout!.on('data', (d: Buffer) => (fresh.text += d));
    log = fresh;
  }
  const state = log;
  return new Promise((resolve, reject) => {
    const onData = () => setImmediate(look);
    const look = () => {
      const lines = state.text.split('\n');
      for (let i = state.used; i < lines.length - 1; i++) {
        if (re.test(lines[i]!)) {
          state.used = i + 1;
          child.stdout!.off('data', onData);
          resolve(lines[i]!);
          return true;
        }
      }
      return false;
    };
    if (look()) return;
    child.stdout!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${what} exited (${code}) before printing ${re}: ${state.text}`)));
  });
}

/** The one JSON document a `--json` command prints (complete once the closing brace arrives). */
function readJson(child: ChildProcess, what: string): Promise<any> {
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      if (out.trim().endsWith('}')) resolve(JSON.parse(out));
    });
    child.once('exit', (code) => reject(new Error(`${what} exited (${code}): ${out}`)));
  });
}

// Generous: a browser and several CLI processes share a busy machine.
describe('the console in Chromium', { timeout: 240_000 }, () => {
  let tdb: TestDatabase;
  let pool: pg.Pool;
  let browser: Browser;
  let serve: ChildProcess;
  let base: string;
  let port: number;
  const project = tempProject();
  const run = (...args: string[]) => migrate(args, { cwd: project.dir, databaseUrl: tdb.url, env: { CURTAIN_ACTOR: 'setup' } });

  const open = async (key: string): Promise<Page> => {
    const context = await browser.newContext({ httpCredentials: { username: 'console', password: key, send: 'always' }, viewport: { width: 1400, height: 1000 } });
    const page = await context.newPage();
    await page.goto(`${base}/`);
    await page.waitForSelector('#live[data-state="ok"]', { timeout: 60_000 });
    return page;
  };

  beforeAll(async () => {
    const executablePath = chromiumPath();
    tdb = await createTestDatabase('console');
    pool = new pg.Pool({ connectionString: tdb.url });
    await seedShop(pool, { users: USERS, orders: 2_000 });
    // The demo's migrations, importing the built library.
    for (const f of readdirSync(path.join(root, 'migrations'))) {
      const text = readFileSync(path.join(root, 'migrations', f), 'utf8').replace(/from 'curtain'/g, `from ${JSON.stringify(LIB)}`);
      writeFileSync(path.join(project.dir, 'migrations', f), text);
    }
    cpSync(path.join(root, 'examples/demo'), path.join(project.dir, 'src'), { recursive: true });
    writeFileSync(
      path.join(project.dir, 'curtain.config.json'),
      JSON.stringify({ serve: { keys: [{ name: 'ops-alice', key: ADMIN, role: 'admin' }, { name: 'viewer', key: READ, role: 'read' }] } }),
    );
    for (const args of [['expand', SPLIT], ['switch', SPLIT, '--percent', '10'], ['flags', 'set', 'checkout.v2', 'on', '--percent', '30', '--description', 'the new checkout']]) {
      const r = await run(...args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
    }
    serve = spawn(process.execPath, [BIN, '--database-url', tdb.url, 'serve', '--host', '0.0.0.0', '--port', '0', '--json'], {
      cwd: project.dir,
      env: { ...process.env, NO_COLOR: '1', DATABASE_URL: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    port = (await readJson(serve, 'migrate serve')).port;
    base = `http://127.0.0.1:${port}`;
    browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
  });
  afterAll(async () => {
    await browser?.close();
    serve?.kill('SIGTERM');
    await pool?.end();
    await tdb?.drop();
  });

  it('lists the demo migrations and flags with their real state', async () => {
    const page = await open(ADMIN);
    const files = readdirSync(path.join(root, 'migrations')).map((f) => f.replace(/\.ts$/, ''));
    for (const name of files) await expect.poll(() => page.locator(`tr[data-migration="${name}"]`).count()).toBe(1);
    const split = page.locator(`tr[data-migration="${SPLIT}"]`);
    expect(await split.locator('[data-field="phase"]').textContent()).toBe('switched');
    expect(await split.locator('[data-field="state"]').textContent()).toBe('on 10%');
    expect(await split.locator('.progress').textContent()).toBe(`${USERS.toLocaleString('en-US')} rows, done`);
    expect(await page.locator(`tr[data-migration="${RENAME}"] [data-field="phase"]`).textContent()).toBe('pending');
    const checkout = page.locator('tr[data-flag="checkout.v2"]');
    expect(await checkout.locator('[data-field="state"]').textContent()).toBe('on 30%');
    expect(await page.locator('tr[data-flag="users.split-name"] [data-field="state"]').textContent()).toBe('on 10%');
    expect(await page.locator('#who').textContent()).toBe('ops-alice');
    // The switch took a snapshot: it is listed with what it covers.
    expect(await page.locator('#snapshots tbody tr').count()).toBe(1);
    expect(await page.locator('#snapshots tbody').textContent()).toContain(`public.users ${USERS.toLocaleString('en-US')} rows`);
    await page.context().close();
  });

  it('shows a backfill started from the CLI advancing, without a reload', async () => {
    const page = await open(ADMIN);
    await page.evaluate((name) => {
      const w = window as unknown as { __marker: number; __seen: string[] };
      w.__marker = 42;
      w.__seen = [];
      setInterval(() => {
        const cell = [...document.querySelectorAll('[data-progress]')].find((c: HTMLElement) => c.dataset.progress === name);
        const rows = cell?.dataset.rows;
        if (rows && w.__seen[w.__seen.length - 1] !== rows) w.__seen.push(rows);
      }, 25);
    }, RENAME);
    const expand = await run('expand', RENAME, '--batch-size', '200', '--batch-delay', '100ms');
    expect(expand.code, expand.stderr).toBe(0);
    await page.waitForFunction((name) => {
      const cell = [...document.querySelectorAll('[data-progress]')].find((c: HTMLElement) => c.dataset.progress === name);
      return cell?.textContent?.endsWith('done');
    }, RENAME, { timeout: 60_000 });
    const { marker, seen } = await page.evaluate(() => {
      const w = window as unknown as { __marker: number; __seen: string[] };
      return { marker: w.__marker, seen: w.__seen.map(Number) };
    });
    expect(marker).toBe(42); // the same document all along
    const partial = seen.filter((n) => n > 0 && n < USERS);
    expect(partial.length, `rows seen: ${seen.join(', ')}`).toBeGreaterThanOrEqual(2);
    expect(partial).toEqual([...partial].sort((a, b) => a - b));
    // The cell's final value (the 25 ms sampler may miss the last update before "done").
    const finalRows = await page.evaluate(
      (name) => Number(([...document.querySelectorAll('[data-progress]')].find((c: HTMLElement) => c.dataset.progress === name) as HTMLElement | undefined)?.dataset.rows),
      RENAME,
    );
    expect(finalRows).toBe(USERS);
    await page.context().close();
  });

  it('lets an admin switch a migration to 25 % from the page: another process sees it, the history names the key', async () => {
    const watcher = spawn(process.execPath, [path.join(root, 'test/browser/fixtures/watch-rollout.mjs'), tdb.url, 'users.split-name'], { stdio: ['pipe', 'pipe', 'inherit'] });
    try {
      expect(await waitForLine(watcher, /^ready /, 'watch-rollout')).toBe('ready true 10');
      const page = await open(ADMIN);
      await page.locator(`button[data-action="switch"][data-name="${SPLIT}"]`).click();
      await page.locator('#field-percent').fill('25');
      await page.locator('#confirm-ok').click();
      await page.waitForFunction(() => document.getElementById('toast')?.textContent?.includes('switched to 25'), undefined, { timeout: 60_000 });
      expect(await waitForLine(watcher, /^true 25$/, 'watch-rollout')).toBe('true 25');
      await page.waitForFunction((name) => document.querySelector(`tr[data-migration="${name}"] [data-field="state"]`)?.textContent === 'on 25%', SPLIT, { timeout: 30_000 });
      // Live client evaluations per window, from the telemetry the other process reports.
      await page.waitForFunction(() => /5m \d+ true \/ \d+ false/.test(document.querySelector('tr[data-flag="users.split-name"] .usage')?.textContent ?? '') && !/5m 0 true \/ 0 false/.test(document.querySelector('tr[data-flag="users.split-name"] .usage')?.textContent ?? ''), undefined, { timeout: 60_000 });
      await page.locator(`tr[data-migration="${SPLIT}"] summary`).click();
      await page.locator('tr[data-flag="users.split-name"] summary').click();
      await page.waitForFunction(() => document.querySelectorAll('details[open]').length === 2, undefined, { timeout: 30_000 });
      expect(await page.locator(`tr[data-migration="${SPLIT}"] .timeline`).textContent()).toContain('ops-alice');
      await page.evaluate(() => (document.getElementById('toast').textContent = ''));
      await page.screenshot({ path: path.join(root, 'docs/console.png'), fullPage: true });
      await page.context().close();
    } finally {
      watcher.stdin!.end();
    }
    const history = await run('flags', 'history', 'users.split-name', '--json');
    expect(history.json().events[0]).toMatchObject({ actor: 'ops-alice', after: { enabled: true, rollout: 25 } });
    const plain = await run('flags', 'history', 'users.split-name');
    expect(plain.stdout.split('\n')[1]).toContain('ops-alice');
  });

  it('shows a read key everything, without buttons; its API calls to act answer 403', async () => {
    const page = await open(READ);
    expect(await page.locator('#who').textContent()).toBe('viewer');
    expect(await page.locator(`tr[data-migration="${SPLIT}"] [data-field="state"]`).textContent()).toBe('on 25%');
    expect(await page.locator('tr[data-flag="checkout.v2"]').count()).toBe(1);
    expect(await page.locator('#snapshots tbody tr').count()).toBeGreaterThanOrEqual(1);
    expect(await page.locator('button[data-action]').count()).toBe(0);
    expect(await page.locator('dialog').count()).toBe(0);
    const statuses = await page.evaluate(async (name) => {
      const post = (url: string, body: unknown, method = 'POST') => fetch(url, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then((r) => r.status);
      return [
        await post(`/api/migrations/${name}/switch`, { percent: 50 }),
        await post('/api/flags/checkout.v2', { enabled: false }, 'PUT'),
        await post(`/api/migrations/${name}/backfill/pause`, {}),
        (await fetch('/api/flags')).status,
      ];
    }, SPLIT);
    expect(statuses).toEqual([403, 403, 403, 200]);
    await page.context().close();
    const external = externalAddress();
    if (external) {
      expect((await fetch(`http://${external}:${port}/`)).status).toBe(401);
      expect((await fetch(`http://${external}:${port}/api/migrations`)).status).toBe(401);
    }
  });
});
