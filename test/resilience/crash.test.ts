/**
 * Crash tests: the CLI is killed with SIGKILL at seeded random points of
 * expand, switch and contract of a multi-operation migration, while
 * concurrent writers keep writing; the same command is rerun until it exits
 * 0, and the final state must equal an uninterrupted run's.
 *
 * Kill points. Probe triggers on the curtain tables (migrations, steps,
 * backfill_checkpoints, flags, snapshots) NOTIFY once per committed curtain
 * transaction: every step group, every backfill batch (batch size 50, so a
 * few thousand rows make ~50 batches), every phase change, every automatic
 * snapshot. An uninterrupted baseline run of each phase records that
 * timeline: commit i at time t_i after spawn, and whether it was a batch.
 * Each trial draws from a seeded PRNG (CRASH_SEED): with probability 1/2 a
 * backfill batch (when the phase has any), else one of the other points —
 * "before the first commit" or one of the non-batch commits — so the few
 * DDL/bookkeeping statements are hit as often as the many batches. It then
 * kills after the chosen k-th commit was announced plus a uniform delay in
 * [0, t_{k+1} - t_k] of the baseline (for k = 0: a uniform delay in [0, t_1]
 * after spawn), i.e. at a random moment inside whatever runs next: start-up
 * and planning, a transactional step group, CREATE INDEX CONCURRENTLY, a
 * snapshot, a batch, the verification, the final phase change.
 *
 * Each trial runs on its own copy of a seeded template database
 * (`CREATE DATABASE trial TEMPLATE seeded`): pending for expand, expanded for
 * switch, switched for contract.
 *
 * What must hold after the reruns (compared with the uninterrupted run):
 * - the catalog (schemaFingerprint, user schemas);
 * - the data of every row the writers did not touch (both tables, all columns);
 * - the curtain schema (migrations rows incl. the stored plan and phase,
 *   flags, tombstones, recorded steps, checkpoints done, event and flag-audit
 *   sequences; see curtainState for what is normalised away);
 * - every write the writers got an acknowledgement for is present, and the
 *   row is consistent in both representations (old and new columns) while
 *   both exist; no row the writers did not insert appeared;
 * - no writer statement failed, and every rerun exited 0 (or 4: the killed
 *   process's session still held the migrate lock).
 * Reported, not failed: trials where a kill between the automatic snapshot
 * and the switch/contract commit made the rerun take a second snapshot.
 *
 * Writers: expand trials run an old-code writer; switch trials an old-code
 * writer and a new-code writer that takes the new path only once its flags
 * client sees the flag on; contract trials a new-code writer. Each owns the
 * rows of its parity (seeded rows it updates, rows it inserts above 1e6).
 *
 * Env: CRASH_TRIALS (default 15 per phase; 100 for a deep run), CRASH_SEED, CRASH_CONCURRENCY
 * (trials run in parallel, default 3), RESILIENCE_FULL=1 (larger tables).
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFlags, type FlagsClient } from '../../src/flags/client.js';
import { schemaFingerprint } from '../../src/testing/catalog.js';
import { migrationSource, tempProject } from '../support/cli.js';
import { serverUrl } from '../support/database.js';
import {
  createDatabase, curtainState, dropDatabase, envInt, FULL, installProbe, listenProbe, PROBE_SCHEMA, prng, randomDatabaseName, sleep,
  quietPool, snapshotCount, startMigrate, tableContents,
} from '../support/resilience.js';

const TRIALS = envInt('CRASH_TRIALS', 15);
const SEED = envInt('CRASH_SEED', 20261125);
const CONCURRENCY = envInt('CRASH_CONCURRENCY', 3);
const ORDERS = FULL ? 20_000 : 2_000;
const CUSTOMERS = FULL ? 5_000 : 500;
const BATCH = 50;
/** Smallest window after a commit in which the kill lands. */
const KILL_JITTER_MS = 5;
const WRITER_BASE = 1_000_000;
const MAX_RERUNS = 6;

type Phase = 'expand' | 'switch' | 'contract';
const PHASES: Phase[] = ['expand', 'switch', 'contract'];
const COMMAND: Record<Phase, string[]> = {
  expand: ['expand', 'multi', '--batch-size', String(BATCH)],
  switch: ['switch', 'multi'],
  contract: ['contract', 'multi'],
};
// Old code runs until the flag is fully on; new code from switch on.
const WRITERS: Record<Phase, ('old' | 'new')[]> = { expand: ['old'], switch: ['old', 'new'], contract: ['new'] };
const GLOBAL = ['--lock-wait', '60s'];

