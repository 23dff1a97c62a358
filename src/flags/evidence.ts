import { quoteIdent } from '../db/identifiers.js';
import type { Queryable } from '../db/queryable.js';
import type { FlagRow } from './store.js';
import { liveClients, type LiveClient } from './usage.js';

/** Default reporting interval of a client that does not say its own. */
const DEFAULT_REPORT_MS = 5_000;

/** What the telemetry can say about a fully-on flag: whether anything still takes the old path. */
export type TelemetryEvidence =
  | { verdict: 'no-clients'; why: string }
  | { verdict: 'pass'; why: string; clients: number }
  | { verdict: 'wait'; why: string; waitMs: number; clients: number }
  | { verdict: 'refuse'; why: string; clients: number; falseCount: number };

/**
 * Decide, on evidence, whether every live flags client has left the old path
 * of a flag that is fully on. Clients file their evaluation counts under the
 * flags version they were made with, and report the version they have loaded:
 *
 * - no client reports to this database: no evidence either way (`no-clients`);
 * - a live client has not reported the flag's current version yet: `wait`
 *   (it may still evaluate the old value; a client polling every ten minutes
 *   stays here until it reloads);
 * - any false evaluation made with the current version or a later one:
 *   `refuse` (some code still takes the old path);
 * - otherwise `pass`: every live client has loaded the change, reported since,
 *   and none evaluated the flag false with it. Evaluations made before a
 *   client loaded the change are not counted against it.
 *
 * @example
 * const e = await telemetryEvidence(pool, 'curtain', flag);
 * if (e.verdict === 'refuse') console.log(e.why);
 */
export async function telemetryEvidence(q: Queryable, schema: string, flag: FlagRow): Promise<TelemetryEvidence> {
  const live = await liveClients(q, schema);
  if (live.length === 0) return { verdict: 'no-clients', why: 'no flags client reports to this database' };
  const every = (c: LiveClient) => c.reportEveryMs ?? DEFAULT_REPORT_MS;
  const name = (c: LiveClient) => `${c.appName} (pid ${c.pid} on ${c.host})`;

  const stale = live.filter((c) => (c.flagsVersion ?? -1) < flag.version);
  if (stale.length > 0) {
    return {
      verdict: 'wait',
      why: `${stale.length} live client(s) have not loaded the change of ${flag.key} yet, so they may still take the old path: ${stale.slice(0, 5).map(name).join(', ')}`,
      waitMs: Math.max(...stale.map(every)),
      clients: live.length,
    };
  }
  const { rows } = await q.query<{ n: string }>(
    `SELECT coalesce(sum(false_count), 0) AS n FROM ${quoteIdent(schema)}.flag_usage WHERE key = $1 AND flags_version >= $2`,
    [flag.key, flag.version],
  );
  const falseCount = Number(rows[0]?.n ?? 0);
  if (falseCount > 0) {
    return {
      verdict: 'refuse',
      why: `${falseCount} evaluation(s) of ${flag.key} returned false since it went fully on (${live.length} live client(s) reporting): some code still takes the old path`,
      clients: live.length,
      falseCount,
    };
  }
  return { verdict: 'pass', why: `${live.length} live client(s) loaded the change and reported no false evaluation with it`, clients: live.length };
}
