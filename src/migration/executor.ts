import type pg from 'pg';
import { quoteIdent } from '../db/identifiers.js';
import { CurtainError } from '../errors.js';
import type { Step } from '../ops/operation.js';

/** A step, or custom code that runs inside a transactional group. */
export interface ExecStep extends Step {
  /** Custom work run on the group's client instead of `sql` (migration functions, bookkeeping). */
  run?: (tx: pg.PoolClient) => Promise<void>;
}

/** What the executor reports while it works. */
export type StepEvent =
  | { type: 'start'; index: number; step: ExecStep }
  | { type: 'done'; index: number; step: ExecStep; durationMs: number; attempts: number }
  | { type: 'skip'; index: number; step: ExecStep }
  | { type: 'retry'; index: number; step: ExecStep; attempt: number; delayMs: number; reason: string };

export interface ExecutorOptions {
  pool: pg.Pool;
  /** The curtain schema, where finished steps are recorded. */
  schema: string;
  migration: string;
  /** The phase name the steps are recorded under (`expand`, `contract`, ...). */
  phase: string;
  lockTimeoutMs: number;
  /** Attempts after a lock timeout or deadlock, with exponential backoff and jitter. */
  retries: number;
  onEvent?: (e: StepEvent) => void;
}

const RETRYABLE = new Set(['55P03', '40P01']); // lock_not_available, deadlock_detected

/**
 * Run a phase's steps in order. Consecutive transactional steps run together
 * in one transaction that also records them, so a finished group is never
 * rerun after a crash; a non-transactional step runs alone, after its
 * cleanup (which removes what a killed attempt left, e.g. an INVALID index).
 * Every statement runs under `lock_timeout`; a lock timeout or deadlock rolls
 * the group back and retries it later instead of queueing the application
 * behind us.
 *
 * @example
 * await runSteps(plan.expand, { pool, schema: 'curtain', migration: name, phase: 'expand', lockTimeoutMs: 1000, retries: 30 });
 */
export async function runSteps(steps: ExecStep[], options: ExecutorOptions): Promise<void> {
  const done = await finishedSteps(options);
  for (const group of groupSteps(steps)) {
    if (done.has(group.start)) {
      group.steps.forEach((step, i) => options.onEvent?.({ type: 'skip', index: group.start + i, step }));
      continue;
    }
    await withRetries(options, group.start, group.steps[0]!, (attempt) =>
      group.transactional ? runGroup(group.steps, group.start, attempt, options) : runAlone(group.steps[0]!, group.start, attempt, options),
    );
  }
}

interface Group {
  start: number;
  transactional: boolean;
  steps: ExecStep[];
}

/** Consecutive transactional steps form one group; every other step (and one that asks for its own transaction) is a group of its own. */
export function groupSteps(steps: ExecStep[]): Group[] {
  const groups: Group[] = [];
  steps.forEach((step, index) => {
    const last = groups[groups.length - 1];
    const joins = step.transactional && !step.ownTransaction && last?.transactional && !last.steps[0]!.ownTransaction;
    if (joins) last.steps.push(step);
    else groups.push({ start: index, transactional: step.transactional, steps: [step] });
  });
  return groups;
}

async function finishedSteps(o: ExecutorOptions): Promise<Set<number>> {
  const { rows } = await o.pool.query<{ idx: number }>(
    `SELECT idx FROM ${quoteIdent(o.schema)}.steps WHERE migration = $1 AND phase = $2`,
    [o.migration, o.phase],
  );
  return new Set(rows.map((r) => r.idx));
}

