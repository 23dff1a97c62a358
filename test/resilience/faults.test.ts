/**
 * Database faults, against an embedded PostgreSQL this file starts itself
 * (its own data directory, fsync off), so it can stop and start it:
 *
 * (a) the server is stopped in the middle of a backfill (a table of
 *     FAULT_ROWS rows, batches of 100 with a 10 ms delay, stopped once a
 *     third of the rows are done): the CLI must exit 1 with a clear one-line
 *     error and no stack trace, nothing of the expand may be lost (phase
 *     still `expanding`, checkpoint kept); after the server is back, a rerun
 *     resumes from the checkpoint (the checkpoint log shows the first batch
 *     of the rerun continues after the last committed one) and finishes with
 *     verification clean and every row backfilled.
 * (b) the server is restarted around flag changes: while it is down, a
 *     flags client keeps answering the last known values (isEnabled never
 *     throws, status `stale`), a flag change attempted through the CLI fails
 *     with a clear error, a client started during the outage serves the
 *     backup file; once the server is back, both clients see a change made
 *     after the restart.
 *
 * (c) the backfill's connections are terminated while the server stays up:
 *     the expand must stay resumable (phase `expanding`, checkpoint kept) and
 *     a rerun must resume.
 * (d) the server is restarted during contract (after contract committed its
 *     start): the CLI ends with no stack trace, and once the server is back a
 *     rerun finishes the contract (old column gone, flag locked on).
 *
 * The embedded server must come back on the same port (connection strings
 * of running clients stay valid); the test asserts it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbedded, stopEmbedded, type EmbeddedServer } from '../../src/db/embedded.js';
import { createFlags, type FlagsClient } from '../../src/flags/client.js';
import { migrationSource, tempProject } from '../support/cli.js';
import { adminQuery, databaseUrl, envInt, FULL, installProbe, PROBE_SCHEMA, sleep, startMigrate } from '../support/resilience.js';

const ROWS = envInt('FAULT_ROWS', FULL ? 200_000 : 20_000);
const BATCH = 100;
const DB = 'faults';

const root = mkdtempSync(path.join(os.tmpdir(), 'curtain-faults-'));
const dataDir = path.join(root, 'postgres');
let server: EmbeddedServer;
let url: string;

/** Poll `probe` until it returns a truthy value (bounded; the assertion is on the value, not the time). */
async function until<T>(probe: () => Promise<T> | T, limitMs = 60_000, everyMs = 20): Promise<T> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const v = await probe();
    if (v || Date.now() > deadline) return v;
    await sleep(everyMs);
  }
}

async function query(sql: string, values: unknown[] = []) {
  return (await adminQuery(url, sql, values)).rows;
}

async function restart(): Promise<void> {
  const before = server.port;
  await sleep(100);
  server = await startEmbedded({ dataDir, fast: true });
  url = databaseUrl(server.url, DB);
  // Running clients keep their connection string: the server must come back where it was.
  expect(server.port, 'the embedded server came back on another port').toBe(before);
}

beforeAll(async () => {
  server = await startEmbedded({ dataDir, fast: true });
  await adminQuery(server.url, `CREATE DATABASE ${DB}`);
  url = databaseUrl(server.url, DB);
}, 180_000);

afterAll(async () => {
  await server?.release().catch(() => {});
  await stopEmbedded(dataDir).catch(() => {});
  rmSync(root, { recursive: true, force: true });
});

