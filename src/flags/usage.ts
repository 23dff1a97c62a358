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

/** Most distinct (flag, event) pairs tracked between flushes. */
const MAX_TRACKED = 1000;
export const MAX_EVENT_LENGTH = 128;

/** Why `event` cannot be a tracked event name, or undefined. */
export function trackEventProblem(event: unknown): string | undefined {
  if (typeof event !== 'string' || event.length === 0) return `a tracked event name must be a non-empty string, got ${JSON.stringify(event)}`;
  if (event.length > MAX_EVENT_LENGTH) return `tracked event name "${event.slice(0, 40)}..." is longer than ${MAX_EVENT_LENGTH} characters`;
  return undefined;
}

interface Tracked {
  key: string;
  event: string;
  /** Counts when the flag was true / false for the subject. */
  t: number;
  f: number;
}

/**
 * Collects counts between flushes. Known flags count on their compiled
 * objects (no map lookup on the hot path); unknown keys count here.
 */
/** Telemetry older than this is deleted by the clients themselves (at most once an hour each). */
export const USAGE_RETENTION_DAYS = 30;
const PRUNE_EVERY_MS = 3_600_000;

/**
 * Collects counts between flushes. Flags count on their compiled objects (no
 * map lookup on the hot path); only flags that exist get rows — unknown keys
 * are counted in memory by the client (see unknown.ts).
 */
export class UsageRecorder {
  /** Counts by flags version and key: evaluations made before a change was loaded are told from those after. */
  private pending = new Map<string, { key: string; version: number; t: number; f: number }>();
  private tracked = new Map<string, Tracked>();
  private lastPrune = 0;
  /** The curtain schema predates versioned telemetry (internal migration 008). */
  private legacy = false;

  constructor(
    private readonly schema: string,
    readonly identity: ClientIdentity,
  ) {}

  /** Count a tracked event on the side (`value`) the flag took. */
  countTrack(key: string, event: string, value: boolean): void {
    const id = `${key}\u0000${event}`;
    let c = this.tracked.get(id);
    if (c === undefined) {
      if (this.tracked.size >= MAX_TRACKED) return;
      c = { key, event, t: 0, f: 0 };
      this.tracked.set(id, c);
    }
    if (value) c.t++;
    else c.f++;
  }

  /** Move a table's counters into the pending batch (before the table is replaced, and at flush). */
  harvest(table: FlagTable, version = 0): void {
    for (const flag of table.values()) {
      if (flag.trueCount === 0 && flag.falseCount === 0) continue;
      const id = `${version}\u0000${flag.key}`;
      const c = this.pending.get(id) ?? { key: flag.key, version, t: 0, f: 0 };
      c.t += flag.trueCount;
      c.f += flag.falseCount;
      flag.trueCount = 0;
      flag.falseCount = 0;
      this.pending.set(id, c);
    }
  }

