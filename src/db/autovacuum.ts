import type pg from 'pg';
import { pollEvery } from './poll.js';

/**
 * An autovacuum worker in the way of a DDL step.
 *
 * Autovacuum holds SHARE UPDATE EXCLUSIVE on the table it vacuums, which
 * every ALTER TABLE and CREATE INDEX [CONCURRENTLY] conflicts with. PostgreSQL
 * cancels such a worker itself, but only once a conflicting lock request has
 * waited `deadlock_timeout` (1 s by default), and curtain's lock attempts are
 * shorter than that on purpose (100 ms first: the application queues behind a
 * waiting ACCESS EXCLUSIVE request). So a long autovacuum on a big table
 * would make every attempt time out, and the step fail after its retries.
 * curtain does what PostgreSQL would do, sooner: it cancels the worker (the
 * launcher starts it again later). Never one that runs to prevent
 * transaction ID wraparound: PostgreSQL never cancels those either.
 */
export interface AutovacuumConflict {
  /** The worker's backend pid. */
  pid: number;
  /** What it was doing, from pg_stat_activity (`autovacuum: VACUUM public.orders`). */
  activity: string;
  /** True when curtain cancelled it; false when the role may not (then `why`). */
  cancelled: boolean;
  why?: string;
}

/**
 * While a DDL step runs, look every `intervalMs` whether backend `pid()` waits
 * for a lock an autovacuum worker holds; cancel that worker when the role may
 * (superuser, or `pg_signal_autovacuum_worker` on PostgreSQL 18) and tell
 * `onConflict` once per worker. Starts looking only after the first
 * interval, so a step that takes its lock at once costs nothing.
 *
 * @example
 * const watch = watchAutovacuum(pool, () => processId(client), (c) => console.log(c));
 * try { await client.query('ALTER TABLE orders ADD COLUMN note text'); } finally { watch.stop(); }
 */
export function watchAutovacuum(
  pool: pg.Pool,
  pid: () => number | undefined,
  onConflict: (c: AutovacuumConflict) => void,
  intervalMs = 50,
): { stop(): void } {
  // A worker keeps its pid from table to table: one report per pid and activity, a cancel every time it blocks.
  const seen = new Set<string>();
  // Best effort: a failed look (pool busy, connection lost) is the step's business, not ours.
  return pollEvery(intervalMs, async (active) => {
    const p = pid();
    if (p !== undefined) await resolve(pool, p, seen, onConflict, active);
  });
}

/** Cancel the autovacuum workers blocking `pid`, while the step still waits (`active`). */
async function resolve(
  pool: pg.Pool,
  pid: number,
  seen: Set<string>,
  onConflict: (c: AutovacuumConflict) => void,
  active: () => boolean,
): Promise<void> {
  const { rows } = await pool.query<{ pid: number; activity: string }>(
    `SELECT a.pid, coalesce(a.query, '') AS activity FROM pg_stat_activity a
      WHERE a.pid = ANY (pg_blocking_pids($1)) AND a.backend_type = 'autovacuum worker'
        AND coalesce(a.query, '') NOT LIKE '%to prevent wraparound%'`,
    [pid],
  );
  for (const r of rows) {
    if (!active()) return;
    const report = (c: AutovacuumConflict) => {
      const key = `${r.pid}\u0000${r.activity}`;
      if (!seen.has(key) && active()) onConflict(c);
      seen.add(key);
    };
    try {
      // Checked again in the same statement: between the look and the cancel the worker may have moved on.
      const { rows: sent } = await pool.query<{ sent: boolean }>(
        `SELECT pg_cancel_backend(pid) AS sent FROM pg_stat_activity
          WHERE pid = $1 AND backend_type = 'autovacuum worker' AND coalesce(query, '') = $2`,
        [r.pid, r.activity],
      );
      if (sent[0]?.sent) report({ pid: r.pid, activity: r.activity, cancelled: true });
    } catch (err) {
      report({
        pid: r.pid,
        activity: r.activity,
        cancelled: false,
        why: `${(err as Error).message} (cancelling autovacuum needs superuser, or pg_signal_autovacuum_worker on PostgreSQL 18)`,
      });
    }
  }
}
