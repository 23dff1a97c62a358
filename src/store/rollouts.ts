/**
 * The persisted state of rollout plans (`<schema>.rollouts`, one row per
 * migration): what a killed runner resumes from and what `migrate status`
 * shows. Times are the database's (`now()`), so runners on hosts with skewed
 * clocks agree on when the next step is due.
 */
import { quoteIdent } from '../db/identifiers.js';
import type { Queryable } from '../db/queryable.js';

/** Where a rollout is. */
export type RolloutStatus = 'running' | 'completed' | 'stopped' | 'cancelled';

/** The allowlist and constraints a rollout's first step turns on (as typed: `--for`, `--where`). */
export interface RolloutTargeting {
  for: string[];
  where: string[];
}

/** Evaluations and errors per side counted from `since` (a minute start) up to the rollout's start. */
export interface ErrorBaseline {
  since: string;
  on: { evaluations: number; errors: number };
  off: { evaluations: number; errors: number };
}

/** A rollout as persisted. */
export interface RolloutRow {
  migration: string;
  flag: string;
  /** The percentage of each step, in order; with targeting the first is 0 (the allowlist/constraints only). */
  steps: number[];
  targeting: RolloutTargeting | null;
  /** Index of the last step applied (0-based). */
  step: number;
  everyMs: number;
  check: string | null;
  /** Rows out of sync (sampled) when the rollout started; null when the migration has nothing to verify. */
  verifyBaseline: number | null;
  /** Telemetry already counted in the minute the rollout started (subtracted: only what came after counts). */
  errorBaseline: ErrorBaseline | null;
  actor: string;
  startedAt: Date;
  stepStartedAt: Date;
  /** When the next step is due (null once the rollout ended). */
  nextAt: Date | null;
  status: RolloutStatus;
  stopReason: string | null;
  updatedAt: Date;
}

const COLUMNS = `migration, flag, steps, targeting, step, every_ms, check_sql, verify_baseline, error_baseline, actor, started_at, step_started_at, next_at, status, stop_reason, updated_at`;

function toRow(r: Record<string, any>): RolloutRow {
  return {
    migration: r.migration,
    flag: r.flag,
    steps: r.steps,
    targeting: r.targeting ?? null,
    step: r.step,
    everyMs: Number(r.every_ms),
    check: r.check_sql,
    verifyBaseline: r.verify_baseline,
    errorBaseline: r.error_baseline ?? null,
    actor: r.actor,
    startedAt: r.started_at,
    stepStartedAt: r.step_started_at,
    nextAt: r.next_at,
    status: r.status,
    stopReason: r.stop_reason,
    updatedAt: r.updated_at,
  };
}

/**
 * A migration's rollout, or undefined when it never had one.
 *
 * @example
 * const r = await getRollout(pool, 'curtain', '20260101000000_rename_email');
 * if (r?.status === 'running') console.log(`step ${r.step + 1}/${r.steps.length}`);
 */
export async function getRollout(q: Queryable, schema: string, migration: string, options: { forUpdate?: boolean } = {}): Promise<RolloutRow | undefined> {
  const { rows } = await q.query(`SELECT ${COLUMNS} FROM ${quoteIdent(schema)}.rollouts WHERE migration = $1${options.forUpdate ? ' FOR UPDATE' : ''}`, [migration]);
  return rows[0] ? toRow(rows[0]) : undefined;
}

/**
 * Every rollout, by migration name.
 *
 * @example
 * for (const r of await listRollouts(pool, 'curtain')) console.log(r.migration, r.status);
 */
export async function listRollouts(q: Queryable, schema: string): Promise<RolloutRow[]> {
  const { rows } = await q.query(`SELECT ${COLUMNS} FROM ${quoteIdent(schema)}.rollouts ORDER BY migration`);
  return rows.map(toRow);
}

/** What a new rollout records with its first step. */
export interface RolloutStart {
  migration: string;
  flag: string;
  steps: number[];
  targeting: RolloutTargeting | null;
  everyMs: number;
  check: string | null;
  verifyBaseline: number | null;
  errorBaseline: ErrorBaseline | null;
  actor: string;
}

