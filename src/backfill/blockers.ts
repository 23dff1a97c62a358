import type pg from 'pg';
import { pollEvery } from '../db/poll.js';

/** A session that holds a lock a backfill batch waits for (from pg_blocking_pids and pg_stat_activity). */
export interface BlockingSession {
  pid: number;
  applicationName: string;
  /** `active`, `idle in transaction`, ... */
  state: string | null;
  /** The first 60 characters of its current (or last) query. */
  query: string;
  /** How long the batch has been waiting for row locks so far. */
  waitedMs: number;
}

/**
 * The first session blocking backend `pid`, if any.
 *
 * @example
 * await blockerOf(pool, 4242) // { pid: 4100, applicationName: 'psql', state: 'idle in transaction', query: 'UPDATE ...', waitedMs: 0 }
 */
export async function blockerOf(pool: pg.Pool, pid: number): Promise<Omit<BlockingSession, 'waitedMs'> | undefined> {
  const { rows } = await pool.query<{ pid: number; application_name: string; state: string | null; query: string }>(
    `SELECT a.pid, a.application_name, a.state, left(regexp_replace(coalesce(a.query, ''), '\\s+', ' ', 'g'), 60) AS query
       FROM pg_stat_activity a WHERE a.pid = ANY (pg_blocking_pids($1)) ORDER BY a.xact_start NULLS LAST, a.pid LIMIT 1`,
    [pid],
  );
  const r = rows[0];
  return r && { pid: r.pid, applicationName: r.application_name, state: r.state, query: r.query };
}

/**
 * While a batch runs, look every `intervalMs` at who blocks its backend and
 * tell `onBlocked`. Starts looking only after the first interval, so a batch
 * that is not blocked costs nothing.
 *
 * @example
 * const watch = watchBlockers(pool, () => batchPid, (b) => report(b));
 * try { await runBatch(); } finally { watch.stop(); }
 */
export function watchBlockers(
  pool: pg.Pool,
  pid: () => number | undefined,
  onBlocked: (b: Omit<BlockingSession, 'waitedMs'>) => void,
  intervalMs = 250,
): { stop(): void } {
  return pollEvery(intervalMs, async (active) => {
    const p = pid();
    if (p === undefined) return;
    // The watcher is best effort: a failed look (pool busy, connection lost) is the batch's business, not ours.
    const b = await blockerOf(pool, p).catch(() => undefined);
    if (b && active()) onBlocked(b);
  });
}

/**
 * One line for people: `pid 4100 (psql, idle in transaction): UPDATE items SET ...`.
 *
 * @example
 * describeBlocker(b)
 */
export function describeBlocker(b: Omit<BlockingSession, 'waitedMs'>): string {
  return `pid ${b.pid} (${b.applicationName || 'no application_name'}, ${b.state ?? 'unknown state'})${b.query ? `: ${b.query}` : ''}`;
}