const MIGRATION = migrationSource(
  `export default defineMigration({
  flag: 'orders.multi',
  description: 'label, customer -> customer_name, total -> amount bigint, status index, customers.name_upper',
  operations: [
    op.addColumn('orders', { name: 'label', type: 'text', up: sql\`customer || '#' || id::text\` }),
    op.renameColumn('orders', 'customer', 'customer_name'),
    op.alterColumn('orders', 'total', { type: 'bigint', name: 'amount', up: sql\`total::bigint\`, down: sql\`amount::integer\` }),
    op.createIndex('orders', { columns: ['status'] }),
    op.addColumn('customers', { name: 'name_upper', type: 'text', up: sql\`upper(name)\` }),
  ],
});`,
  'defineMigration, op, sql',
);

const SETUP = `
CREATE TABLE orders (id bigint PRIMARY KEY, customer text NOT NULL DEFAULT 'anon', total integer, status text);
CREATE TABLE customers (id bigint PRIMARY KEY, name text);
INSERT INTO orders SELECT i, 'c' || (i % 97), CASE WHEN i % 11 = 0 THEN NULL ELSE i * 3 END, CASE WHEN i % 3 = 0 THEN 'paid' ELSE 'open' END
  FROM generate_series(1, ${ORDERS}) i;
INSERT INTO customers SELECT i, CASE WHEN i % 13 = 0 THEN NULL ELSE 'name ' || i END FROM generate_series(1, ${CUSTOMERS}) i;
ANALYZE;
`;

interface Snapshot {
  fingerprint: Record<string, string[]>;
  curtain: Record<string, unknown>;
  customers: Record<string, unknown>[];
}

interface Baseline extends Snapshot {
  /** Committed curtain transactions of the uninterrupted run. */
  events: number;
  /** ms after spawn of each commit, and whether it was a backfill batch; `end` = when the process exited. */
  timeline: { at: number; batch: boolean }[];
  end: number;
  template: string;
  /** orders rows by id (the uninterrupted run's final state). */
  orders: Map<number, Record<string, unknown>>;
  snapshots: number;
}

const project = tempProject();
project.write('migrations/20260101000000_multi.ts', MIGRATION);
const server = () => serverUrl();
const prefix = randomDatabaseName('crash');
const created: string[] = [];
const baselines = {} as Record<Phase, Baseline>;

async function snapshot(pool: pg.Pool): Promise<Snapshot> {
  return {
    fingerprint: await schemaFingerprint(pool, { exclude: ['curtain', 'curtain_snapshots', PROBE_SCHEMA] }),
    curtain: await curtainState(pool),
    customers: await tableContents(pool, 'customers'),
  };
}

async function runToCompletion(args: string[], url: string): Promise<{ code: number | null; stderr: string; ms: number }> {
  return startMigrate([...GLOBAL, ...args], { cwd: project.dir, databaseUrl: url }).done;
}

beforeAll(async () => {
  // pending (template for expand) → expanded (for switch) → switched (for contract) → contracted.
  let template = `${prefix}_pending`;
  let url = await createDatabase(server(), template);
  created.push(template);
  await adminSetup(url);
  for (const phase of PHASES) {
    const next = `${prefix}_${phase}_done`;
    const nextUrl = await createDatabase(server(), next, template);
    created.push(next);
    const probe = await listenProbe(nextUrl);
    const t0 = performance.now();
    const r = await runToCompletion(COMMAND[phase], nextUrl);
    const end = performance.now() - t0;
    await sleep(50); // let the last notifications arrive
    await probe.close();
    if (r.code !== 0) throw new Error(`uninterrupted ${phase} failed (${r.code}): ${r.stderr}`);
    const pool = quietPool(nextUrl, 2);
    const orders = await tableContents(pool, 'orders');
    baselines[phase] = {
      ...(await snapshot(pool)),
      events: probe.count,
      timeline: probe.commits.map((c) => ({ at: c.at - t0, batch: c.batch })),
      end,
      template,
      orders: new Map(orders.map((o) => [Number(o.id), o])),
      snapshots: await snapshotCount(pool),
    };
    await pool.end();
    template = next;
    url = nextUrl;
  }
}, 300_000);

