/**
 * Usage telemetry: each client registers itself in `<schema>.clients` and
 * flushes how often each flag answered true/false into `<schema>.flag_usage`
 * (one row per client, flag and minute). The contract guard and
 * `migrate flags list` read it back with {@link flagUsage}.
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { quoteIdent } from '../db/identifiers.js';
import type { Queryable } from '../db/queryable.js';
import type { FlagTable } from './evaluate.js';

/** Per-flag usage over a window. */
export interface FlagUsage {
  key: string;
  /** Clients that evaluated the flag in the window and were seen alive in it. */
  liveClients: number;
  trueCount: number;
  falseCount: number;
  /** Start of the newest minute with evaluations. */
  lastWindow: Date | null;
}

/**
 * How each flag (or one) was evaluated over the last `windowMs` (default 15
 * minutes), by every client that reports telemetry. Flags nobody evaluated
 * are absent.
 *
 * @example
 * const [usage] = await flagUsage(pool, 'curtain', 'checkout.v2', { windowMs: 15 * 60_000 });
 * if (usage && usage.falseCount > 0) console.log('someone still takes the old path');
 */
export async function flagUsage(q: Queryable, schema: string, key?: string, options: { windowMs?: number } = {}): Promise<FlagUsage[]> {
  const s = quoteIdent(schema);
  const windowMs = options.windowMs ?? 15 * 60_000;
  const { rows } = await q.query(
    `SELECT u.key,
            count(DISTINCT u.client_id) FILTER (WHERE c.last_seen_at >= now() - make_interval(secs => $1::float8 / 1000)) AS live_clients,
            COALESCE(sum(u.true_count), 0) AS true_count,
            COALESCE(sum(u.false_count), 0) AS false_count,
            max(u.window_start) AS last_window
       FROM ${s}.flag_usage u LEFT JOIN ${s}.clients c ON c.id = u.client_id
      WHERE u.window_start >= date_trunc('minute', now() - make_interval(secs => $1::float8 / 1000))
        AND ($2::text IS NULL OR u.key = $2)
      GROUP BY u.key ORDER BY u.key`,
    [windowMs, key ?? null],
  );
  return rows.map((r) => ({
    key: r.key,
    liveClients: Number(r.live_clients),
    trueCount: Number(r.true_count),
    falseCount: Number(r.false_count),
    lastWindow: r.last_window,
  }));
}

/** Identity of this process as a flags client. */
export interface ClientIdentity {
  id: string;
  appName: string;
  host: string;
  pid: number;
}

/** A fresh identity for this process. */
export function clientIdentity(appName: string): ClientIdentity {
  const host = os.hostname();
  return { id: `${host}:${process.pid}:${randomBytes(4).toString('hex')}`, appName, host, pid: process.pid };
}

/** Telemetry older than this is deleted by the clients themselves (at most once an hour each). */
export const USAGE_RETENTION_DAYS = 30;
const PRUNE_EVERY_MS = 3_600_000;

/**
 * Collects counts between flushes. Flags count on their compiled objects (no
 * map lookup on the hot path); only flags that exist get rows — unknown keys
 * are counted in memory by the client (see unknown.ts).
 */
export class UsageRecorder {
  private pending = new Map<string, { t: number; f: number }>();
  private lastPrune = 0;

  constructor(
    private readonly schema: string,
    readonly identity: ClientIdentity,
  ) {}

  /** Move a table's counters into the pending batch (before the table is replaced, and at flush). */
  harvest(table: FlagTable): void {
    for (const flag of table.values()) {
      if (flag.trueCount === 0 && flag.falseCount === 0) continue;
      const c = this.pending.get(flag.key) ?? { t: 0, f: 0 };
      c.t += flag.trueCount;
      c.f += flag.falseCount;
      flag.trueCount = 0;
      flag.falseCount = 0;
      this.pending.set(flag.key, c);
    }
  }

  /**
   * Heartbeat plus the pending counts, into the current minute's rows. On
   * failure the counts are kept for the next attempt.
   */
  async flush(q: Queryable, table: FlagTable): Promise<void> {
    this.harvest(table);
    const batch = this.pending;
    this.pending = new Map();
    const s = quoteIdent(this.schema);
    const { id, appName, host, pid } = this.identity;
    try {
      await q.query(
        `INSERT INTO ${s}.clients (id, app_name, host, pid) VALUES ($1, $2, $3, $4)
         ON CONFLICT (id) DO UPDATE SET last_seen_at = now()`,
        [id, appName, host, pid],
      );
      await this.prune(q);
      if (batch.size === 0) return;
      const keys = [...batch.keys()];
      await q.query(
        `INSERT INTO ${s}.flag_usage AS u (client_id, key, window_start, true_count, false_count)
         SELECT $1, k, date_trunc('minute', now()), t, f FROM unnest($2::text[], $3::bigint[], $4::bigint[]) AS x(k, t, f)
         ON CONFLICT (client_id, key, window_start) DO UPDATE
           SET true_count = u.true_count + EXCLUDED.true_count, false_count = u.false_count + EXCLUDED.false_count`,
        [id, keys, keys.map((k) => batch.get(k)!.t), keys.map((k) => batch.get(k)!.f)],
      );
    } catch (err) {
      for (const [k, c] of batch) {
        const p = this.pending.get(k);
        if (p) {
          p.t += c.t;
          p.f += c.f;
        } else this.pending.set(k, c);
      }
      throw err;
    }
  }

  /** Keep flag_usage and clients from growing without bound: one row per client, flag and minute adds up. */
  private async prune(q: Queryable): Promise<void> {
    if (Date.now() - this.lastPrune < PRUNE_EVERY_MS) return;
    this.lastPrune = Date.now();
    const s = quoteIdent(this.schema);
    const cutoff = `now() - make_interval(days => ${USAGE_RETENTION_DAYS})`;
    await q.query(`DELETE FROM ${s}.flag_usage WHERE window_start < ${cutoff}`);
    await q.query(`DELETE FROM ${s}.clients c WHERE last_seen_at < ${cutoff} AND NOT EXISTS (SELECT 1 FROM ${s}.flag_usage u WHERE u.client_id = c.id)`);
  }
}
