/**
 * Helpers for the resilience tests (crash, load, faults): a seeded PRNG,
 * template databases, a killable CLI process, kill-point probes, and
 * normalised views of the data and of the curtain schema for comparisons.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { quoteIdent } from '../../src/db/identifiers.js';
import { BIN } from './cli.js';

/** mulberry32: a small seeded PRNG, so a failing trial can be replayed with the same seed. */
export function prng(seed: number): { next(): number; int(lo: number, hi: number): number; pick<T>(xs: readonly T[]): T } {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    /** Integer in [lo, hi]. */
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: (xs) => xs[Math.floor(next() * xs.length)]!,
  };
}

/** Run one statement on `url` with a short-lived client. */
export async function adminQuery(url: string, sql: string, values: unknown[] = []): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => {});
  await client.connect();
  try {
    return await client.query(sql, values);
  } finally {
    await client.end().catch(() => {});
  }
}

/** The URL of database `name` on the server of `serverUrl`. */
export function databaseUrl(serverUrl: string, name: string): string {
  const u = new URL(serverUrl);
  u.pathname = `/${name}`;
  return u.toString();
}

/** A random database name with a prefix. */
export function randomDatabaseName(prefix: string): string {
  return `curtain_${prefix}_${randomBytes(4).toString('hex')}`;
}

/**
 * `CREATE DATABASE name [TEMPLATE template]`. Retries while the template is
 * still being left by the backends of a process that just ended.
 */