afterAll(async () => {
  for (const name of created.reverse()) await dropDatabase(server(), name).catch(() => {});
});

async function adminSetup(url: string): Promise<void> {
  const pool = quietPool(url, 1);
  try {
    await pool.query(SETUP);
  } finally {
    await pool.end();
  }
  // Create the curtain schema through the CLI, then add the probe triggers to it.
  const r = await runToCompletion(['status'], url);
  if (r.code !== 0) throw new Error(`status failed: ${r.stderr}`);
  const p2 = quietPool(url, 1);
  try {
    await installProbe(p2);
  } finally {
    await p2.end();
  }
}

/** What a writer wrote last to a row (its own representation). */
interface Written {
  by: 'old' | 'new';
  customer: string;
  total: number | null;
  /** Written by new code; old code's label is derived (customer#id). */
  label?: string;
}

/**
 * A writer: its own connection, single-statement autocommit writes on rows
 * it owns (ids of its parity), logging a write only once acknowledged.
 */
function startWriter(url: string, side: 'old' | 'new', parity: number, seed: number) {
  const rng = prng(seed);
  // New code takes the new path only where the flag is on (it is off until switch commits).
  let flags: FlagsClient | undefined;
  const log = new Map<number, Written>();
  const inserted = new Set<number>();
  const errors: string[] = [];
  let stop = false;
  let writes = 0;
  const client = new pg.Client({ connectionString: url });
  client.on('error', (e) => errors.push(`${side} writer connection: ${e.message}`));
  const loop = (async () => {
    await client.connect();
    if (side === 'new') flags = await createFlags({ connectionString: url, telemetry: false, pollIntervalMs: 200, logger: { warn() {} } });
    let next = 0;
    while (!stop) {
      const action = rng.int(0, 9);
      let id: number;
      let insert = false;
      if (action < 3 || inserted.size === 0) {
        id = WRITER_BASE + 2 * next++ + parity;
        insert = true;
      } else if (action < 6) {
        id = [...inserted][rng.int(0, inserted.size - 1)]!;
      } else {
        id = 2 * rng.int(1, Math.floor(ORDERS / 2) - 1) + parity;
      }
      const path = side === 'new' && flags?.isEnabled('orders.multi') ? 'new' : 'old';
      const w: Written = { by: path, customer: `${side}-${writes}-${rng.int(0, 999)}`, total: rng.int(0, 9) === 0 ? null : rng.int(-50_000, 50_000) };
      if (path === 'new') w.label = `L${rng.int(0, 99_999)}`;
      try {
        if (path === 'old') {
          if (insert) await client.query(`INSERT INTO orders (id, customer, total, status) VALUES ($1, $2, $3, 'w')`, [id, w.customer, w.total]);
          else await client.query(`UPDATE orders SET customer = $2, total = $3 WHERE id = $1`, [id, w.customer, w.total]);
        } else {
          if (insert) {
            await client.query(`INSERT INTO orders (id, customer_name, amount, label, status) VALUES ($1, $2, $3, $4, 'w')`, [id, w.customer, w.total, w.label]);
          } else await client.query(`UPDATE orders SET customer_name = $2, amount = $3, label = $4 WHERE id = $1`, [id, w.customer, w.total, w.label]);
        }
        if (insert) inserted.add(id);
        log.set(id, w);
        writes++;
      } catch (err) {
        errors.push(`${side} ${insert ? 'insert' : 'update'} of ${id}: ${(err as Error).message}`);
        if (errors.length > 20) break;
      }
      await sleep(rng.int(1, 6));
    }
  })();
  return {
    log,
    inserted,
    errors,
    get writes() {
      return writes;
    },
    async stop() {
      stop = true;
      await loop.catch((e: Error) => errors.push(`${side} writer: ${e.message}`));
      await flags?.close();
      await client.end().catch(() => {});
    },
  };
}

interface TrialResult {
  trial: number;
  killedAt: string;
  killed: boolean;
  reruns: number;
  writes: number;
  /** Snapshots beyond the uninterrupted run's (taken by a killed run, then again by the rerun). */
  extraSnapshots: number;
  problems: string[];
}

