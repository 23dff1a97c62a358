/**
 * The stop conditions of a rollout plan, checked while it waits between
 * steps: the new path fails more often than the old one, the user's
 * `--check` query no longer returns true, or more rows than at the start
 * disagree between the old and the new side.
 */
import type pg from 'pg';
import { quoteQualified } from '../db/identifiers.js';
import { readOnly } from '../db/transaction.js';
import { UsageError, GuardRefusal } from '../errors.js';
import { errorRates, type ErrorRates } from '../flags/error-rates.js';
import type { BackfillTask } from '../ops/operation.js';
import type { ErrorBaseline } from '../store/rollouts.js';

/** What the checks need to know about a running rollout. */
export interface StopCheckInput {
  pool: pg.Pool;
  schema: string;
  flag: string;
  startedAt: Date;
  /** Telemetry counted before the first step in the minute it started (subtracted). */
  errorBaseline: ErrorBaseline | null;
  /** Errors the new path must have reported before its rate counts (noise guard). */
  minErrors: number;
  check: string | null;
  checkTimeoutMs: number;
  /** Derived pairs to re-verify (renamed and shadow columns), the sample size, and the count when the rollout started. */
  verify: { tasks: BackfillTask[]; sample: number; baseline: number } | null;
}

/**
 * Why the rollout must stop now, or undefined while every condition holds.
 *
 * @example
 * const why = await stopReason({ pool, schema: 'curtain', flag: 'users.email-address', startedAt, minErrors: 5, check: null, checkTimeoutMs: 5000, verify: null });
 */
export async function stopReason(input: StopCheckInput): Promise<string | undefined> {
  const rates = await ratesSinceStart(input.pool, input.schema, input.flag, input.errorBaseline, input.startedAt);
  const errors = errorRateProblem(rates, input.minErrors);
  if (errors) return errors;
  if (input.check) {
    const result = await runCheck(input.pool, input.check, input.checkTimeoutMs);
    if (!result.ok) return `--check ${result.why}`;
  }
  if (input.verify) {
    const now = await sampleOutOfSync(input.pool, input.verify.tasks, input.verify.sample, input.checkTimeoutMs);
    if (now > input.verify.baseline) {
      return `verification: ${now} row(s) where the new side differs from up(old side), ${input.verify.baseline} when the rollout started`;
    }
  }
  return undefined;
}

/**
 * The telemetry of the current minute so far, before a rollout's first step:
 * telemetry is kept per minute, so what came before the start in that minute
 * is subtracted later (errors of a previous attempt must not stop a new one).
 *
 * @example
 * const baseline = await errorBaseline(pool, 'curtain', 'users.email-address');
 */
export async function errorBaseline(pool: pg.Pool, schema: string, flag: string): Promise<ErrorBaseline> {
  const r = await errorRates(pool, schema, flag, 1);
  return { since: r.since.toISOString(), on: { evaluations: r.on.evaluations, errors: r.on.errors }, off: { evaluations: r.off.evaluations, errors: r.off.errors } };
}

/**
 * {@link errorRates} since a rollout started: from the minute of its start
 * (by the database's clock), minus what that minute held before the start.
 *
 * @example
 * const rates = await ratesSinceStart(pool, 'curtain', 'users.email-address', row.errorBaseline, row.startedAt);
 */
export async function ratesSinceStart(pool: pg.Pool, schema: string, flag: string, baseline: ErrorBaseline | null, startedAt: Date): Promise<ErrorRates> {
  const { rows } = await pool.query<{ ms: string }>(`SELECT (extract(epoch FROM now() - $1::timestamptz) * 1000)::float8 AS ms`, [baseline?.since ?? startedAt]);
  // Half a second short of the minute start, so the window rounds out to exactly that minute.
  const rates = await errorRates(pool, schema, flag, Math.max(1, Number(rows[0]!.ms) - 500));
  if (!baseline) return rates;
  const side = (now: { evaluations: number; errors: number }, before: { evaluations: number; errors: number }) => {
    const evaluations = Math.max(0, now.evaluations - before.evaluations);
    const errors = Math.max(0, now.errors - before.errors);
    return { evaluations, errors, rate: evaluations > 0 ? errors / evaluations : null };
  };
  return { ...rates, on: side(rates.on, baseline.on), off: side(rates.off, baseline.off) };
}

