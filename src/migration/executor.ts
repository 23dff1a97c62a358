import type pg from 'pg';
import { watchAutovacuum, type AutovacuumConflict } from '../db/autovacuum.js';
import { processId } from '../db/queryable.js';
import { LOCK_NOT_AVAILABLE, DEADLOCK, backoffMs, lockTimeoutFor, sleep, transaction } from '../db/transaction.js';
import { CurtainError, type StepInfo } from '../errors.js';
import { finishedSteps, recordStep } from '../store/migrations.js';
import { isTransactional, type ProgramStep } from './program.js';

/** What the executor reports while it works. */
export type StepEvent =
  | { type: 'start'; index: number; step: ProgramStep }
  | { type: 'done'; index: number; step: ProgramStep; durationMs: number; attempts: number }
  | { type: 'skip'; index: number; step: ProgramStep }
  | { type: 'retry'; index: number; step: ProgramStep; attempt: number; delayMs: number; reason: string }
  /** An autovacuum worker held the lock the step waited for: cancelled, or why not (see db/autovacuum.ts). */
  | { type: 'autovacuum'; index: number; step: ProgramStep; conflict: AutovacuumConflict };

/** How the steps that are not plain SQL run; the transition that owns the program supplies it. */
export interface StepRuntime {
  /** A bookkeeping or custom step, inside its group's transaction. */
  inTransaction(step: ProgramStep, tx: pg.PoolClient, index: number): Promise<void>;
  /** A step that manages its own transactions (backfill, verify, guards, rehearse, snapshot, drain). */
  alone(step: ProgramStep, index: number): Promise<void>;
}

export interface ExecutorOptions {
  pool: pg.Pool;
  /** The curtain schema, where finished steps are recorded. */
  schema: string;
  migration: string;
  /** The name the steps are recorded under (`expand`, `contract`, `switch-<time>` ...). */
  phase: string;
  lockTimeoutMs: number;
  /** Attempts after a lock timeout or deadlock, with exponential backoff and jitter. */
  retries: number;
  runtime: StepRuntime;
  /** Proves, inside the transaction that records a step, that this process still holds the migrate lock. */
  fence?: (tx: pg.PoolClient) => Promise<void>;
  /** Stop at the next step boundary. */
  signal?: AbortSignal;
  onEvent?: (e: StepEvent) => void;
}

/** A step failed; carries where, for `--json` and for the hint that says how to get back. */
export class StepError extends CurtainError {
  readonly sqlState: string | undefined;
  constructor(message: string, step: StepInfo, options: { hint?: string; cause?: unknown; sqlState?: string }) {
    super(message, { ...options, step });
    this.sqlState = options.sqlState;
  }
}

/** The run was stopped by its signal at a step boundary; what is done stays done. */
export class InterruptedError extends CurtainError {
  constructor(migration: string, phase: string, stepsDone: number) {
    super(`${phase} of ${migration} stopped after step ${stepsDone} as asked`, { hint: `rerun the same command to resume where it stopped` });
  }
}

interface Group {
  start: number;
  transactional: boolean;
  steps: ProgramStep[];
}

/**
 * Run a phase's program in order, from `from` (default the start). Consecutive
 * transactional steps run together in one transaction that also records them,
 * so a finished group is never rerun after a crash; a non-transactional SQL
 * step runs alone after its cleanup (which removes what a killed attempt
 * left, e.g. an INVALID index); backfills, guards, snapshots and the like run
 * alone through the runtime and are recorded when they finish. Every
 * statement runs under `lock_timeout`; a lock timeout or deadlock rolls the
 * group back and retries it later instead of queueing the application
 * behind us.
 *
 * @example
 * await runProgram(program.phases.expand, { pool, schema: 'curtain', migration: name, phase: 'expand', lockTimeoutMs: 1000, retries: 30, runtime });
 */