describe.sequential('database faults (embedded PostgreSQL stopped and started by the test)', () => {
  const project = tempProject();
  project.write(
    'migrations/20260101000000_fill.ts',
    migrationSource(
      `export default defineMigration({
  flag: 'events.fill',
  operations: [
    op.addColumn('events', { name: 'kind_upper', type: 'text', up: sql\`upper(kind)\` }),
    op.alterColumn('events', 'qty', { type: 'bigint', name: 'qty_big', up: sql\`qty::bigint\`, down: sql\`qty_big::integer\` }),
  ],
});`,
      'defineMigration, op, sql',
    ),
  );
  const cli = (...args: string[]) => startMigrate(args, { cwd: project.dir, databaseUrl: url });

  it('(a) server stopped mid-backfill: clear error, then a rerun resumes from the checkpoint and verifies clean', async () => {
    await query(`CREATE TABLE events (id bigint PRIMARY KEY, kind text, qty integer);
                 INSERT INTO events SELECT i, 'k' || (i % 7), i % 1000 FROM generate_series(1, ${ROWS}) i; ANALYZE events`);
    expect((await cli('status').done).code).toBe(0); // creates the curtain schema
    const client = new pg.Client({ connectionString: url });
    client.on('error', () => {});
    await client.connect();
    await installProbe(client);
    await client.end();

    const run = cli('expand', '--batch-size', String(BATCH), '--batch-delay', '10ms');
    // Stop the server once a third of the rows are backfilled (read from the checkpoint).
    const third = Math.floor(ROWS / 3);
    const reached = await until(async () => {
      if (run.child.exitCode !== null) return true;
      const rows = await query(`SELECT coalesce(max(rows_done), 0)::int AS n FROM curtain.backfill_checkpoints`).catch(() => [{ n: 0 }]);
      return rows[0].n >= third;
    });
    expect(reached).toBe(true);
    expect(run.child.exitCode, 'expand finished before the server could be stopped: raise FAULT_ROWS').toBeNull();
    await stopEmbedded(dataDir);
    const failed = await run.done;

    await restart();
    // Soft: the resume below is checked whatever the message looked like.
    expect.soft(failed.code, failed.stderr).toBe(1);
    expect.soft(failed.stderr, 'a clear "error: ..." line').toMatch(/^error: /m);
    expect.soft(failed.stderr, 'no stack trace without --verbose').not.toMatch(/\n\s+at /);
    expect.soft(failed.stderr, 'the error says the database went away').toMatch(/terminat|connect|ECONNREFUSED|shut ?down|closed/i);
    process.stderr.write(`faults (a): the CLI exited ${failed.code} and said:\n${failed.stderr.split('\n').filter((l) => /^(error|hint)/.test(l)).join('\n')}\n`);

    // Nothing of the expand was thrown away: it is resumable.
    const [m] = await query(`SELECT phase FROM curtain.migrations WHERE name = '20260101000000_fill'`);
    expect(m?.phase).toBe('expanding');
    const [cp] = await query(`SELECT rows_done::int AS n, done FROM curtain.backfill_checkpoints WHERE table_name = 'public.events'`);
    expect(cp?.done).toBe(false);
    expect(cp?.n).toBeGreaterThanOrEqual(third);
    const before = cp!.n as number;
    const [{ last }] = await query(`SELECT coalesce(max(id), 0)::int AS last FROM ${PROBE_SCHEMA}.checkpoint_log`);

    const rerun = await cli('expand').done;
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(rerun.stderr).toContain('resuming an interrupted expand');
    // The first checkpoint written by the rerun continues after the last committed batch (no restart from zero).
    const resumed = await query(`SELECT rows_done::int AS n FROM ${PROBE_SCHEMA}.checkpoint_log WHERE id > $1 AND table_name = 'public.events' ORDER BY id`, [last]);
    expect(resumed.length).toBeGreaterThan(0);
    expect(resumed[0]!.n).toBeGreaterThan(before);
    expect(resumed.every((r, i) => i === 0 || r.n >= resumed[i - 1]!.n)).toBe(true);

    const [done] = await query(`SELECT phase, verification->>'outOfSync' AS out_of_sync FROM curtain.migrations WHERE name = '20260101000000_fill'`);
    expect(done).toEqual({ phase: 'expanded', out_of_sync: '0' });
    const [bad] = await query(
      `SELECT count(*)::int AS n FROM events WHERE kind_upper IS DISTINCT FROM upper(kind) OR qty_big IS DISTINCT FROM qty::bigint`,
    );
    expect(bad!.n).toBe(0);
    const [all] = await query(`SELECT count(*)::int AS n FROM events`);
    expect(all!.n).toBe(ROWS);
  }, 300_000);

  // The same interruption without a restart: the server stays up, but the connections of the backfill
  // are terminated (pg_terminate_backend, a pooler or proxy restart, a network blip). expand treats it
  // as a failed expand and removes everything, throwing away the backfill progress, although a rerun
  // could resume from the checkpoint as after a server restart (a).
  it('(c) backfill connections terminated mid-backfill (server up): progress is kept and a rerun resumes', async () => {
    server = await startEmbedded({ dataDir, fast: true }); // (a) or (b) may have left it stopped
    const other = databaseUrl(server.url, `${DB}_c`);
    await adminQuery(server.url, `CREATE DATABASE ${DB}_c`);
    const q = async (sql: string, values: unknown[] = []) => (await adminQuery(other, sql, values)).rows;
    await q(`CREATE TABLE events (id bigint PRIMARY KEY, kind text, qty integer);
             INSERT INTO events SELECT i, 'k' || (i % 7), i % 1000 FROM generate_series(1, ${ROWS}) i; ANALYZE events`);
    const run = startMigrate(['expand', '--batch-size', String(BATCH), '--batch-delay', '10ms'], { cwd: project.dir, databaseUrl: other });
    const third = Math.floor(ROWS / 3);
    await until(async () => {
      if (run.child.exitCode !== null) return true;
      const rows = await q(`SELECT coalesce(max(rows_done), 0)::int AS n FROM curtain.backfill_checkpoints`).catch(() => [{ n: 0 }]);
      return rows[0].n >= third;
    });
    expect(run.child.exitCode, 'expand finished before its connections could be terminated: raise FAULT_ROWS').toBeNull();
    // Terminate the backfill's connection in the middle of a batch: a row of an upcoming batch is
    // locked by another session so the batch waits, visibly, then its backend is terminated.
    // (Idle pool connections terminated between batches are replaced without a fuss.)
    const blocker = new pg.Client({ connectionString: other });
    blocker.on('error', () => {});
    await blocker.connect();
    // Lock a row well ahead of the backfill, and make sure it is still ahead once locked (a slow
    // machine may let the backfill run past a row chosen too close).
    for (let ahead = 20; ; ahead *= 2) {
      const [{ n: done }] = await q(`SELECT max(rows_done)::int AS n FROM curtain.backfill_checkpoints`);
      const target = Math.min(ROWS, Number(done) + ahead * BATCH);
      await blocker.query('BEGIN');
      await blocker.query(`SELECT id FROM events WHERE id = $1 FOR UPDATE`, [target]);
      const [{ n: now }] = await q(`SELECT max(rows_done)::int AS n FROM curtain.backfill_checkpoints`);
      if (Number(now) < target || target === ROWS) break;
      await blocker.query('ROLLBACK');
    }
    const waiting = await until(async () => {
      const rows = await q(
        `SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name = 'curtain: migrate expand' AND wait_event_type = 'Lock'`,
        [`${DB}_c`],
      );
      return rows[0]?.pid as number | undefined;
    });
    expect(waiting, 'the backfill batch never waited on the locked row').toBeDefined();
    await q(`SELECT pg_terminate_backend($1)`, [waiting]);
    await blocker.query('ROLLBACK');
    await blocker.end();
    const failed = await run.done;
    expect(failed.code, failed.stderr).toBe(1);
    process.stderr.write(`faults (c): the CLI exited ${failed.code} and said:\n${failed.stderr.split('\n').filter((l) => /^(error|hint)/.test(l)).join('\n')}\n`);
    const [m] = await q(`SELECT phase FROM curtain.migrations WHERE name = '20260101000000_fill'`);
    const [cp] = await q(`SELECT rows_done::int AS n FROM curtain.backfill_checkpoints WHERE table_name = 'public.events'`);
    expect({ phase: m?.phase, checkpointKept: (cp?.n ?? 0) >= third }).toEqual({ phase: 'expanding', checkpointKept: true });
    const rerun = await startMigrate(['expand'], { cwd: project.dir, databaseUrl: other }).done;
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(rerun.stderr).toContain('resuming an interrupted expand');
    await adminQuery(server.url, `DROP DATABASE ${DB}_c WITH (FORCE)`);
  }, 300_000);

  it('(b) server restarted around flag changes: clients answer last known values while it is down and recover after', async () => {
    server = await startEmbedded({ dataDir, fast: true }); // (a) may have left it stopped
    url = databaseUrl(server.url, DB);
    const backupFile = path.join(root, 'flags-backup.json');
    const warnings: string[] = [];
    const logger = { warn: (m: string) => warnings.push(m) };
    const options = { telemetry: false, pollIntervalMs: 200, reconnect: { minDelayMs: 50, maxDelayMs: 500 }, logger, backupFile } as const;
    const flags: FlagsClient = await createFlags({ connectionString: url, ...options });
    let late: FlagsClient | undefined;
    try {
      await flags.set('faults.on', { enabled: true, rollout: 100 });
      await flags.set('faults.half', { enabled: true, rollout: 50 });
      await flags.set('faults.off', { enabled: false });
      const subjects = Array.from({ length: 200 }, (_, i) => `user-${i}`);
      const answer = (c: FlagsClient) =>
        subjects.map((s) => [c.isEnabled('faults.on', { targetingKey: s }), c.isEnabled('faults.half', { targetingKey: s }), c.isEnabled('faults.off', { targetingKey: s })]);
      const known = answer(flags);
      expect(known.every(([on, , off]) => on && !off)).toBe(true);
      const half = known.filter(([, h]) => h).length;
      expect(half).toBeGreaterThan(50);
      expect(half).toBeLessThan(150);
      expect(flags.status).toBe('ready');

      // A change lands, then the server goes down.
      const change = await cli('flags', 'set', 'faults.off', 'on').done;
      expect(change.code, change.stderr).toBe(0);
      expect(await until(() => flags.isEnabled('faults.off'), 10_000)).toBe(true);
      const lastKnown = answer(flags);
      await stopEmbedded(dataDir);

      // Down: every evaluation answers the last known value and nothing throws.
      expect(await until(() => flags.status === 'stale', 30_000)).toBe(true);
      for (let round = 0; round < 20; round++) {
        let got: boolean[][] = [];
        expect(() => (got = answer(flags))).not.toThrow();
        expect(got).toEqual(lastKnown);
        expect(() => flags.isEnabled('no.such.flag')).not.toThrow();
        expect(() => flags.isEnabled('NOT A KEY' as never, { targetingKey: undefined })).not.toThrow();
        await sleep(25);
      }
      // A change attempted while the server is down fails clearly.
      const refused = await cli('flags', 'set', 'faults.on', 'off').done;
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/^error: cannot connect/m);
      expect(refused.stderr).not.toMatch(/\n\s+at /);
      // A client started during the outage serves the backup file.
      late = await createFlags({ connectionString: url, ...options, connectTimeoutMs: 1_000 });
      expect(late.status).toBe('stale');
      expect(answer(late)).toEqual(lastKnown);

      await restart();
      // A change made after the restart reaches both clients.
      const after = await cli('flags', 'set', 'faults.on', 'off').done;
      expect(after.code, after.stderr).toBe(0);
      expect(await until(() => !flags.isEnabled('faults.on') && !late!.isEnabled('faults.on'), 60_000)).toBe(true);
      expect(await until(() => flags.status === 'ready' && late!.status === 'ready', 30_000)).toBe(true);
      // Everything else is as before.
      const now = answer(flags);
      expect(now.map(([, h, o]) => [h, o])).toEqual(lastKnown.map(([, h, o]) => [h, o]));
      expect(answer(late)).toEqual(now);
    } finally {
      await late?.close();
      await flags.close();
    }
  }, 300_000);

  it('(d) server restarted during contract: no stack trace, and a rerun finishes the contract', async () => {
    server = await startEmbedded({ dataDir, fast: true }); // an earlier case may have left it stopped
    const name = `${DB}_d`;
    const other = databaseUrl(server.url, name);
    await adminQuery(server.url, `CREATE DATABASE ${name}`);
    const q = async (sql: string, values: unknown[] = []) => (await adminQuery(other, sql, values)).rows;
    await q(`CREATE TABLE events (id bigint PRIMARY KEY, kind text, qty integer);
             INSERT INTO events SELECT i, 'k' || (i % 7), i % 1000 FROM generate_series(1, ${Math.max(1000, Math.floor(ROWS / 10))}) i; ANALYZE events`);
    const prep = (...args: string[]) => startMigrate(args, { cwd: project.dir, databaseUrl: other }).done;
    for (const args of [['expand'], ['switch', 'fill']]) {
      const r = await prep(...args);
      expect(r.code, r.stderr).toBe(0);
    }
    // An open transaction reading events keeps contract's DROP COLUMN waiting (and retrying) in phase contracting.
    const reader = new pg.Client({ connectionString: other });
    reader.on('error', () => {});
    await reader.connect();
    await reader.query('BEGIN');
    await reader.query('SELECT id FROM events LIMIT 1');
    const run = startMigrate(['contract', 'fill'], { cwd: project.dir, databaseUrl: other });
    // Stop the server once contract has committed its start (phase contracting), in the middle of its steps.
    await Promise.race([
      until(async () => (await q(`SELECT phase FROM curtain.migrations WHERE name = '20260101000000_fill'`).catch(() => []))[0]?.phase === 'contracting'),
      run.done,
    ]);
    expect(run.child.exitCode, 'contract finished before the server could be stopped').toBeNull();
    await stopEmbedded(dataDir);
    await reader.end().catch(() => {});
    const failed = await run.done;
    await restart();
    expect(failed.code).not.toBe(0);
    expect(failed.stderr, 'no stack trace without --verbose').not.toMatch(/\n\s+at |Unhandled 'error' event/);
    process.stderr.write(`faults (d): the CLI exited ${failed.code} and said:\n${failed.stderr.split('\n').filter((l) => /^(error|hint)/.test(l)).join('\n')}\n`);

    let rerun = await prep('contract', 'fill');
    // The killed session's lock may linger a moment after the restart (exit 4): try again.
    for (let i = 0; i < 5 && rerun.code === 4; i++) rerun = await prep('contract', 'fill');
    expect(rerun.code, rerun.stderr).toBe(0);
    const [m] = await q(`SELECT phase FROM curtain.migrations WHERE name = '20260101000000_fill'`);
    expect(m?.phase).toBe('contracted');
    const columns = (await q(`SELECT column_name FROM information_schema.columns WHERE table_name = 'events' ORDER BY 1`)).map((r) => r.column_name);
    expect(columns).toEqual(['id', 'kind', 'kind_upper', 'qty_big']);
    const [flag] = await q(`SELECT enabled, retired FROM curtain.flags WHERE key = 'events.fill'`);
    expect(flag).toEqual({ enabled: true, retired: true });
    await adminQuery(server.url, `DROP DATABASE ${name} WITH (FORCE)`);
  }, 300_000);
});