/**
 * The error-rate condition alone: the new path (flag true) reported at least
 * `minErrors` errors and its rate is above the old path's (an old path
 * without evaluations counts as 0 %).
 *
 * @example
 * errorRateProblem(await errorRates(pool, 'curtain', 'checkout.v2', 600_000), 5);
 */
export function errorRateProblem(rates: ErrorRates, minErrors: number): string | undefined {
  const { on, off } = rates;
  if (on.errors < minErrors || on.rate === null) return undefined;
  const offRate = off.rate ?? 0;
  if (on.rate <= offRate) return undefined;
  const pct = (r: number) => `${(r * 100).toFixed(r < 0.01 ? 2 : 1)} %`;
  return `the new path's error rate ${pct(on.rate)} (${on.errors} errors in ${on.evaluations} evaluations) is above the old path's ${pct(offRate)} (${off.errors} in ${off.evaluations}) since the rollout started`;
}

/** The outcome of a `--check` query. */
export type CheckResult = { ok: true } | { ok: false; why: string; broken: boolean };

/**
 * Run a `--check` query in a read-only transaction with a statement timeout;
 * only a first column of `true` in the first row passes. Sent with the
 * extended protocol, so it is one statement: it cannot end the read-only
 * transaction and write after it.
 *
 * @example
 * await runCheck(pool, 'SELECT count(*) = 0 FROM alarms', 5000); // { ok: true }
 */
export async function runCheck(pool: pg.Pool, sql: string, timeoutMs: number): Promise<CheckResult> {
  try {
    const { rows, fields } = await readOnly(pool, timeoutMs, (tx) => tx.query({ text: sql, queryMode: 'extended' } as pg.QueryConfig & { queryMode: 'extended' }));
    if (fields.length === 0) return { ok: false, why: 'returned no columns (it must return one boolean)', broken: true };
    const value = rows[0]?.[fields[0]!.name];
    if (rows.length === 0) return { ok: false, why: 'returned no row', broken: false };
    if (value === true) return { ok: true };
    if (value === false) return { ok: false, why: 'returned false', broken: false };
    if (value === null) return { ok: false, why: 'returned NULL', broken: false };
    return { ok: false, why: `returned ${JSON.stringify(value)}, not a boolean`, broken: true };
  } catch (err) {
    return { ok: false, why: `failed: ${(err as Error).message}`, broken: true };
  }
}

/**
 * Before the first step: a `--check` that fails or returns something other
 * than a boolean is a usage error (exit 2), one that returns false refuses
 * (exit 3). Either way nothing has changed yet.
 *
 * @example
 * await assertCheckPasses(pool, 'SELECT count(*) = 0 FROM alarms', 5000);
 */
export async function assertCheckPasses(pool: pg.Pool, sql: string, timeoutMs: number): Promise<void> {
  const result = await runCheck(pool, sql, timeoutMs);
  if (result.ok) return;
  const hint = 'the query must return one row whose first column is a boolean, true while the rollout may go on';
  if (result.broken) throw new UsageError(`--check ${result.why}; nothing was changed`, hint);
  throw new GuardRefusal('rollout-check', `--check ${result.why} before the first step; nothing was changed`, 'start the rollout once the check passes');
}

/**
 * Rows where a derived new column (renamed, shadow) differs from up(old),
 * counted over at most `sample` rows per table: cheap enough to run on every
 * poll, and enough to see the count rise.
 *
 * @example
 * const n = await sampleOutOfSync(pool, tasks, 1000, 5000);
 */
export async function sampleOutOfSync(pool: pg.Pool, tasks: BackfillTask[], sample: number, timeoutMs: number): Promise<number> {
  return readOnly(pool, timeoutMs, async (tx) => {
    let n = 0;
    for (const task of tasks) {
      if (task.recheck === undefined) continue;
      const { rows } = await tx.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM (SELECT 1 FROM ${quoteQualified(task.table.schema, task.table.name)} WHERE ${task.recheck} LIMIT $1) s`,
        [sample],
      );
      n += rows[0]?.n ?? 0;
    }
    return n;
  });
}

/** The pairs whose new side is only ever derived from the old one: what a rollout re-verifies. */
export function verifiableTasks(tasks: BackfillTask[]): BackfillTask[] {
  return tasks.filter((t) => t.recheck !== undefined);
}