async function trial(phase: Phase, index: number): Promise<TrialResult> {
  const base = baselines[phase];
  const rng = prng(SEED ^ (PHASES.indexOf(phase) * 7919 + index * 104_729));
  // k: kill after the k-th commit (0: before the first). Half the trials hit a batch, half the other points.
  const batches = base.timeline.flatMap((c, i) => (c.batch ? [i + 1] : []));
  const others = [0, ...base.timeline.flatMap((c, i) => (c.batch ? [] : [i + 1]))];
  const k = batches.length > 0 && rng.next() < 0.5 ? rng.pick(batches) : rng.pick(others);
  const from = k === 0 ? 0 : base.timeline[k - 1]!.at;
  const to = k < base.timeline.length ? base.timeline[k]!.at : base.end;
  const delay = rng.next() * Math.max(KILL_JITTER_MS, to - from);
  const killedAt = k === 0 ? `${delay.toFixed(0)} ms after spawn` : `commit ${k}/${base.events}${base.timeline[k - 1]!.batch ? ' (batch)' : ''} + ${delay.toFixed(1)} ms`;
  const name = `${prefix}_${phase}_t${index}`;
  const url = await createDatabase(server(), name, base.template);
  const problems: string[] = [];
  const probe = await listenProbe(url);
  const writers = WRITERS[phase].map((side, i) => startWriter(url, side, i % 2, rng.int(1, 2 ** 30)));
  let killed = false;
  let reruns = 0;
  let extraSnapshots = 0;
  try {
    await sleep(20); // writers are writing before the command starts
    const t0 = performance.now();
    const cli = startMigrate([...GLOBAL, ...COMMAND[phase]], { cwd: project.dir, databaseUrl: url });
    const kill = (async () => {
      if (k > 0) await Promise.race([probe.waitFor(k), cli.done]);
      const wait = k === 0 ? t0 + delay - performance.now() : delay;
      if (wait > 0) await Promise.race([sleep(wait), cli.done]);
      if (cli.child.exitCode === null && cli.child.signalCode === null) killed = cli.child.kill('SIGKILL');
    })();
    const first = await cli.done;
    await kill;
    if (first.signal === null && first.code !== 0) problems.push(`the interrupted run itself failed (exit ${first.code}): ${first.stderr.trim()}`);
    if (first.signal !== null || first.code !== 0) {
      for (;;) {
        reruns++;
        const r = await runToCompletion(COMMAND[phase], url);
        if (r.code === 0) break;
        if (r.code !== 4) problems.push(`rerun ${reruns} exited ${r.code}: ${r.stderr.trim()}`);
        if (reruns >= MAX_RERUNS) {
          problems.push(`still failing after ${reruns} reruns`);
          break;
        }
      }
    }
    await sleep(20); // writes after the command finished, too
  } finally {
    await Promise.all(writers.map((w) => w.stop()));
    await probe.close();
  }

  const pool = quietPool(url, 2);
  try {
    for (const w of writers) problems.push(...w.errors.map((e) => `writer error: ${e}`));
    const after = await snapshot(pool);
    extraSnapshots = (await snapshotCount(pool)) - base.snapshots;
    if (extraSnapshots < 0) problems.push(`${-extraSnapshots} automatic snapshot(s) missing`);
    const diff = (what: string, a: unknown, b: unknown) => {
      if (JSON.stringify(a) !== JSON.stringify(b)) problems.push(`${what} differs from the uninterrupted run:\n${firstDifference(a, b)}`);
    };
    diff('catalog', after.fingerprint, base.fingerprint);
    diff('curtain schema', after.curtain, base.curtain);
    diff('customers', after.customers, base.customers);

    const written = new Map<number, Written>();
    for (const w of writers) for (const [id, v] of w.log) written.set(id, v);
    const rows = await tableContents(pool, 'orders');
    const seen = new Set<number>();
    for (const row of rows) {
      const id = Number(row.id);
      seen.add(id);
      const w = written.get(id);
      if (w) {
        checkWritten(phase, id, row, w, problems);
        continue;
      }
      if (id >= WRITER_BASE) {
        problems.push(`row ${id} exists but no writer acknowledged inserting it`);
        continue;
      }
      const expected = base.orders.get(id);
      if (JSON.stringify(row) !== JSON.stringify(expected)) problems.push(`orders row ${id}: ${JSON.stringify(row)} ≠ uninterrupted ${JSON.stringify(expected)}`);
    }
    for (const id of written.keys()) if (!seen.has(id)) problems.push(`acknowledged write of row ${id} was lost (row missing)`);
    for (const id of base.orders.keys()) if (!seen.has(id)) problems.push(`row ${id} of the seeded data disappeared`);
  } finally {
    await pool.end();
  }
  await dropDatabase(server(), name);
  return { trial: index, killedAt, killed, reruns, writes: writers.reduce((n, w) => n + w.writes, 0), extraSnapshots, problems: problems.slice(0, 10) };
}