export async function runProgram(steps: ProgramStep[], options: ExecutorOptions & { from?: number }): Promise<void> {
  const done = await finishedSteps(options.pool, options.schema, options.migration, options.phase);
  for (const group of groupSteps(steps)) {
    if (group.start < (options.from ?? 0) || done.has(group.start)) {
      group.steps.forEach((step, i) => options.onEvent?.({ type: 'skip', index: group.start + i, step }));
      continue;
    }
    if (options.signal?.aborted) throw new InterruptedError(options.migration, options.phase, group.start);
    const first = group.steps[0]!;
    if (group.transactional) await runGroup(group.steps, group.start, options);
    else if (first.kind === 'sql') await withRetries(options, group.start, first, (n) => runSqlAlone(first, group.start, n, options));
    else await runOther(first, group.start, options);
  }
}

/** Consecutive transactional steps form one group; every other step (and one that asks for its own transaction) is a group of its own. */
export function groupSteps(steps: ProgramStep[]): Group[] {
  const groups: Group[] = [];
  const own = (s: ProgramStep) => s.kind === 'sql' && s.ownTransaction === true;
  steps.forEach((step, index) => {
    const last = groups[groups.length - 1];
    const joins = isTransactional(step) && !own(step) && last?.transactional && !own(last.steps[0]!);
    if (joins) last.steps.push(step);
    else groups.push({ start: index, transactional: isTransactional(step), steps: [step] });
  });
  return groups;
}

async function runGroup(steps: ProgramStep[], start: number, o: ExecutorOptions): Promise<void> {
  let timings: { started: Date; ms: number }[] = [];
  let attempt = 0;
  let pid: number | undefined;
  // The step running when a lock wait ends the attempt: errors and events name it, not the group's first.
  let current = 0;
  const watch = watchAutovacuum(o.pool, () => pid, (conflict) => o.onEvent?.({ type: 'autovacuum', index: start + current, step: steps[current]!, conflict }));
  try {
    await transaction(
      o.pool,
      async (tx) => {
        attempt++;
        pid = processId(tx);
        timings = [];
        try {
          for (const [i, step] of steps.entries()) {
            current = i;
            o.onEvent?.({ type: 'start', index: start + i, step });
            const started = new Date();
            const t0 = performance.now();
            await execute(tx, step, start + i, o);
            timings.push({ started, ms: performance.now() - t0 });
          }
          await o.fence?.(tx);
          for (const [i, step] of steps.entries()) await record(tx, o, start + i, step, attempt, timings[i]!.started, timings[i]!.ms);
        } finally {
          // Back in the pool during the retry's backoff: whoever blocks that connection next is not our business.
          pid = undefined;
        }
      },
      {
        settings: { lock_timeout: o.lockTimeoutMs },
        retries: o.retries,
        onRetry: (e) => o.onEvent?.({ type: 'retry', index: start + current, step: steps[current]!, attempt: e.attempt, delayMs: e.delayMs, reason: e.reason }),
      },
    );
  } catch (err) {
    throw lockExhausted(err, o, start + current, steps[current]!, attempt);
  } finally {
    watch.stop();
  }
  steps.forEach((step, i) => o.onEvent?.({ type: 'done', index: start + i, step, durationMs: timings[i]!.ms, attempts: attempt }));
}

async function runSqlAlone(step: ProgramStep & { kind: 'sql' }, index: number, attempt: number, o: ExecutorOptions): Promise<void> {
  const client = await o.pool.connect();
  let broken: Error | undefined;
  const onError = (e: Error) => (broken = e);
  client.on('error', onError);
  const watch = watchAutovacuum(o.pool, () => processId(client), (conflict) => o.onEvent?.({ type: 'autovacuum', index, step, conflict }));
  try {
    await client.query(`SET lock_timeout = ${lockTimeoutFor(attempt, o.lockTimeoutMs)}`);
    if (step.cleanup) await client.query(step.cleanup);
    o.onEvent?.({ type: 'start', index, step });
    const started = new Date();
    const t0 = performance.now();
    await execute(client, step, index, o);
    const ms = performance.now() - t0;
    await transaction(o.pool, async (tx) => {
      await o.fence?.(tx);
      await record(tx, o, index, step, attempt, started, ms);
    });
    o.onEvent?.({ type: 'done', index, step, durationMs: ms, attempts: attempt });
  } finally {
    watch.stop();
    await client.query('RESET lock_timeout').catch((e: Error) => (broken ??= e));
    client.off('error', onError);
    client.release(broken);
  }
}

