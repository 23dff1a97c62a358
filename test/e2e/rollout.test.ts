import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/connect.js';
import { BIN, migrate, migrationSource, tempProject, type CliResult } from '../support/cli.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

const fixture = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures/new-path-errors.mjs');

/** `migrate switch <name> --plan ... --every ...`: a flag advanced step by step, stopped and switched off when a stop condition trips. */
describe('rollout plans', () => {
  let tdb: TestDatabase;
  let conn: Database;
  const project = tempProject();
  const children: ChildProcess[] = [];
  const run = (...args: string[]) => migrate(args, { cwd: project.dir, databaseUrl: tdb.url });
  /** The CLI in the background: the test watches the database while it runs. */
  const start = (...args: string[]): { child: ChildProcess; done: Promise<CliResult>; exited(): CliResult | undefined } => {
    const child = spawn(process.execPath, [BIN, '--database-url', tdb.url, ...args], {
      cwd: project.dir,
      env: { ...process.env, NO_COLOR: '1', DATABASE_URL: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    children.push(child);
    let result: CliResult | undefined;
    const done = new Promise<CliResult>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code, signal) => resolve((result = { code, signal, stdout, stderr, json: () => JSON.parse(stdout) })));
    });
    return { child, done, exited: () => result };
  };
  const query = async (text: string, values: unknown[] = []) => (await conn.pool.query(text, values)).rows;
  /** Wait until `probe` returns something truthy: observed state, polled. */
  const waitFor = async <T>(what: string, probe: () => Promise<T | undefined | false | null>, timeoutMs = 30_000): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = await probe();
      if (v) return v;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const rollout = async (m: string) => (await query(`SELECT * FROM curtain.rollouts WHERE migration LIKE '%' || $1`, [m]))[0];
  /** The runner's end; past `timeoutMs` it is killed and its output shown. */
  const finished = async (runner: { child: ChildProcess; done: Promise<CliResult> }, timeoutMs = 60_000): Promise<CliResult> => {
    let late = false;
    const timer = setTimeout(() => {
      late = true;
      runner.child.kill('SIGKILL');
    }, timeoutMs);
    const r = await runner.done;
    clearTimeout(timer);
    if (late) throw new Error(`the runner did not end in ${timeoutMs} ms: ${r.stderr}`);
    return r;
  };
  /** Wait for the rollout of `m` to reach `step`; fails at once, with its output, when the runner exits first. */
  const atStep = (m: string, step: number, runner: { exited(): CliResult | undefined }) => waitFor(`${m} at step ${step}`, async () => {
    const exited = runner.exited();
    if (exited) throw new Error(`the runner exited ${exited.code}: ${exited.stderr}`);
    const r = await rollout(m);
    return r && r.status === 'running' && r.step >= step ? r : undefined;
  });
  const flag = async (key: string) => (await query(`SELECT enabled, rollout, subjects FROM curtain.flags WHERE key = $1`, [key]))[0];
  const reasons = async (key: string) => (await query(`SELECT reason FROM curtain.flag_events WHERE key = $1 ORDER BY id`, [key])).map((r) => r.reason as string);
  const phase = async (m: string) => (await query(`SELECT phase FROM curtain.migrations WHERE name LIKE '%' || $1`, [m]))[0].phase;

  beforeAll(async () => {
    tdb = await createTestDatabase('rollout');
    conn = await tdb.connect();
    await conn.pool.query(`CREATE TABLE alarms (id serial PRIMARY KEY, what text)`);
    for (const [i, m] of ['complete', 'errors', 'check', 'broken', 'resume', 'verify'].entries()) {
      await conn.pool.query(`CREATE TABLE t_${m} (id int PRIMARY KEY, email text); INSERT INTO t_${m} SELECT i, 'u' || i FROM generate_series(1, 20) i`);
      project.write(
        `migrations/2026010100000${i}_${m}.ts`,
        migrationSource(`export default defineMigration({ flag: 'rollout.${m}', operations: [op.renameColumn('t_${m}', 'email', 'email_address')] });`, 'defineMigration, op'),
      );
    }
    const r = await run('expand');
    expect(r.code, r.stderr).toBe(0);
  });
  afterAll(async () => {
    // A runner left by a failed assertion must not outlive the file.
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await tdb.drop();
  });

  it('runs a plan with a targeting step to 100 %, audited step by step; status shows it completed; a rerun is a no-op', async () => {
    const r = await run('switch', 'complete', '--for', 'user:42', '--plan', '10,100', '--every', '1s');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/complete: rollout completed: --for user:42 \(0 %\) → 10 % → 100 %/);
    expect(await flag('rollout.complete')).toEqual({ enabled: true, rollout: 100, subjects: ['user:42'] });
    expect((await reasons('rollout.complete')).filter((x) => x?.startsWith('rollout'))).toEqual([
      'rollout step 1/3: --for user:42 (0 %)',
      'rollout step 2/3: 10 %',
      'rollout step 3/3: 100 %',
    ]);
    // The first step went through the normal switch: phase switched, snapshot taken (off → on), once.
    expect(await phase('complete')).toBe('switched');
    const snapshots = await query(`SELECT count(*)::int AS n FROM curtain.snapshots WHERE reason LIKE '%complete%'`);
    expect(snapshots[0].n).toBe(1);
    expect(await rollout('complete')).toMatchObject({ status: 'completed', step: 2, steps: [0, 10, 100], next_at: null });

    const status = await run('status', '--json');
    const item = status.json().migrations.find((m: { name: string }) => m.name.endsWith('complete'));
    expect(item.rollout).toMatchObject({ status: 'completed', step: 3, of: 3, plan: '--plan 10,100 --every 1s --for user:42' });
    expect((await run('status')).stdout).toMatch(/complete: completed .* ago \(--plan 10,100 --every 1s --for user:42\)/);

    const again = await run('switch', 'complete', '--for', 'user:42', '--plan', '10,100', '--every', '1s');
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/completed already/);
    expect((await reasons('rollout.complete')).filter((x) => x?.startsWith('rollout'))).toHaveLength(3);
  });

  it('stops when a client reports errors on the new path only: flag off, phase expanded, the audit says why, exit 3', async () => {
    const runner = start('switch', 'errors', '--plan', '50,100', '--every', '1h', '--poll', '100ms');
    await atStep('errors', 0, runner);
    expect(await flag('rollout.errors')).toMatchObject({ enabled: true, rollout: 50 });
    // While it runs, status shows the plan, the step and the next one.
    const status = await run('status', '--json');
    expect(status.json().migrations.find((m: { name: string }) => m.name.endsWith('errors')).rollout).toMatchObject({ status: 'running', step: 1, of: 2, current: '50 %', next: '100 %' });
    expect((await run('status')).stdout).toMatch(/errors: running, step 1\/2 \(50 %\), next 100 % in \d+m \d+s/);

    const client = spawn(process.execPath, [fixture, tdb.url, 'rollout.errors', '200'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    client.stdout.on('data', (d) => (out += d));
    await new Promise((resolve) => client.on('close', resolve));
    expect(out).toMatch(/^done \d+/);

    const r = await finished(runner);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toMatch(/rollout of \S+errors stopped at step 1\/2 \(50 %\): the new path's error rate 100\.0 % \(\d+ errors in \d+ evaluations\) is above the old path's 0\.00 %/);
    expect(r.stderr).not.toMatch(/at .*\.js:\d+/); // no stack
    expect(await flag('rollout.errors')).toMatchObject({ enabled: false });
    expect(await phase('errors')).toBe('expanded');
    const row = await rollout('errors');
    expect(row).toMatchObject({ status: 'stopped', step: 0 });
    expect(row.stop_reason).toMatch(/the new path's error rate/);
    expect((await reasons('rollout.errors')).at(-1)).toMatch(/^rollout stopped at step 1\/2 \(50 %\): the new path's error rate/);
    expect((await run('status')).stdout).toMatch(/errors: stopped at step 1\/2 \(50 %\): the new path's error rate/);
    const timeline = await run('status', 'errors', '--json');
    expect(timeline.json().rollout).toMatchObject({ status: 'stopped', step: 1, of: 2, current: '50 %', next: null });
    expect(timeline.json().rollout.stopReason).toMatch(/the new path's error rate/);

    // Started again once fixed: the errors from before its start do not count, and the plan starts from its first step.
    const again = await run('switch', 'errors', '--plan', '50,100', '--every', '1s', '--poll', '100ms');
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/rollout completed: 50 % → 100 %/);
    expect(await flag('rollout.errors')).toMatchObject({ enabled: true, rollout: 100 });
  });

  it('stops when --check returns false', async () => {
    const runner = start('switch', 'check', '--plan', '10,100', '--every', '1h', '--poll', '100ms', '--check', 'SELECT NOT EXISTS (SELECT 1 FROM alarms)');
    await atStep('check', 0, runner);
    await conn.pool.query(`INSERT INTO alarms (what) VALUES ('p99 latency')`);
    const r = await finished(runner);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toMatch(/stopped at step 1\/2 \(10 %\): --check returned false; flag rollout\.check is off again/);
    expect(await flag('rollout.check')).toMatchObject({ enabled: false });
    expect(await rollout('check')).toMatchObject({ status: 'stopped', stop_reason: '--check returned false' });
    expect((await reasons('rollout.check')).at(-1)).toBe('rollout stopped at step 1/2 (10 %): --check returned false');
    // A check that is false before the first step refuses up front (exit 3), like a broken one (exit 2).
    const refused = await run('switch', 'check', '--plan', '10,100', '--every', '1h', '--check', 'SELECT NOT EXISTS (SELECT 1 FROM alarms)');
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/--check returned false before the first step; nothing was changed/);
    await conn.pool.query(`DELETE FROM alarms`);
  });

  it('refuses a broken --check before anything changes', async () => {
    const events = await reasons('rollout.broken');
    const snapshots = (await query(`SELECT count(*)::int AS n FROM curtain.snapshots`))[0].n;
    for (const [check, message] of [
      ['SELECT FROM no_such_table', /--check failed: relation "no_such_table" does not exist; nothing was changed/],
      ['SELECT 1', /--check returned 1, not a boolean; nothing was changed/],
      ['SELECT true; DELETE FROM alarms', /--check failed: cannot insert multiple commands into a prepared statement/],
    ] as const) {
      const r = await run('switch', 'broken', '--plan', '10,100', '--every', '1s', '--check', check);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/at .*\.js:\d+/);
    }
    expect(await flag('rollout.broken')).toMatchObject({ enabled: false });
    expect(await reasons('rollout.broken')).toEqual(events);
    expect(await rollout('broken')).toBeUndefined();
    expect(await phase('broken')).toBe('expanded');
    expect((await query(`SELECT count(*)::int AS n FROM curtain.snapshots`))[0].n).toBe(snapshots);
    // Plans that make no sense are usage errors too.
    for (const bad of [['--plan', '10,5', '--every', '1s'], ['--plan', '0,100', '--every', '1s'], ['--plan', '10,100'], ['--plan', '10', '--every', '1s', '--percent', '5']]) {
      const r = await run('switch', 'broken', ...bad);
      expect(r.code, r.stderr).toBe(2);
    }
  });

  it('keeps a second runner out, refuses another plan and hand switches while running, is cancelled by --off, and resumes at its step after SIGKILL', async () => {
    const first = start('switch', 'resume', '--plan', '10,50,100', '--every', '1h', '--poll', '100ms');
    await atStep('resume', 0, first);
    const second = await run('switch', 'resume', '--plan', '10,50,100', '--every', '1h');
    expect(second.code).toBe(4);
    expect(second.stderr).toMatch(/another process is running the rollout of \S+resume \(rollout \S+resume \(pid \d+/);
    const other = await run('switch', 'resume', '--plan', '20,100', '--every', '1h');
    expect(other.code).toBe(2);
    expect(other.stderr).toMatch(/a rollout of \S+resume is running with another plan: --plan 10,50,100 --every 1h \(at step 1\/3, 10 %\)/);
    expect(other.stderr).toMatch(/hint: .*migrate switch \S+resume --off/);
    const hand = await run('switch', 'resume', '--percent', '30');
    expect(hand.code).toBe(2);
    expect(hand.stderr).toMatch(/a rollout of \S+resume is running/);

    const off = await run('switch', 'resume', '--off');
    expect(off.code, off.stderr).toBe(0);
    expect(off.stdout).toMatch(/rollout plan of \S+resume is cancelled/);
    const cancelled = await finished(first);
    expect(cancelled.code).toBe(1);
    expect(cancelled.stderr).toMatch(/rollout of \S+resume was cancelled: cancelled by /);
    expect(await rollout('resume')).toMatchObject({ status: 'cancelled' });
    expect(await flag('rollout.resume')).toMatchObject({ enabled: false });

    // A new rollout, killed after its first step.
    const killed = start('switch', 'resume', '--plan', '10,50,100', '--every', '2s', '--poll', '100ms');
    const before = await atStep('resume', 0, killed);
    killed.child.kill('SIGKILL');
    await killed.done;
    // Its runner lock went with its session.
    await waitFor('the killed runner session to end', async () => (await query(`SELECT 1 FROM pg_stat_activity WHERE application_name LIKE 'curtain: rollout%'`)).length === 0);
    const at = (await rollout('resume')).step as number;

    const resumed = await run('switch', 'resume', '--plan', '10,50,100', '--every', '2s', '--poll', '100ms');
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(new RegExp(`resuming the rollout at step ${at + 1}/3`));
    const after = await rollout('resume');
    expect(after).toMatchObject({ status: 'completed', step: 2 });
    expect(after.started_at).toEqual(before.started_at);
    // Each step applied exactly once across both runs.
    const steps = (await query(`SELECT reason FROM curtain.flag_events WHERE key = 'rollout.resume' AND at >= $1 ORDER BY id`, [after.started_at])).map((x) => x.reason);
    expect(steps).toEqual(['rollout step 1/3: 10 %', 'rollout step 2/3: 50 %', 'rollout step 3/3: 100 %']);
    expect(await flag('rollout.resume')).toMatchObject({ enabled: true, rollout: 100 });
  });

  it('stops when rows of a derived column drift from up(old) more than at the start', async () => {
    const runner = start('switch', 'verify', '--plan', '10,100', '--every', '1h', '--poll', '100ms');
    await atStep('verify', 0, runner);
    // A writer that bypasses the dual-write trigger.
    await conn.pool.query(`ALTER TABLE t_verify DISABLE TRIGGER USER; UPDATE t_verify SET email_address = 'drifted' WHERE id <= 3; ALTER TABLE t_verify ENABLE TRIGGER USER`);
    const r = await finished(runner);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toMatch(/verification: 3 row\(s\) where the new side differs from up\(old side\), 0 when the rollout started/);
    expect(await flag('rollout.verify')).toMatchObject({ enabled: false });
  });
});
