/**
 * Crash tests for the commands crash.test.ts does not kill: abort (from
 * expanded and from switched), `switch --percent`, `switch --off`, and the
 * whole lifecycle of a code migration (flag only) and of a migration with
 * custom phase functions. Each scenario starts from a template database in
 * the scenario's starting phase; an uninterrupted baseline run records when
 * each curtain transaction commits (probe triggers, see resilience.ts); each
 * trial copies the template, starts the command, SIGKILLs it after a seeded
 * random commit plus a random part of the gap to the next one, reruns the
 * command until it exits 0 (or 4 while the killed session's lock lingers),
 * and compares the catalog, the data and the curtain schema with the
 * baseline's.
 *
 * Env: CRASH_KILLS (trials per scenario, default 3), CRASH_SEED.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schemaFingerprint } from '../../src/testing/catalog.js';
import { migrationSource, tempProject } from '../support/cli.js';
import { serverUrl } from '../support/database.js';
import {
  createDatabase, curtainState, dropDatabase, envInt, installProbe, listenProbe, PROBE_SCHEMA, prng, quietPool, randomDatabaseName, sleep,
  startMigrate, tableContents,
} from '../support/resilience.js';

const KILLS = envInt('CRASH_KILLS', 3);
const SEED = envInt('CRASH_SEED', 20261202);
const GLOBAL = ['--lock-wait', '60s'];
const MAX_RERUNS = 6;

const project = tempProject();
project.write(
  'migrations/20260101000000_multi.ts',
  migrationSource(
    `export default defineMigration({
  flag: 'orders.multi',
  operations: [
    op.addColumn('orders', { name: 'label', type: 'text', up: sql\`customer || '#' || id::text\` }),
    op.renameColumn('orders', 'customer', 'customer_name'),
    op.createIndex('orders', { columns: ['status'] }),
  ],
});`,
    'defineMigration, op, sql',
  ),
);
project.write('migrations/20260102000000_checkout.ts', migrationSource(`export default defineMigration({ flag: 'checkout.v2', description: 'new checkout path' });`));
project.write(
  'migrations/20260103000000_custom.ts',
  migrationSource(`export default defineMigration({
  flag: 'audit.table',
  async expand({ query }) {
    await query('CREATE TABLE audit_log (id bigint PRIMARY KEY, what text NOT NULL)');
    await query("INSERT INTO audit_log SELECT i, 'seed ' || i FROM generate_series(1, 500) i");
  },
  async contract({ query }) { await query('ALTER TABLE audit_log ALTER COLUMN what SET DEFAULT \\'none\\''); },
  async abort({ query }) { await query('DROP TABLE audit_log'); },
});`),
);

const SETUP = `
CREATE TABLE orders (id bigint PRIMARY KEY, customer text NOT NULL DEFAULT 'anon', status text);
INSERT INTO orders SELECT i, 'c' || (i % 97), CASE WHEN i % 3 = 0 THEN 'paid' ELSE 'open' END FROM generate_series(1, 2000) i;
ANALYZE;`;

interface Scenario {
  name: string;
  /** Commands that bring a fresh database to the starting phase. */
  prepare: string[][];
  command: string[];
}

const SCENARIOS: Scenario[] = [
  { name: 'abort from expanded', prepare: [['expand', 'multi', '--batch-size', '50']], command: ['abort', 'multi'] },
  { name: 'abort from switched', prepare: [['expand', 'multi', '--batch-size', '50'], ['switch', 'multi']], command: ['abort', 'multi'] },
  { name: 'switch --percent', prepare: [['expand', 'multi', '--batch-size', '50']], command: ['switch', 'multi', '--percent', '50'] },
  { name: 'switch --off', prepare: [['expand', 'multi', '--batch-size', '50'], ['switch', 'multi']], command: ['switch', 'multi', '--off'] },
  { name: 'code migration: expand', prepare: [], command: ['expand', 'checkout'] },
  { name: 'code migration: switch', prepare: [['expand', 'checkout']], command: ['switch', 'checkout'] },
  { name: 'code migration: contract', prepare: [['expand', 'checkout'], ['switch', 'checkout']], command: ['contract', 'checkout'] },
  { name: 'custom functions: expand', prepare: [], command: ['expand', 'custom'] },
  { name: 'custom functions: contract', prepare: [['expand', 'custom'], ['switch', 'custom']], command: ['contract', 'custom'] },
  { name: 'custom functions: abort', prepare: [['expand', 'custom']], command: ['abort', 'custom'] },
];

const server = () => serverUrl();
const prefix = randomDatabaseName('crashlc');
const created: string[] = [];

async function run(args: string[], url: string) {
  return startMigrate([...GLOBAL, ...args], { cwd: project.dir, databaseUrl: url }).done;
}

