/**
 * The console in a real browser: Chromium (Debian's package) driven by
 * playwright-core, against `migrate serve` running as a process on a real
 * database holding the demo's shop and migrations.
 *
 * The screenshot of the console goes to a temporary folder; with
 * UPDATE_SCREENSHOT=1 it replaces docs/console.png (the README's), so a test
 * run leaves the working tree as it found it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedShop } from '../../examples/demo/schema.js';
import { formatDuration } from '../../src/duration.js';
import { BIN, LIB, migrate, migrationSource, tempProject } from '../support/cli.js';
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
const ORDERS = '20260101000300_orders_total_bigint';
/** A code migration contracted while the source still checks its flag: flag debt. */
const LEGACY = '20251201000000_legacy_checkout';
/** Stored with control characters and a newline, which the page shows escaped. */
const BANNER_DESCRIPTION = 'red \x1b[31malert\x1b[0m\nsecond line';
const USERS = 20_000;
/** Where the screenshot goes: the README's copy only when asked for. */
const SCREENSHOT = process.env.UPDATE_SCREENSHOT === '1' ? path.join(root, 'docs/console.png') : path.join(mkdtempSync(path.join(os.tmpdir(), 'curtain-console-')), 'console.png');

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
    // A migration named in backfill_hold is held before each batch once it has done one (the throttle query):
    // the pause test can then act on a running backfill, with a progress line, without racing it.
    await pool.query('CREATE TABLE backfill_hold (migration text PRIMARY KEY)');
    writeFileSync(
      path.join(project.dir, 'curtain.config.json'),
      JSON.stringify({
        serve: { keys: [{ name: 'ops-alice', key: ADMIN, role: 'admin' }, { name: 'viewer', key: READ, role: 'read' }] },
        backfill: { throttleQuery: 'SELECT EXISTS (SELECT FROM public.backfill_hold JOIN curtain.backfill_checkpoints USING (migration) WHERE rows_done > 0)' },
      }),
    );
    project.write(`migrations/${LEGACY}.ts`, migrationSource(`export default defineMigration({ flag: 'checkout.legacy', description: 'the old checkout, removed' });`));
    project.write('src/legacy-checkout.ts', `export function checkoutPath(flags: { isEnabled(key: string): boolean }): string {\n  return flags.isEnabled('checkout.legacy') ? 'new' : 'old';\n}\n`);
    for (const args of [
      ['expand', LEGACY],
      ['switch', LEGACY],
      ['contract', LEGACY, '--force', 'code-references'],
      ['expand', SPLIT],
      ['switch', SPLIT, '--percent', '10'],
      ['flags', 'set', 'checkout.v2', 'on', '--percent', '30', '--description', 'the new checkout'],
      ['flags', 'set', 'banner.red', 'off', '--description', BANNER_DESCRIPTION],
    ]) {
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

  it('shows flag debt: the flag locked on by contract, with the source lines that still check it', async () => {
    const page = await open(READ);
    expect(await page.locator('tr[data-flag="checkout.legacy"] [data-field="state"]').textContent()).toBe('locked on');
    const debt = page.locator('ul.debt > li').filter({ has: page.locator('> code', { hasText: /^checkout\.legacy$/ }) });
    expect(await debt.count()).toBe(1);
    expect(await debt.textContent()).toContain('locked on since contract; 1 reference(s) left in the source: remove them, then "migrate flags retire checkout.legacy"');
    expect(await debt.locator('ul.refs li').allTextContents()).toEqual(["src/legacy-checkout.ts:2: return flags.isEnabled('checkout.legacy') ? 'new' : 'old';"]);
    await page.context().close();
  });

  it("shows each migration's timeline with what each step took, the guards passed or forced, and snapshot ids", async () => {
    const page = await open(READ);
    // What the API says, to compare the page with.
    const detail = (name: string) => page.evaluate(async (n) => ((await (await fetch(`/api/migrations/${n}`)).json()) as any).migration, name);
    const cells = (name: string) =>
      page.locator(`tr[data-migration="${name}"] table.timeline tbody tr`).evaluateAll((rows: HTMLElement[]) =>
        rows.map((r) => {
          const [, event, actor, took, guards, snapshot] = [...r.querySelectorAll('td')].map((td: HTMLElement) => td.textContent);
          return { event, actor, took, guards, snapshot };
        }),
      );

    const legacy = await detail(LEGACY);
    const legacyRows = await cells(LEGACY);
    expect(legacyRows.map((r) => r.event)).toEqual(['expand.start', 'expand.done', 'switch.on', 'contract.start', 'contract.done']);
    expect(legacy.timeline.map((e: { event: string }) => e.event)).toEqual(legacyRows.map((r) => r.event));
    legacy.timeline.forEach((e: { durationMs: number | null }, i: number) => expect(legacyRows[i]!.took).toBe(e.durationMs === null ? '' : formatDuration(e.durationMs)));
    expect(legacyRows.find((r) => r.event === 'contract.done')!.took).not.toBe('');
    const guards = legacy.timeline.find((e: { event: string }) => e.event === 'contract.start').guards;
    expect(guards.forced).toEqual(['code-references']);
    expect(guards.passed).toContain('soak');
    expect(legacyRows.find((r) => r.event === 'contract.start')!.guards).toBe(`${guards.passed.join(', ')} (forced: code-references)`);

    // The switch took the snapshot listed below; its id is in the timeline.
    const snapshotId = await page.locator('#snapshots tbody tr').getAttribute('data-snapshot');
    expect(snapshotId).toBeTruthy();
    const split = await detail(SPLIT);
    expect(split.timeline.find((e: { event: string }) => e.event === 'switch.on').snapshotId).toBe(snapshotId);
    const splitRows = await cells(SPLIT);
    expect(splitRows.find((r) => r.event === 'switch.on')).toMatchObject({ actor: 'setup', snapshot: snapshotId });
    expect(splitRows.find((r) => r.event === 'expand.done')!.took).toMatch(/^\d/);
    await page.context().close();
  });

  it('shows the size each snapshot occupies, as measured by the server', async () => {
    const page = await open(READ);
    const snapshots = await page.evaluate(async () => ((await (await fetch('/api/snapshots')).json()) as any).snapshots);
    expect(snapshots).toHaveLength(1);
    expect(snapshots[0].sizeBytes).toBeGreaterThan(USERS); // a copy of 20,000 users is more than a byte each
    const shown = await page.locator(`tr[data-snapshot="${snapshots[0].id}"] td`).last().textContent();
    const m = /^(\d+(?:\.\d)?) (B|KiB|MiB|GiB)$/.exec(shown ?? '');
    expect(m, `size cell: ${shown}`).not.toBeNull();
    const unit = { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 }[m![2] as 'B' | 'KiB' | 'MiB' | 'GiB'];
    // one decimal: within half a tenth of the unit, plus float slack (a size of exactly x.x5 MiB rounds by 0.05 MiB, which came out as 0.0500000000000000x)
    expect(Math.abs(Number(m![1]) - snapshots[0].sizeBytes / unit)).toBeLessThanOrEqual(0.05 + 1e-9);
    await page.context().close();
  });

  it('shows a backfill started from the CLI advancing, without a reload', async () => {
    const page = await open(ADMIN);
    await page.evaluate((name) => {
      const w = window as unknown as { __marker: number; __seen: string[]; __texts: string[] };
      w.__marker = 42;
      w.__seen = [];
      w.__texts = [];
      setInterval(() => {
        const cell = [...document.querySelectorAll('[data-progress]')].find((c: HTMLElement) => c.dataset.progress === name);
        const rows = cell?.dataset.rows;
        if (rows && w.__seen[w.__seen.length - 1] !== rows) w.__seen.push(rows);
        const text = cell?.textContent;
        if (text && w.__texts[w.__texts.length - 1] !== text) w.__texts.push(text);
      }, 25);
    }, RENAME);
    const expand = await run('expand', RENAME, '--batch-size', '200', '--batch-delay', '100ms');
    expect(expand.code, expand.stderr).toBe(0);
    await page.waitForFunction((name) => {
      const cell = [...document.querySelectorAll('[data-progress]')].find((c: HTMLElement) => c.dataset.progress === name);
      return cell?.textContent?.endsWith('done');
    }, RENAME, { timeout: 60_000 });
    const { marker, seen, texts } = await page.evaluate(() => {
      const w = window as unknown as { __marker: number; __seen: string[]; __texts: string[] };
      return { marker: w.__marker, seen: w.__seen.map(Number), texts: w.__texts };
    });
    expect(marker).toBe(42); // the same document all along
    const partial = seen.filter((n) => n > 0 && n < USERS);
    expect(partial.length, `rows seen: ${seen.join(', ')}`).toBeGreaterThanOrEqual(2);
    expect(partial).toEqual([...partial].sort((a, b) => a - b));
    // Once the server saw two checkpoints: a rate and the time left (etaSeconds, as the line shows it).
    expect(texts.some((t) => /^[\d,]+ \/ [\d,]+ rows \(\d+%\) · [\d,]+ rows\/s · ETA \d/.test(t)), `lines seen: ${texts.join(' | ')}`).toBe(true);
    // The cell's final value (the 25 ms sampler may miss the last update before "done").
    const finalRows = await page.evaluate(
      (name) => Number(([...document.querySelectorAll('[data-progress]')].find((c: HTMLElement) => c.dataset.progress === name) as HTMLElement | undefined)?.dataset.rows),
      RENAME,
    );
    expect(finalRows).toBe(USERS);
    await page.context().close();
  });

  it('lets an admin pause and resume a running backfill from the page: the control row changes, audited as the key', async () => {
    const control = async () =>
      (await pool.query(`SELECT paused, updated_by, throttled FROM curtain.backfill_control WHERE migration = $1`, [ORDERS])).rows[0] as
        | { paused: boolean; updated_by: string; throttled: string | null }
        | undefined;
    const events = async () =>
      (await pool.query(`SELECT event, actor FROM curtain.migration_events WHERE migration = $1 AND event IN ('backfill.pause', 'backfill.resume') ORDER BY id`, [ORDERS])).rows;
    const cellText = (page: Page) => page.locator(`[data-progress="${ORDERS}"]`).textContent();
    // Held after its first batch (see backfill_hold): expanding, with most of its backfill ahead.
    await pool.query('INSERT INTO backfill_hold VALUES ($1)', [ORDERS]);
    const expanding = run('expand', ORDERS, '--batch-size', '100');
    try {
      const page = await open(ADMIN);
      const pause = page.locator(`button[data-action="pause"][data-name="${ORDERS}"]`);
      await pause.waitFor({ timeout: 60_000 }); // rendered once the phase is expanding
      await pause.click();
      expect(await page.locator('#confirm-title').textContent()).toBe(`Pause the backfill of ${ORDERS}`);
      await page.locator('#confirm-ok').click();
      await page.waitForFunction((name) => document.getElementById('toast')?.textContent === `backfill of ${name} paused`, ORDERS, { timeout: 30_000 });
      expect(await control()).toMatchObject({ paused: true, updated_by: 'ops-alice' });
      expect(await events()).toEqual([{ event: 'backfill.pause', actor: 'ops-alice' }]);
      // The backfill itself saw it (it reports why it waits), and the page says so.
      await expect.poll(() => cellText(page), { timeout: 30_000 }).toContain('paused by ops-alice');
      expect(await cellText(page)).toMatch(/^100 (\/ [\d,]+ )?rows\b.* · paused · throttled: paused by ops-alice/);
      // The hold goes: only the pause keeps it waiting now.
      await pool.query('DELETE FROM backfill_hold');

      const resume = page.locator(`button[data-action="resume"][data-name="${ORDERS}"]`);
      await resume.waitFor({ timeout: 30_000 });
      await resume.click();
      await page.locator('#confirm-ok').click();
      await page.waitForFunction((name) => document.getElementById('toast')?.textContent === `backfill of ${name} resumed`, ORDERS, { timeout: 30_000 });
      expect(await control()).toMatchObject({ paused: false, updated_by: 'ops-alice' });
      const expanded = await expanding;
      expect(expanded.code, expanded.stderr).toBe(0);
      await expect.poll(() => cellText(page), { timeout: 30_000 }).toMatch(/^[\d,]+ rows, done$/);
      expect(await events()).toEqual([
        { event: 'backfill.pause', actor: 'ops-alice' },
        { event: 'backfill.resume', actor: 'ops-alice' },
      ]);
      await page.context().close();
    } finally {
      // Whatever failed above, the expand must not wait forever.
      await pool.query('DELETE FROM backfill_hold');
      await pool.query('UPDATE curtain.backfill_control SET paused = false WHERE migration = $1', [ORDERS]);
      await expanding;
    }
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
      await page.screenshot({ path: SCREENSHOT, fullPage: true });
      await page.context().close();
      const png = readFileSync(SCREENSHOT);
      expect(png.length).toBeGreaterThan(10_000);
      expect(png.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a'); // the PNG signature
    } finally {
      watcher.stdin!.end();
    }
    const history = await run('flags', 'history', 'users.split-name', '--json');
    expect(history.json().events[0]).toMatchObject({ actor: 'ops-alice', after: { enabled: true, rollout: 25 } });
    const plain = await run('flags', 'history', 'users.split-name');
    expect(plain.stdout.split('\n')[1]).toContain('ops-alice');
  });

  it('lets an admin set a flag no migration owns from the page; an unedited description is kept as stored', async () => {
    const page = await open(ADMIN);
    const setBanner = async () => {
      await page.locator('button[data-action="flag"][data-key="banner.red"]').click();
      expect(await page.locator('#confirm-title').textContent()).toBe('Set flag banner.red');
    };
    await setBanner();
    // The field shows what the page shows: the control characters as visible escapes.
    expect(await page.locator('#field-description').inputValue()).toContain('\\x1b[31m');
    await page.locator('#field-enabled').check();
    await page.locator('#field-percent').fill('60');
    await page.locator('#field-reason').fill('from the page');
    await page.locator('#confirm-ok').click();
    await page.waitForFunction(() => document.getElementById('toast')?.textContent === 'banner.red updated', undefined, { timeout: 30_000 });
    const got = await run('flags', 'get', 'banner.red', '--json');
    expect(got.code, got.stderr).toBe(0);
    expect(got.json().flag).toMatchObject({ enabled: true, rollout: 60, description: BANNER_DESCRIPTION });
    const history = await run('flags', 'history', 'banner.red', '--json');
    expect(history.json().events[0]).toMatchObject({ actor: 'ops-alice', reason: 'from the page', after: { enabled: true, rollout: 60 } });
    // An edited description is sent as typed.
    await page.waitForFunction(() => document.querySelector('tr[data-flag="banner.red"] [data-field="state"]')?.textContent === 'on 60%', undefined, { timeout: 30_000 });
    await setBanner();
    await page.locator('#field-description').fill('plain words');
    await page.locator('#confirm-ok').click();
    await page.waitForFunction(() => document.getElementById('toast')?.textContent === 'banner.red updated', undefined, { timeout: 30_000 });
    await expect.poll(async () => (await run('flags', 'get', 'banner.red', '--json')).json().flag).toMatchObject({ enabled: true, rollout: 60, description: 'plain words' });
    await page.context().close();
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