export async function createDatabase(serverUrl: string, name: string, template?: string): Promise<string> {
  const sql = `CREATE DATABASE ${quoteIdent(name)}${template ? ` TEMPLATE ${quoteIdent(template)}` : ''}`;
  for (let attempt = 0; ; attempt++) {
    try {
      await adminQuery(serverUrl, sql);
      return databaseUrl(serverUrl, name);
    } catch (err) {
      // 55006: source database is being accessed by other users
      if ((err as { code?: string }).code !== '55006' || attempt >= 20) throw err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

export async function dropDatabase(serverUrl: string, name: string): Promise<void> {
  await adminQuery(serverUrl, `DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
}

/** A running CLI process. */
export interface RunningCli {
  child: ChildProcess;
  /** Resolves when the process ended (normally or killed). */
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string; ms: number }>;
  readonly stderr: string;
}

/** Start `migrate --database-url url ...args` as a child process (killable). */
export function startMigrate(args: string[], options: { cwd: string; databaseUrl: string; env?: Record<string, string> }): RunningCli {
  const started = performance.now();
  const child = spawn(process.execPath, [BIN, '--database-url', options.databaseUrl, ...args], {
    cwd: options.cwd,
    env: { ...process.env, NO_COLOR: '1', DATABASE_URL: '', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string; ms: number }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr, ms: performance.now() - started }));
  });
  return {
    child,
    done,
    get stderr() {
      return stderr;
    },
  };
}

export const PROBE_SCHEMA = 'resilience_probe';
export const PROBE_CHANNEL = 'resilience_probe';

/**
 * Install statement-level triggers on the curtain tables that announce every
 * committed curtain transaction (step group, backfill batch, phase change,
 * flag change, automatic snapshot) with NOTIFY, payload `<txid>:<table>`, and log every checkpoint write.
 * The kill points of the crash test are counted in these events. The probe
 * lives in its own schema (excluded from catalog comparisons).
 */
export async function installProbe(q: pg.ClientBase | pg.Pool, curtainSchema = 'curtain'): Promise<void> {
  const s = quoteIdent(curtainSchema);
  const p = quoteIdent(PROBE_SCHEMA);
  await q.query(`
    CREATE SCHEMA IF NOT EXISTS ${p};
    CREATE TABLE IF NOT EXISTS ${p}.checkpoint_log (id bigserial PRIMARY KEY, table_name text, rows_done bigint, last_key jsonb, done boolean);
    CREATE OR REPLACE FUNCTION ${p}.announce() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM pg_notify('${PROBE_CHANNEL}', txid_current()::text || ':' || TG_TABLE_NAME);
      RETURN NULL;
    END $$;
    CREATE OR REPLACE FUNCTION ${p}.log_checkpoint() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO ${p}.checkpoint_log (table_name, rows_done, last_key, done) VALUES (NEW.table_name, NEW.rows_done, NEW.last_key, NEW.done);
      RETURN NULL;
    END $$;
  `);
  for (const table of ['migrations', 'steps', 'backfill_checkpoints', 'flags', 'snapshots']) {
    await q.query(`DROP TRIGGER IF EXISTS resilience_probe ON ${s}.${quoteIdent(table)}`);
    await q.query(
      `CREATE TRIGGER resilience_probe AFTER INSERT OR UPDATE OR DELETE ON ${s}.${quoteIdent(table)} FOR EACH STATEMENT EXECUTE FUNCTION ${p}.announce()`,
    );
    // Backfill batches run in replica mode (user triggers skipped): the probes fire anyway.
    await q.query(`ALTER TABLE ${s}.${quoteIdent(table)} ENABLE ALWAYS TRIGGER resilience_probe`);
  }
  await q.query(`DROP TRIGGER IF EXISTS resilience_probe_log ON ${s}.backfill_checkpoints`);
  await q.query(
    `CREATE TRIGGER resilience_probe_log AFTER INSERT OR UPDATE ON ${s}.backfill_checkpoints FOR EACH ROW EXECUTE FUNCTION ${p}.log_checkpoint()`,
  );
  await q.query(`ALTER TABLE ${s}.backfill_checkpoints ENABLE ALWAYS TRIGGER resilience_probe_log`);
}

/** A committed curtain transaction seen by the probe. */
export interface ProbeCommit {
  /** performance.now() when it was announced. */
  at: number;
  /** It wrote a backfill checkpoint: a backfill batch. */
  batch: boolean;
}

/**
 * Listen for probe events on `url`: `count` is the number of distinct
 * committed curtain transactions seen so far; `waitFor(k)` resolves once k
 * were seen (immediately for k <= 0); `commits` lists them in order.
 */
export async function listenProbe(url: string): Promise<{
  readonly count: number;
  readonly commits: readonly ProbeCommit[];
  waitFor(k: number): Promise<void>;
  close(): Promise<void>;
}> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => {});
  await client.connect();
  const byTx = new Map<string, ProbeCommit>();
  const commits: ProbeCommit[] = [];
  const waiters: { k: number; resolve: () => void }[] = [];
  client.on('notification', (msg) => {
    if (msg.channel !== PROBE_CHANNEL) return;
    const [tx = '', table = ''] = (msg.payload ?? '').split(':');
    let commit = byTx.get(tx);
    if (!commit) {
      commit = { at: performance.now(), batch: false };
      byTx.set(tx, commit);
      commits.push(commit);
    }
    if (table === 'backfill_checkpoints') commit.batch = true;
    for (const w of [...waiters]) {
      if (commits.length >= w.k) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  });
  await client.query(`LISTEN ${quoteIdent(PROBE_CHANNEL)}`);
  return {
    get count() {
      return commits.length;
    },
    commits,
    waitFor(k) {
      if (commits.length >= k) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ k, resolve }));
    },
    async close() {
      await client.end().catch(() => {});
    },
  };
}

/**
 * The curtain schema, normalised for comparison between an interrupted and
 * an uninterrupted run: timestamps, ids, actors, versions and per-run counters
 * (attempts, rows done, last key, which depend on concurrent writers) are
 * left out; switch phases (`switch-<ms>`) lose their timestamp; history logs
 * (migration events, flag audit, automatic snapshots) are compared as
 * sequences with consecutive repeats collapsed (a rerun of a switch whose
 * commit landed before the kill legitimately records the same switch again,
 * and a rerun after a kill between the automatic snapshot and the switch
 * takes a second snapshot: see `snapshotCount`).
 */
export async function curtainState(q: pg.Pool | pg.ClientBase, schema = 'curtain'): Promise<Record<string, unknown>> {
  const s = quoteIdent(schema);
  const rows = async (sql: string) => (await q.query(sql)).rows;
  const collapse = <T>(xs: T[]) => xs.filter((x, i) => i === 0 || JSON.stringify(x) !== JSON.stringify(xs[i - 1]));
  return {
    migrations: await rows(
      `SELECT name, checksum, phase, flag, kind, description, touches, plan, verification->'outOfSync' AS out_of_sync,
              expanded_at IS NOT NULL AS expanded, switched_at IS NOT NULL AS switched, contracted_at IS NOT NULL AS contracted, aborted_at IS NOT NULL AS aborted
         FROM ${s}.migrations ORDER BY name`,
    ),
    flags: await rows(
      `SELECT key, enabled, rollout, group_name, description, migration, retired, fully_on_since IS NOT NULL AS fully_on FROM ${s}.flags ORDER BY key`,
    ),
    tombstones: await rows(`SELECT key FROM ${s}.flag_tombstones ORDER BY key`),
    steps: await rows(
      `SELECT DISTINCT migration, regexp_replace(phase, '[0-9]{6,}', 'N') AS phase, idx, description, sql, lock FROM ${s}.steps ORDER BY 1, 2, 3`,
    ),
    checkpoints: await rows(`SELECT migration, table_name, done FROM ${s}.backfill_checkpoints ORDER BY 1, 2`),
    events: collapse(await rows(`SELECT migration, event FROM ${s}.migration_events ORDER BY id`)),
    snapshots: collapse(await rows(`SELECT migration, phase, strategy, status, reason FROM ${s}.snapshots ORDER BY created_at, id`)),
    flagAudit: collapse(
      await rows(
        `SELECT key, action, after->'enabled' AS enabled, after->'rollout' AS rollout, after->'retired' AS retired FROM ${s}.flag_events ORDER BY id`,
      ),
    ),
  };
}

/** How many snapshots the curtain schema records (a killed run may leave one more than an uninterrupted run). */
export async function snapshotCount(q: pg.Pool | pg.ClientBase, schema = 'curtain'): Promise<number> {
  const { rows } = await q.query(`SELECT count(*)::int AS n FROM ${quoteIdent(schema)}.snapshots`);
  return Number(rows[0].n);
}

/** Every row of `table` (all columns, as text), ordered by id, optionally filtered. */
export async function tableContents(q: pg.Pool | pg.ClientBase, table: string, where = 'true'): Promise<Record<string, unknown>[]> {
  const { rows } = await q.query(`SELECT to_jsonb(t) AS r FROM ${table} t WHERE ${where} ORDER BY id`);
  return rows.map((r) => r.r as Record<string, unknown>);
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Read an integer from the environment. */
export function envInt(name: string, fallback: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n)) throw new Error(`${name} must be an integer, got ${v}`);
  return n;
}

/** Full sizes behind RESILIENCE_FULL=1. */
export const FULL = process.env.RESILIENCE_FULL === '1';

/**
 * A pool whose clients never raise an unhandled 'error' (a test dropping a
 * database WITH (FORCE), or stopping the server, terminates their sessions).
 */
export function quietPool(connectionString: string, max = 2): pg.Pool {
  const pool = new pg.Pool({ connectionString, max });
  pool.on('error', () => {});
  pool.on('connect', (client) => client.on('error', () => {}));
  return pool;
}
