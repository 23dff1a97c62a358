/**
 * Error rates per side of a flag, from the telemetry every client reports:
 * evaluations (`flag_usage`) and tracked events (`flag_tracking`), each
 * split by the value the flag had (true = new path, false = old path). A
 * rollout compares the two to stop when the new path fails more often.
 */
import { quoteIdent } from '../db/identifiers.js';
import type { Queryable } from '../db/queryable.js';
import { assertFlagKey } from './keys.js';

/** One side of a flag over the window. */
export interface VariantErrors {
  /** Times the flag evaluated to this value. */
  evaluations: number;
  /** Tracked events (default `'error'`) while on this side. */
  errors: number;
  /** errors / evaluations, or null without evaluations. */
  rate: number | null;
}

/** Both sides of a flag over the window. */
export interface ErrorRates {
  key: string;
  event: string;
  windowMs: number;
  /** Start of the first minute counted (telemetry is kept per minute, so the window is rounded out to whole minutes). */
  since: Date;
  /** The flag was true: the new path. */
  on: VariantErrors;
  /** The flag was false: the old path. */
  off: VariantErrors;
}

/**
 * Evaluation and error counts of `flag` per value over the last `windowMs`,
 * summed over every client that reports telemetry (counts reach the database
 * when a client flushes, every few seconds and on close).
 *
 * @example
 * const r = await errorRates(pool, 'curtain', 'checkout.v2', 10 * 60_000);
 * if (r.on.rate !== null && r.off.rate !== null && r.on.rate > r.off.rate) stopRollout(r);
 */
export async function errorRates(q: Queryable, schema: string, flag: string, windowMs: number, options: { event?: string } = {}): Promise<ErrorRates> {
  assertFlagKey(flag);
  if (!Number.isFinite(windowMs) || windowMs <= 0) throw new RangeError(`windowMs must be a positive number, got ${windowMs}`);
  const event = options.event ?? 'error';
  const s = quoteIdent(schema);
  const { rows } = await q.query(
    `WITH since AS (SELECT date_trunc('minute', now() - make_interval(secs => $2::float8 / 1000)) AS t)
     SELECT (SELECT t FROM since) AS since,
            (SELECT COALESCE(sum(true_count), 0) FROM ${s}.flag_usage WHERE key = $1 AND window_start >= (SELECT t FROM since)) AS on_evals,
            (SELECT COALESCE(sum(false_count), 0) FROM ${s}.flag_usage WHERE key = $1 AND window_start >= (SELECT t FROM since)) AS off_evals,
            (SELECT COALESCE(sum(count) FILTER (WHERE value), 0) FROM ${s}.flag_tracking WHERE key = $1 AND event = $3 AND window_start >= (SELECT t FROM since)) AS on_errors,
            (SELECT COALESCE(sum(count) FILTER (WHERE NOT value), 0) FROM ${s}.flag_tracking WHERE key = $1 AND event = $3 AND window_start >= (SELECT t FROM since)) AS off_errors`,
    [flag, windowMs, event],
  );
  const r = rows[0]!;
  const side = (evaluations: unknown, errors: unknown): VariantErrors => {
    const e = Number(evaluations);
    const n = Number(errors);
    return { evaluations: e, errors: n, rate: e > 0 ? n / e : null };
  };
  return { key: flag, event, windowMs, since: r.since, on: side(r.on_evals, r.on_errors), off: side(r.off_evals, r.off_errors) };
}