/** What must match the uninterrupted run. */
async function state(pool: pg.Pool) {
  const tables = await pool.query(`SELECT to_regclass('public.audit_log') IS NOT NULL AS audit`);
  return {
    fingerprint: await schemaFingerprint(pool, { exclude: ['curtain', 'curtain_snapshots', PROBE_SCHEMA] }),
    curtain: await curtainState(pool),
    orders: await tableContents(pool, 'orders'),
    audit: tables.rows[0].audit ? await tableContents(pool, 'audit_log') : null,
  };
}

let base: string;
beforeAll(async () => {
  base = `${prefix}_base`;
  const url = await createDatabase(server(), base);
  created.push(base);
  const pool = quietPool(url, 1);
  try {
    await pool.query(SETUP);
  } finally {
    await pool.end();
  }
  const r = await run(['status'], url); // creates the curtain schema
  if (r.code !== 0) throw new Error(`status failed: ${r.stderr}`);
  const p2 = quietPool(url, 1);
  try {
    await installProbe(p2);
  } finally {
    await p2.end();
  }
}, 300_000);

afterAll(async () => {
  for (const name of created.reverse()) await dropDatabase(server(), name).catch(() => {});
});

describe.sequential(`SIGKILL during abort, switch --percent/--off, code and custom-function migrations (${KILLS} kills each, seed ${SEED})`, () => {
  SCENARIOS.forEach((scenario, si) => {
    it(`${scenario.name}: every rerun after a kill ends in the uninterrupted run's state`, async () => {
      // The starting phase, as a template.
      const template = `${prefix}_s${si}`;
      const templateUrl = await createDatabase(server(), template, base);
      created.push(template);
      for (const step of scenario.prepare) {
        const r = await run(step, templateUrl);
        if (r.code !== 0) throw new Error(`preparing ${scenario.name}: ${step.join(' ')} exited ${r.code}: ${r.stderr}`);
      }
      // The uninterrupted run and its commit timeline.
      const baselineDb = `${prefix}_s${si}_base`;
      const baselineUrl = await createDatabase(server(), baselineDb, template);
      created.push(baselineDb);
      const probe = await listenProbe(baselineUrl);
      const t0 = performance.now();
      const b = await run(scenario.command, baselineUrl);
      const end = performance.now() - t0;
      await sleep(50);
      await probe.close();
      expect(b.code, b.stderr).toBe(0);
      const timeline = probe.commits.map((c) => c.at - t0);
      const pool = quietPool(baselineUrl, 2);
      const expected = await state(pool);
      await pool.end();

      const problems: string[] = [];
      let killed = 0;
      for (let t = 0; t < KILLS; t++) {
        const rng = prng(SEED ^ (si * 7919 + t * 104_729));
        const k = rng.int(0, timeline.length); // kill after the k-th commit (0: before the first)
        const from = k === 0 ? 0 : timeline[k - 1]!;
        const to = k < timeline.length ? timeline[k]! : end;
        const delay = rng.next() * Math.max(5, to - from);
        const name = `${prefix}_s${si}_t${t}`;
        const url = await createDatabase(server(), name, template);
        const trialProbe = await listenProbe(url);
        try {
          const started = performance.now();
          const cli = startMigrate([...GLOBAL, ...scenario.command], { cwd: project.dir, databaseUrl: url });
          if (k > 0) await Promise.race([trialProbe.waitFor(k), cli.done]);
          const wait = k === 0 ? started + delay - performance.now() : delay;
          if (wait > 0) await Promise.race([sleep(wait), cli.done]);
          if (cli.child.exitCode === null && cli.child.signalCode === null && cli.child.kill('SIGKILL')) killed++;
          const first = await cli.done;
          if (first.signal === null && first.code !== 0) problems.push(`trial ${t}: the run itself failed (${first.code}): ${first.stderr.trim()}`);
          if (first.signal !== null) {
            for (let reruns = 1; ; reruns++) {
              const r = await run(scenario.command, url);
              if (r.code === 0) break;
              if (r.code !== 4) problems.push(`trial ${t} (kill after commit ${k} + ${delay.toFixed(0)} ms): rerun ${reruns} exited ${r.code}: ${r.stderr.trim()}`);
              if (reruns >= MAX_RERUNS) {
                problems.push(`trial ${t}: still failing after ${reruns} reruns`);
                break;
              }
            }
          }
        } finally {
          await trialProbe.close();
        }
        const tp = quietPool(url, 2);
        const got = await state(tp);
        await tp.end();
        for (const key of Object.keys(expected) as (keyof typeof expected)[]) {
          if (JSON.stringify(got[key]) !== JSON.stringify(expected[key])) {
            problems.push(`trial ${t} (kill after commit ${k}/${timeline.length} + ${delay.toFixed(0)} ms): ${key} differs from the uninterrupted run`);
          }
        }
        await dropDatabase(server(), name);
      }
      process.stderr.write(`crash ${scenario.name}: ${KILLS} trials, ${killed} killed mid-run, ${timeline.length} commits in an uninterrupted run\n`);
      expect(problems).toEqual([]);
    }, 900_000);
  });
});
