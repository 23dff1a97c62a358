import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Database } from '../../../src/db/connect.js';
import { setFlag } from '../../../src/flags/store.js';
import { ensureStore } from '../../../src/store/store.js';
import { createTestDatabase, type TestDatabase } from '../../support/database.js';

const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures/watch-flag.mjs');

interface Watcher {
  child: ChildProcessWithoutNullStreams;
  lines: string[];
}

function watch(url: string, key: string): Watcher {
  const child = spawn(process.execPath, [script, url, key], { stdio: ['pipe', 'pipe', 'pipe'] });
  const w: Watcher = { child, lines: [] };
  let buf = '';
  child.stdout.on('data', (d) => {
    buf += d;
    const parts = buf.split('\n');
    buf = parts.pop()!;
    w.lines.push(...parts);
  });
  child.stderr.on('data', () => {});
  return w;
}

describe('a change reaches clients in other processes', () => {
  let tdb: TestDatabase;
  let conn: Database;
  let watchers: Watcher[] = [];

  beforeAll(async () => {
    tdb = await createTestDatabase('procs');
    conn = await tdb.connect();
    await ensureStore(conn.pool, 'curtain');
    await setFlag(conn.pool, 'curtain', 'fleet.switch', { enabled: false });
  });
  afterAll(async () => {
    await Promise.all(
      watchers.map(
        (w) =>
          new Promise<void>((resolve) => {
            if (w.child.exitCode !== null) return resolve();
            w.child.once('exit', () => resolve());
            w.child.stdin.end();
            setTimeout(() => w.child.kill(), 5_000).unref();
          }),
      ),
    );
    await tdb.drop();
  });

  it('ten client processes all see a flag turned on, then off', async () => {
    watchers = Array.from({ length: 10 }, () => watch(tdb.url, 'fleet.switch'));
    await vi.waitFor(() => expect(watchers.map((w) => w.lines[0])).toEqual(Array(10).fill('ready false')), { timeout: 60_000, interval: 50 });

    await setFlag(conn.pool, 'curtain', 'fleet.switch', { enabled: true }, { reason: 'fleet test' });
    await vi.waitFor(() => expect(watchers.map((w) => w.lines.at(-1))).toEqual(Array(10).fill('value true')), { timeout: 20_000, interval: 20 });

    await setFlag(conn.pool, 'curtain', 'fleet.switch', { enabled: false });
    await vi.waitFor(() => expect(watchers.map((w) => w.lines.at(-1))).toEqual(Array(10).fill('value false')), { timeout: 20_000, interval: 20 });
  });
});