async function runOther(step: ProgramStep, index: number, o: ExecutorOptions): Promise<void> {
  o.onEvent?.({ type: 'start', index, step });
  const started = new Date();
  const t0 = performance.now();
  await o.runtime.alone(step, index);
  const ms = performance.now() - t0;
  await transaction(o.pool, async (tx) => {
    await o.fence?.(tx);
    await record(tx, o, index, step, 1, started, ms);
  });
  o.onEvent?.({ type: 'done', index, step, durationMs: ms, attempts: 1 });
}

async function execute(client: pg.PoolClient, step: ProgramStep, index: number, o: ExecutorOptions): Promise<void> {
  try {
    if (step.kind === 'sql') await client.query(step.sql);
    else await o.runtime.inTransaction(step, client, index);
  } catch (err) {
    const e = err as Error & { code?: string; detail?: string };
    if (e.code === LOCK_NOT_AVAILABLE || e.code === DEADLOCK) throw err;
    if (err instanceof CurtainError) throw err;
    throw new StepError(
      `step ${index + 1} (${step.description}) failed: ${e.message}${e.code ? ` [SQLSTATE ${e.code}]` : ''}${e.detail ? `\n${e.detail}` : ''}`,
      { migration: o.migration, phase: o.phase, index, description: step.description, ...(step.kind === 'sql' ? { sql: step.sql } : {}) },
      { hint: step.kind === 'sql' ? `statement: ${oneLine(step.sql)}` : undefined, cause: err, sqlState: e.code },
    );
  }
}

async function record(tx: pg.PoolClient, o: ExecutorOptions, index: number, step: ProgramStep, attempts: number, startedAt: Date, durationMs: number) {
  await recordStep(tx, o.schema, {
    migration: o.migration,
    phase: o.phase,
    index,
    description: step.description,
    sql: step.kind === 'sql' ? step.sql : `-- ${step.kind}`,
    lock: step.lock,
    attempts,
    startedAt,
    durationMs,
  });
}

async function withRetries(o: ExecutorOptions, index: number, step: ProgramStep, attempt: (n: number) => Promise<void>): Promise<void> {
  for (let n = 1; ; n++) {
    try {
      await attempt(n);
      return;
    } catch (err) {
      const code = (err as { code?: string }).code;
      if ((code !== LOCK_NOT_AVAILABLE && code !== DEADLOCK) || n > o.retries) throw lockExhausted(err, o, index, step, n);
      const delayMs = backoffMs(n);
      o.onEvent?.({ type: 'retry', index, step, attempt: n, delayMs, reason: code === DEADLOCK ? 'deadlock' : 'lock timeout' });
      await sleep(delayMs);
    }
  }
}

/** A lock timeout or deadlock that outlived every retry, as an error that says what to do. */
function lockExhausted(err: unknown, o: ExecutorOptions, index: number, step: ProgramStep, attempts: number): unknown {
  const code = (err as { code?: string }).code;
  if (code !== LOCK_NOT_AVAILABLE && code !== DEADLOCK) return err;
  return new StepError(
    `step ${index + 1} (${step.description}) could not get its ${step.lock} lock in ${attempts} attempts (lock_timeout up to ${o.lockTimeoutMs} ms)`,
    { migration: o.migration, phase: o.phase, index, description: step.description },
    { hint: 'a long transaction holds the table: find it in pg_stat_activity, or retry later / raise --lock-timeout', cause: err, sqlState: code },
  );
}

export { lockTimeoutFor };

function oneLine(sql: string): string {
  const s = sql.replace(/\s+/g, ' ').trim();
  return s.length > 200 ? `${s.slice(0, 197)}...` : s;
}