/** The row in the final representation(s) of `phase` holds the last acknowledged write, on both sides while both exist. */
function checkWritten(phase: Phase, id: number, row: Record<string, unknown>, w: Written, problems: string[]): void {
  const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
  const label = w.label ?? `${w.customer}#${id}`;
  const expected: Record<string, unknown> = { customer_name: w.customer, amount: w.total, label };
  if (phase !== 'contract') Object.assign(expected, { customer: w.customer, total: w.total });
  const actual: Record<string, unknown> = { customer_name: row.customer_name, amount: num(row.amount), label: row.label };
  if (phase !== 'contract') Object.assign(actual, { customer: row.customer, total: num(row.total) });
  if (phase === 'contract' && ('customer' in row || 'total' in row)) problems.push(`row ${id}: old columns still exist after contract`);
  if (JSON.stringify(actual) !== JSON.stringify(expected)) {
    problems.push(`row ${id} (last written by ${w.by} code): ${JSON.stringify(actual)} ≠ acknowledged ${JSON.stringify(expected)}`);
  }
}

function firstDifference(a: unknown, b: unknown, path = ''): string {
  if (JSON.stringify(a) === JSON.stringify(b)) return '';
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const keys = new Set([...Object.keys(a as object), ...Object.keys(b as object)]);
    for (const k of keys) {
      const d = firstDifference((a as any)[k], (b as any)[k], `${path}.${k}`);
      if (d) return d;
    }
  }
  return `  at ${path || '(root)'}: got ${JSON.stringify(a)?.slice(0, 400)}, uninterrupted run has ${JSON.stringify(b)?.slice(0, 400)}`;
}

async function runTrials(phase: Phase): Promise<TrialResult[]> {
  const results: TrialResult[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.max(1, CONCURRENCY) }, async () => {
      while (next < TRIALS) results.push(await trial(phase, next++));
    }),
  );
  return results.sort((a, b) => a.trial - b.trial);
}

describe.sequential(`SIGKILL at random points (${TRIALS} trials per phase, seed ${SEED}, ${ORDERS} orders, batches of ${BATCH})`, () => {
  for (const phase of PHASES) {
    it(`${phase}: a rerun after a kill ends in the uninterrupted run's state, and no acknowledged write is lost`, async () => {
      const results = await runTrials(phase);
      const failed = results.filter((r) => r.problems.length > 0);
      const killed = results.filter((r) => r.killed).length;
      process.stderr.write(
        `crash ${phase}: ${results.length} trials, ${killed} killed mid-run (${results.filter((r) => r.killedAt.includes('(batch)')).length} after a batch), ` +
          `kill points: ${results.map((r) => r.killedAt.replace(/ \+ .*| ms after spawn/, (m) => (m.startsWith(' +') ? '' : 'ms'))).join('; ')}; ` +
          `${results.reduce((n, r) => n + r.writes, 0)} concurrent writes, ` +
          `${baselines[phase].events} commits in an uninterrupted run, ` +
          `${results.filter((r) => r.extraSnapshots > 0).length} trial(s) left an extra automatic snapshot\n`,
      );
      expect(
        failed.map((r) => `trial ${r.trial} (seed ${SEED}, killed at ${r.killedAt}, ${r.reruns} reruns):\n  ${r.problems.join('\n  ')}`),
      ).toEqual([]);
      expect(results).toHaveLength(TRIALS);
      // The test must actually interrupt runs: most kill points fall inside the run.
      expect(killed).toBeGreaterThanOrEqual(Math.ceil(TRIALS / 3));
      // Writers were really writing during the trials.
      expect(results.every((r) => r.writes > 0)).toBe(true);
    }, 900_000);
  }
});
