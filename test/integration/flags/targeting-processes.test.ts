import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Database } from '../../../src/db/connect.js';
import { setFlag } from '../../../src/flags/store.js';
import { targetFlag } from '../../../src/flags/target.js';
import { ensureStore } from '../../../src/store/store.js';
import { createTestDatabase, type TestDatabase } from '../../support/database.js';

const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures/evaluate-contexts.mjs');
const KEY = 'billing.canary';

type Context = Record<string, string>;
interface Report {
  version: number;
  values: boolean[];
}
interface Evaluator {
  child: ChildProcessWithoutNullStreams;
  reports: Report[];
  stderr: string;
}

function evaluator(url: string, mode: 'client' | 'openfeature', contexts: Context[]): Evaluator {
  const child = spawn(process.execPath, [script, url, KEY, mode, JSON.stringify(contexts)], { stdio: ['pipe', 'pipe', 'pipe'] });
  const e: Evaluator = { child, reports: [], stderr: '' };
  let buf = '';
  child.stdout.on('data', (d) => {
    buf += d;
    const lines = buf.split('\n');
    buf = lines.pop()!;
    for (const line of lines) if (line.trim()) e.reports.push(JSON.parse(line) as Report);
  });
  child.stderr.on('data', (d) => (e.stderr += d));
  return e;
}

// Who should see the flag: the listed subjects, and contexts whose tenant is acme or initech.
const LISTED = ['user:42', 'user:7'];
const TENANTS = ['acme', 'initech'];
const contexts: Context[] = [
  { targetingKey: 'user:42' },
  { targetingKey: 'user:7', tenant: 'globex' }, // listed: the tenant does not matter
  { targetingKey: 'user:1', tenant: 'acme' },
  { targetingKey: 'user:2', tenant: 'initech' },
  { tenant: 'acme' }, // a constraint needs no subject
  { targetingKey: 'user:420' },
  { targetingKey: 'USER:42' },
  { targetingKey: 'user:3', tenant: 'ACME' },
  { targetingKey: 'user:3', tenant: 'acme, initech' },
  { targetingKey: 'user:4', tenant: 'globex', appName: 'acme' },
  {},
  // Many subjects nobody listed, in other tenants or none: no percentage may leak the flag to any of them.
  ...Array.from({ length: 600 }, (_, i) => (i % 3 === 0 ? { targetingKey: `user:${1000 + i}` } : { targetingKey: `user:${1000 + i}`, tenant: i % 3 === 1 ? 'globex' : 'umbrella' })),
];
const expected = contexts.map((c) => (c.targetingKey !== undefined && LISTED.includes(c.targetingKey)) || (c.tenant !== undefined && TENANTS.includes(c.tenant)));

describe('a flag on for an allowlist and a tenant constraint only, seen from two client processes', () => {
  let tdb: TestDatabase;
  let conn: Database;
  let procs: Evaluator[] = [];

  beforeAll(async () => {
    tdb = await createTestDatabase('tgtprocs');
    conn = await tdb.connect();
    await ensureStore(conn.pool, 'curtain');
    await setFlag(conn.pool, 'curtain', KEY, { enabled: false, rollout: 100 });
  });
  afterAll(async () => {
    await Promise.all(
      procs.map(
        (p) =>
          new Promise<void>((resolve) => {
            if (p.child.exitCode !== null) return resolve();
            p.child.once('exit', () => resolve());
            p.child.stdin.end();
            setTimeout(() => p.child.kill(), 5_000).unref();
          }),
      ),
    );
    await tdb.drop();
  });

  it('every listed subject and matching context sees it, nobody else does; off again for everyone', async () => {
    expect(expected.filter(Boolean)).toHaveLength(5); // the test's own oracle: 5 of 611 contexts are in
    procs = [evaluator(tdb.url, 'client', contexts), evaluator(tdb.url, 'openfeature', contexts)];
    await vi.waitFor(() => expect(procs.map((p) => p.reports.length > 0 || p.stderr)).toEqual([true, true]), { timeout: 60_000, interval: 50 });
    for (const p of procs) expect(p.reports[0]!.values.every((v) => v === false)).toBe(true);

    const flag = await targetFlag(conn.pool, 'curtain', KEY, { enabled: true, for: [LISTED.join(',')], where: [`tenant in (${TENANTS.join(', ')})`] }, { reason: 'canary' });
    expect(flag).toMatchObject({ enabled: true, rollout: 0 });
    await vi.waitFor(() => expect(procs.map((p) => p.reports.at(-1)!.version)).toEqual([flag.version, flag.version]), { timeout: 20_000, interval: 20 });
    for (const p of procs) expect(p.reports.at(-1)!.values).toEqual(expected);

    const off = await setFlag(conn.pool, 'curtain', KEY, { enabled: false });
    await vi.waitFor(() => expect(procs.map((p) => p.reports.at(-1)!.version)).toEqual([off.version, off.version]), { timeout: 20_000, interval: 20 });
    for (const p of procs) expect(p.reports.at(-1)!.values.every((v) => v === false)).toBe(true);
  });
});