async function runGroup(steps: ExecStep[], start: number, attempts: number, o: ExecutorOptions): Promise<void> {
  const client = await o.pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(`SET LOCAL lock_timeout = ${lockTimeoutFor(attempts, o.lockTimeoutMs)}`);
    const timings: { index: number; started: Date; ms: number }[] = [];
    for (const [i, step] of steps.entries()) {
      o.onEvent?.({ type: 'start', index: start + i, step });
      const started = new Date();
      const t0 = performance.now();
      await execute(client, step, start + i);
      timings.push({ index: start + i, started, ms: performance.now() - t0 });
    }
    for (const [i, step] of steps.entries()) await record(client, o, start + i, step, attempts, timings[i]!.started, timings[i]!.ms);
    await client.query('COMMIT');
    steps.forEach((step, i) => o.onEvent?.({ type: 'done', index: start + i, step, durationMs: timings[i]!.ms, attempts }));
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

async function runAlone(step: ExecStep, index: number, attempts: number, o: ExecutorOptions): Promise<void> {
  const client = await o.pool.connect();
  try {
    await client.query(`SET lock_timeout = ${lockTimeoutFor(attempts, o.lockTimeoutMs)}`);
    if (step.cleanup) await client.query(step.cleanup);
    o.onEvent?.({ type: 'start', index, step });
    const started = new Date();
    const t0 = performance.now();
    await execute(client, step, index);
    const ms = performance.now() - t0;
    await record(client, o, index, step, attempts, started, ms);
    o.onEvent?.({ type: 'done', index, step, durationMs: ms, attempts });
  } finally {
    await client.query('RESET lock_timeout').catch(() => {});
    client.release();
  }
}

async function execute(client: pg.PoolClient, step: ExecStep, index: number): Promise<void> {
  try {
    if (step.run) await step.run(client);
    else await client.query(step.sql);
  } catch (err) {
    const e = err as Error & { code?: string };
    if (e.code && RETRYABLE.has(e.code)) throw err;
    if (err instanceof CurtainError) throw err;
    throw new CurtainError(`step ${index + 1} (${step.description}) failed: ${e.message}${e.code ? ` [SQLSTATE ${e.code}]` : ''}`, {
      hint: step.run ? undefined : `statement: ${oneLine(step.sql)}`,
      cause: err,
    });
  }
}

async function record(client: pg.PoolClient, o: ExecutorOptions, index: number, step: ExecStep, attempts: number, started: Date, ms: number) {
  await client.query(
    `INSERT INTO ${quoteIdent(o.schema)}.steps (migration, phase, idx, description, sql, lock, attempts, started_at, duration_ms)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
     ON CONFLICT (migration, phase, idx) DO UPDATE SET attempts = EXCLUDED.attempts, finished_at = now(), duration_ms = EXCLUDED.duration_ms`,
    [o.migration, o.phase, index, step.description, step.sql, step.lock, attempts, started, Math.round(ms)],
  );
}

async function withRetries(o: ExecutorOptions, index: number, step: ExecStep, attempt: (n: number) => Promise<void>): Promise<void> {
  for (let n = 1; ; n++) {
    try {
      await attempt(n);
      return;
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (!code || !RETRYABLE.has(code)) throw err;
      if (n > o.retries) {
        throw new CurtainError(
          `step ${index + 1} (${step.description}) could not get its ${step.lock} lock in ${n} attempts (lock_timeout up to ${o.lockTimeoutMs} ms)`,
          { hint: 'a long transaction holds the table: find it in pg_stat_activity, or retry later / raise --lock-timeout', cause: err },
        );
      }
      const delayMs = Math.round(Math.min(5_000, 50 * 2 ** Math.min(n, 10)) * (0.5 + Math.random()));
      o.onEvent?.({ type: 'retry', index, step, attempt: n, delayMs, reason: code === '40P01' ? 'deadlock' : 'lock timeout' });
      await new Promise((r) => setTimeout(r, delayMs));
    }
  }
}

/**
 * A statement waiting for its lock makes every later query on the table queue
 * behind it, so the first attempt waits only 100 ms and each retry doubles
 * that, up to the configured lock timeout: under steady traffic the lock is
 * usually free within a few milliseconds, and the application never waits
 * longer than the current attempt's timeout.
 */
export function lockTimeoutFor(attempt: number, maxMs: number): number {
  return Math.max(1, Math.round(Math.min(maxMs, 100 * 2 ** (attempt - 1))));
}

function oneLine(sql: string): string {
  const s = sql.replace(/\s+/g, ' ').trim();
  return s.length > 200 ? `${s.slice(0, 197)}...` : s;
}