/**
 * Record a new rollout with its first step applied (replacing an ended one),
 * in the transaction that changed the flag. A one-step plan is completed at once.
 */
export async function startRollout(q: Queryable, schema: string, r: RolloutStart): Promise<void> {
  const last = r.steps.length === 1;
  await q.query(
    `INSERT INTO ${quoteIdent(schema)}.rollouts (migration, flag, steps, targeting, step, every_ms, check_sql, verify_baseline, error_baseline, actor, started_at, step_started_at, next_at, status, stop_reason, updated_at)
     VALUES ($1, $2, $3::jsonb, $4::jsonb, 0, $5::bigint, $6, $7, $10::jsonb, $8, now(), now(), CASE WHEN $9 THEN NULL ELSE now() + make_interval(secs => $5::bigint / 1000.0) END, CASE WHEN $9 THEN 'completed' ELSE 'running' END, NULL, now())
     ON CONFLICT (migration) DO UPDATE SET
       flag = EXCLUDED.flag, steps = EXCLUDED.steps, targeting = EXCLUDED.targeting, step = 0, every_ms = EXCLUDED.every_ms,
       check_sql = EXCLUDED.check_sql, verify_baseline = EXCLUDED.verify_baseline, error_baseline = EXCLUDED.error_baseline, actor = EXCLUDED.actor,
       started_at = now(), step_started_at = now(), next_at = EXCLUDED.next_at, status = EXCLUDED.status, stop_reason = NULL, updated_at = now()`,
    [r.migration, r.flag, JSON.stringify(r.steps), r.targeting ? JSON.stringify(r.targeting) : null, r.everyMs, r.check, r.verifyBaseline, r.actor, last, r.errorBaseline ? JSON.stringify(r.errorBaseline) : null],
  );
}

/**
 * Record step `step` as applied (in the transaction that changed the flag):
 * the next one is due `every` from now, or the rollout is completed when it
 * was the last.
 */
export async function advanceRollout(q: Queryable, schema: string, migration: string, step: number, last: boolean): Promise<void> {
  await q.query(
    `UPDATE ${quoteIdent(schema)}.rollouts
        SET step = $2, step_started_at = now(),
            next_at = CASE WHEN $3 THEN NULL ELSE now() + make_interval(secs => every_ms::float8 / 1000) END,
            status = CASE WHEN $3 THEN 'completed' ELSE status END, updated_at = now()
      WHERE migration = $1`,
    [migration, step, last],
  );
}

/**
 * End a running rollout as `stopped` or `cancelled`, with the reason.
 * Returns whether one was running.
 *
 * @example
 * await endRollout(pool, 'curtain', '20260101000000_rename_email', 'cancelled', 'cancelled by ops');
 */
export async function endRollout(q: Queryable, schema: string, migration: string, status: 'stopped' | 'cancelled', reason: string): Promise<boolean> {
  const { rowCount } = await q.query(
    `UPDATE ${quoteIdent(schema)}.rollouts SET status = $2, stop_reason = $3, next_at = NULL, updated_at = now() WHERE migration = $1 AND status = 'running'`,
    [migration, status, reason],
  );
  return (rowCount ?? 0) > 0;
}

/** Whether the next step of a running rollout is due, and in how long, by the database's clock. */
export async function rolloutDue(q: Queryable, schema: string, migration: string): Promise<{ row: RolloutRow; dueInMs: number } | undefined> {
  const { rows } = await q.query(
    `SELECT ${COLUMNS}, GREATEST(0, extract(epoch FROM next_at - now()) * 1000)::float8 AS due_in
       FROM ${quoteIdent(schema)}.rollouts WHERE migration = $1`,
    [migration],
  );
  return rows[0] ? { row: toRow(rows[0]), dueInMs: rows[0].due_in === null ? 0 : Number(rows[0].due_in) } : undefined;
}