  /**
   * Heartbeat plus the pending counts, into the current minute's rows. On
   * failure the counts are kept for the next attempt.
   */
  async flush(q: Queryable, table: FlagTable, loaded?: { version: number; everyMs: number }): Promise<void> {
    this.harvest(table, loaded?.version ?? 0);
    const batch = this.pending;
    this.pending = new Map();
    const tracked = this.tracked;
    this.tracked = new Map();
    const s = quoteIdent(this.schema);
    const { id, appName, host, pid } = this.identity;
    try {
      // A curtain schema older than this library has neither the version columns nor the versioned key:
      // report as it understands (the telemetry guard then sees no version from this client).
      if (this.legacy) {
        await q.query(`INSERT INTO ${s}.clients (id, app_name, host, pid) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO UPDATE SET last_seen_at = now()`, [id, appName, host, pid]);
      } else {
        await q
          .query(
            `INSERT INTO ${s}.clients (id, app_name, host, pid, flags_version, report_every_ms) VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (id) DO UPDATE SET last_seen_at = now(), flags_version = EXCLUDED.flags_version, report_every_ms = EXCLUDED.report_every_ms`,
            [id, appName, host, pid, loaded?.version ?? null, loaded?.everyMs ?? null],
          )
          .catch(async (err: { code?: string }) => {
            if (err.code !== '42703') throw err; // undefined_column: an older schema
            this.legacy = true;
            await q.query(`INSERT INTO ${s}.clients (id, app_name, host, pid) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO UPDATE SET last_seen_at = now()`, [id, appName, host, pid]);
          });
      }
      await this.prune(q);
      if (batch.size > 0 && this.legacy) {
        // Older schema: one row per key and minute, versions summed.
        const byKey = new Map<string, { t: number; f: number }>();
        for (const c of batch.values()) {
          const k = byKey.get(c.key) ?? { t: 0, f: 0 };
          k.t += c.t;
          k.f += c.f;
          byKey.set(c.key, k);
        }
        const keys = [...byKey.keys()];
        await q.query(
          `INSERT INTO ${s}.flag_usage AS u (client_id, key, window_start, true_count, false_count)
           SELECT $1, k, date_trunc('minute', now()), t, f FROM unnest($2::text[], $3::bigint[], $4::bigint[]) AS x(k, t, f)
           ON CONFLICT (client_id, key, window_start) DO UPDATE
             SET true_count = u.true_count + EXCLUDED.true_count, false_count = u.false_count + EXCLUDED.false_count`,
          [id, keys, keys.map((k) => byKey.get(k)!.t), keys.map((k) => byKey.get(k)!.f)],
        );
      } else if (batch.size > 0) {
        const counts = [...batch.values()];
        await q.query(
          `INSERT INTO ${s}.flag_usage AS u (client_id, key, window_start, flags_version, true_count, false_count)
           SELECT $1, k, date_trunc('minute', now()), v, t, f FROM unnest($2::text[], $3::bigint[], $4::bigint[], $5::bigint[]) AS x(k, v, t, f)
           ON CONFLICT (client_id, key, window_start, flags_version) DO UPDATE
             SET true_count = u.true_count + EXCLUDED.true_count, false_count = u.false_count + EXCLUDED.false_count`,
          [id, counts.map((c) => c.key), counts.map((c) => c.version), counts.map((c) => c.t), counts.map((c) => c.f)],
        );
      }
    } catch (err) {
      merge(this.pending, batch);
      merge(this.tracked, tracked);
      throw err;
    }
    // Separately: evaluation counts are written once, whatever happens to these.
    if (tracked.size === 0) return;
    const rows = [...tracked.values()].flatMap((c) => [
      ...(c.t > 0 ? [{ key: c.key, event: c.event, value: true, n: c.t }] : []),
      ...(c.f > 0 ? [{ key: c.key, event: c.event, value: false, n: c.f }] : []),
    ]);
    try {
      await q.query(
        `INSERT INTO ${s}.flag_tracking AS t (client_id, key, event, value, window_start, count)
         SELECT $1, k, e, v, date_trunc('minute', now()), n FROM unnest($2::text[], $3::text[], $4::boolean[], $5::bigint[]) AS x(k, e, v, n)
         ON CONFLICT (client_id, key, event, value, window_start) DO UPDATE SET count = t.count + EXCLUDED.count`,
        [id, rows.map((r) => r.key), rows.map((r) => r.event), rows.map((r) => r.value), rows.map((r) => r.n)],
      );
    } catch (err) {
      // A curtain schema older than this library (no flag_tracking yet): drop them rather than retry forever.
      if ((err as { code?: string }).code !== '42P01') merge(this.tracked, tracked);
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
    await q.query(`DELETE FROM ${s}.flag_tracking WHERE window_start < ${cutoff}`).catch((err: { code?: string }) => {
      if (err.code !== '42P01') throw err; // a schema older than this library has no flag_tracking
    });
    await q.query(`DELETE FROM ${s}.clients c WHERE last_seen_at < ${cutoff} AND NOT EXISTS (SELECT 1 FROM ${s}.flag_usage u WHERE u.client_id = c.id)`);
  }
}

/** Add counts that could not be written back into the pending ones. */
function merge<T extends { t: number; f: number }>(into: Map<string, T>, from: Map<string, T>): void {
  for (const [k, c] of from) {
    const p = into.get(k);
    if (p) {
      p.t += c.t;
      p.f += c.f;
    } else into.set(k, c);
  }
}

/** A flags client that has reported recently, with what it has loaded. */
export interface LiveClient {
  id: string;
  appName: string;
  host: string;
  pid: number;
  flagsVersion: number | null;
  reportEveryMs: number | null;
  lastSeenAt: Date;
}

/**
 * Clients seen within three of their own reporting intervals (or `fallbackMs`
 * for clients that do not say how often they report).
 *
 * @example
 * const stale = (await liveClients(pool, 'curtain')).filter((c) => (c.flagsVersion ?? -1) < version);
 */
export async function liveClients(q: Queryable, schema: string, fallbackMs = 15_000): Promise<LiveClient[]> {
  const { rows } = await q.query(
    `SELECT id, app_name, host, pid, flags_version, report_every_ms, last_seen_at FROM ${quoteIdent(schema)}.clients
      WHERE last_seen_at >= now() - make_interval(secs => 3 * coalesce(report_every_ms, $1)::float8 / 1000)`,
    [fallbackMs],
  );
  return rows.map((r) => ({
    id: r.id,
    appName: r.app_name,
    host: r.host,
    pid: r.pid,
    flagsVersion: r.flags_version === null ? null : Number(r.flags_version),
    reportEveryMs: r.report_every_ms,
    lastSeenAt: r.last_seen_at,
  }));
}
