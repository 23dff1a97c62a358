import pg from 'pg';
import type { Config } from '../config.js';
import { readOnly } from '../db/transaction.js';
import { CurtainError, UsageError } from '../errors.js';
import { bytesBehind, parseLsn, WalHistory } from './wal-history.js';

/** A replica the throttle connects to. */
export interface ReplicaTarget {
  /** Shown in reasons: `replica r1 lag 7.2 s > 5 s`. */
  name: string;
  /** Connection string of the standby. */
  url: string;
}

/** What to throttle on; everything is optional and off unless given (replica lag: on by default). */
export interface ThrottleOptions {
  /**
   * Throttle while a replica is further behind than this (ms). Default 5000,
   * applied to the standbys the primary reports in `pg_stat_replication` and
   * to `replicaUrls`; with neither, there is nothing to check. `null` turns
   * replica checks off.
   */
  maxReplicaLagMs?: number | null;
  /** Standbys to connect to (strings are named r1, r2, ... by position). */
  replicaUrls?: (string | ReplicaTarget)[];
  /** SQL run on the primary at every check; throttle while its first column is true. */
  throttleQuery?: string;
  /** Throttle while more client backends than this are active (server-wide, this session excluded). */
  maxActiveBackends?: number;
  /** Throttle while more client backends than this wait on a lock (server-wide). */
  maxLockWaiters?: number;
  /** Connect and query timeout for replica connections and the throttle query (default 2000 ms). */
  timeoutMs?: number;
}

/** One replica's state at a check. */
export interface ReplicaLag {
  name: string;
  /** `pg_stat_replication` on the primary, or a connection to the replica. */
  source: 'pg_stat_replication' | 'connection';
  /** Estimated time lag; null when it could not be measured. */
  lagMs: number | null;
  /** WAL bytes the replica has not replayed; null when unknown. */
  bytesBehind: number | null;
  /** Why it could not be measured. */
  error?: string;
}

/** The outcome of one check. */
export interface ThrottleState {
  throttled: boolean;
  /** Every reason joined with `; ` (empty when not throttled), e.g. `replica r1 lag 7.2 s > 5 s`. */
  reason: string;
  reasons: string[];
  replicas: ReplicaLag[];
  /** Things worth knowing that do not throttle (a replica URL that is not a standby, ...). */
  notes: string[];
  checkedAt: Date;
}

/** Checks between backfill batches; see {@link createThrottle}. */
export interface Throttle {
  /** True when anything at all can throttle (a threshold, a query, a replica). */
  readonly active: boolean;
  /** Measure everything once. Never throws on a failing replica or query: that throttles, with the reason. */
  check(): Promise<ThrottleState>;
  /** Close the replica connections. */
  close(): Promise<void>;
}

const DEFAULT_MAX_LAG_MS = 5000;
const DEFAULT_TIMEOUT_MS = 2000;
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,62}$/;

/**
 * Build a throttle for a backfill on `pool`'s database (the primary).
 *
 * Between batches, `check()` measures replica lag (from `pg_stat_replication`
 * on the primary, and from each replica URL: `pg_last_wal_replay_lsn()`
 * against the primary's WAL position, turned into time as explained in
 * wal-history.ts), runs the throttle query, and counts active backends and
 * lock waiters. A replica that cannot be reached, or a throttle query that
 * fails, throttles (reported as the reason): the backfill then waits rather
 * than run blind, and resumes by itself once the check succeeds again.
 * Invalid options, and a throttle query that fails or does not return a
 * boolean at creation, throw a CurtainError.
 *
 * @example
 * const t = await createThrottle(pool, { maxReplicaLagMs: 5000, replicaUrls: ['postgres://replica-1/app'], maxActiveBackends: 40 });
 * const state = await t.check();
 * if (state.throttled) console.log(`throttled: ${state.reason}`); // throttled: replica r1 lag 7.2 s > 5 s
 * await t.close();
 */
export async function createThrottle(pool: pg.Pool, options: ThrottleOptions = {}): Promise<Throttle> {
  const o = validate(options);
  const history = new WalHistory();
  const replicas = o.replicas.map((r) => ({ ...r, pool: replicaPool(r, o.timeoutMs) }));
  try {
    if (o.throttleQuery !== undefined) await probeThrottleQuery(pool, o.throttleQuery, o.timeoutMs);
    if (o.maxReplicaLagMs !== null) await sampleWal(pool, history);
  } catch (err) {
    await Promise.all(replicas.map((r) => r.pool.end()));
    throw err;
  }

  const active =
    o.maxReplicaLagMs !== null || o.throttleQuery !== undefined || o.maxActiveBackends !== undefined || o.maxLockWaiters !== undefined;

  async function check(): Promise<ThrottleState> {
    const reasons: string[] = [];
    const notes: string[] = [];
    const lags: ReplicaLag[] = [];
    try {
      const p = await primaryState(pool, o.maxReplicaLagMs !== null);
      const now = Date.now();
      if (p.lsn !== null) history.record(now, parseLsn(p.lsn));
      if (o.maxActiveBackends !== undefined && p.active > o.maxActiveBackends) {
        reasons.push(`${p.active} active backends > ${o.maxActiveBackends}`);
      }
      if (o.maxLockWaiters !== undefined && p.waiters > o.maxLockWaiters) {
        reasons.push(`${p.waiters} sessions waiting on locks > ${o.maxLockWaiters}`);
      }
      for (const r of p.replicas) {
        if (r.replay === null) {
          notes.push(`replica ${r.name}: replay position not visible (the connecting role needs pg_monitor)`);
          lags.push({ name: r.name, source: 'pg_stat_replication', lagMs: null, bytesBehind: null, error: 'replay position not visible' });
          continue;
        }
        const replay = parseLsn(r.replay);
        const behind = p.lsn === null ? 0n : bytesBehind(parseLsn(p.lsn), replay);
        // Caught up by position: a stale replay_lag from an earlier burst must not throttle.
        const lagMs = behind === 0n ? 0 : Math.max(r.replayLagMs ?? 0, history.lagMs(replay, now));
        lags.push({ name: r.name, source: 'pg_stat_replication', lagMs, bytesBehind: Number(behind) });
      }
    } catch (err) {
      reasons.push(`cannot read the primary's state: ${message(err)}`);
    }
    await Promise.all(
      replicas.map(async (r) => {
        const lag = await replicaLag(r, history);
        lags.push(lag);
        if (lag.error !== undefined) reasons.push(`replica ${r.name} unreachable: ${lag.error}`);
        else if (lag.lagMs === null) notes.push(`replica ${r.name} is not a standby (pg_is_in_recovery() is false); not checked`);
      }),
    );
    if (o.maxReplicaLagMs !== null) {
      for (const l of lags) {
        if (l.lagMs !== null && l.lagMs > o.maxReplicaLagMs) {
          reasons.push(`replica ${l.name} lag ${seconds(l.lagMs)} > ${seconds(o.maxReplicaLagMs)}${l.bytesBehind ? ` (${bytes(l.bytesBehind)} behind)` : ''}`);
        }
      }
    }
    // After the primary's state, not beside it: run together, each would count the other as an active backend.
    if (o.throttleQuery !== undefined) {
      try {
        if (await runThrottleQuery(pool, o.throttleQuery, o.timeoutMs)) reasons.push('throttle query returned true');
      } catch (err) {
        reasons.push(`throttle query failed: ${message(err)}`);
      }
    }
    return { throttled: reasons.length > 0, reason: reasons.join('; '), reasons, replicas: lags, notes, checkedAt: new Date() };
  }

  return {
    active: active || replicas.length > 0,
    check,
    async close() {
      await Promise.all(replicas.map((r) => r.pool.end().catch(() => {})));
    },
  };
}

/**
 * The throttle options of a loaded configuration (`backfill.*` keys).
 *
 * @example
 * const throttle = await createThrottle(pool, throttleOptionsFrom(config.backfill));
 */
export function throttleOptionsFrom(backfill: Config['backfill']): ThrottleOptions {
  return {
    maxReplicaLagMs: backfill.maxReplicaLagMs,
    replicaUrls: backfill.replicas,
    throttleQuery: backfill.throttleQuery,
    maxActiveBackends: backfill.maxActiveBackends,
    maxLockWaiters: backfill.maxLockWaiters,
  };
}

interface Validated {
  maxReplicaLagMs: number | null;
  replicas: ReplicaTarget[];
  throttleQuery?: string;
  maxActiveBackends?: number;
  maxLockWaiters?: number;
  timeoutMs: number;
}

function validate(options: ThrottleOptions): Validated {
  const nonNegative = (v: number | undefined, what: string) => {
    if (v !== undefined && !(Number.isFinite(v) && v >= 0)) throw new UsageError(`${what} must be a non-negative number, got ${v}`);
    return v;
  };
  const maxReplicaLagMs = options.maxReplicaLagMs === null ? null : (nonNegative(options.maxReplicaLagMs, 'maxReplicaLag') ?? DEFAULT_MAX_LAG_MS);
  const replicas = (options.replicaUrls ?? []).map((r, i) => (typeof r === 'string' ? { name: `r${i + 1}`, url: r } : r));
  const seen = new Set<string>();
  for (const r of replicas) {
    if (seen.has(r.name)) throw new UsageError(`two replicas are named ${JSON.stringify(r.name)}`, 'give each replica its own name');
    seen.add(r.name);
    checkReplicaTarget(r);
  }
  if (options.throttleQuery !== undefined && options.throttleQuery.trim() === '') throw new UsageError('the throttle query is empty');
  const maxActiveBackends = nonNegative(options.maxActiveBackends, 'maxActiveBackends');
  const maxLockWaiters = nonNegative(options.maxLockWaiters, 'maxLockWaiters');
  const timeoutMs = nonNegative(options.timeoutMs, 'timeoutMs') ?? DEFAULT_TIMEOUT_MS;
  return { maxReplicaLagMs, replicas, throttleQuery: options.throttleQuery, maxActiveBackends, maxLockWaiters, timeoutMs };
}

/**
 * A replica needs a plain name (it is what reasons show, never the URL with
 * its password) and a `postgres://` / `postgresql://` URL.
 *
 * @example
 * checkReplicaTarget({ name: 'r1', url: 'postgres://replica-1:5432/app' });
 */
export function checkReplicaTarget(r: ReplicaTarget): void {
  if (!NAME.test(r.name)) throw new UsageError(`replica name ${JSON.stringify(r.name)} is not valid`, 'use letters, digits, _ . : - (at most 63)');
  let ok = false;
  try {
    ok = ['postgres:', 'postgresql:'].includes(new URL(r.url).protocol);
  } catch {
    ok = false;
  }
  if (!ok) throw new UsageError(`replica ${r.name}: ${JSON.stringify(redact(r.url))} is not a postgres:// connection URL`, 'e.g. postgres://user@replica-1:5432/app');
}

function redact(url: string): string {
  return url.replace(/\/\/([^:/@]*):[^@]*@/, '//$1:***@');
}

function replicaPool(r: ReplicaTarget, timeoutMs: number): pg.Pool {
  const p = new pg.Pool({
    connectionString: r.url,
    max: 1,
    connectionTimeoutMillis: timeoutMs,
    query_timeout: timeoutMs,
    application_name: 'curtain throttle',
  });
  // A replica restarting kills the idle connection: the next check reconnects (or reports it).
  p.on('error', () => {});
  return p;
}

interface PrimaryState {
  lsn: string | null;
  active: number;
  waiters: number;
  replicas: { name: string; replay: string | null; replayLagMs: number | null }[];
}

/** One round trip: WAL position, physical standbys, load. */
async function primaryState(pool: pg.Pool, withReplicas: boolean): Promise<PrimaryState> {
  const { rows } = await pool.query<{ lsn: string | null; active: number; waiters: number; replicas: PrimaryState['replicas'] | null }>(
    `SELECT CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_current_wal_lsn()::text END AS lsn,
            (SELECT count(*)::int FROM pg_stat_activity
              WHERE backend_type = 'client backend' AND state = 'active' AND pid <> pg_backend_pid()) AS active,
            (SELECT count(*)::int FROM pg_stat_activity WHERE backend_type = 'client backend' AND wait_event_type = 'Lock') AS waiters,
            CASE WHEN $1::boolean THEN
              (SELECT json_agg(json_build_object(
                        'name', coalesce(nullif(r.application_name, ''), host(r.client_addr), 'pid ' || r.pid),
                        'replay', r.replay_lsn::text,
                        'replayLagMs', extract(epoch FROM r.replay_lag) * 1000) ORDER BY r.application_name, r.pid)
                 FROM pg_stat_replication r
                WHERE r.state IN ('streaming', 'catchup')
                  AND NOT EXISTS (SELECT 1 FROM pg_replication_slots s WHERE s.active_pid = r.pid AND s.slot_type = 'logical'))
            END AS replicas`,
    [withReplicas],
  );
  const r = rows[0]!;
  return { lsn: r.lsn, active: r.active, waiters: r.waiters, replicas: r.replicas ?? [] };
}

async function sampleWal(pool: pg.Pool, history: WalHistory): Promise<void> {
  const { rows } = await pool.query<{ lsn: string | null }>(
    'SELECT CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_current_wal_lsn()::text END AS lsn',
  );
  if (rows[0]?.lsn) history.record(Date.now(), parseLsn(rows[0].lsn));
}

/** A replica's replay position against the primary's samples; errors are returned, never thrown. */
async function replicaLag(r: ReplicaTarget & { pool: pg.Pool }, history: WalHistory): Promise<ReplicaLag> {
  const base = { name: r.name, source: 'connection' as const };
  try {
    const { rows } = await r.pool.query<{ standby: boolean; replay: string | null }>(
      'SELECT pg_is_in_recovery() AS standby, pg_last_wal_replay_lsn()::text AS replay',
    );
    const row = rows[0]!;
    if (!row.standby || row.replay === null) return { ...base, lagMs: null, bytesBehind: null };
    const replay = parseLsn(row.replay);
    const latest = history.latest();
    const behind = latest === undefined ? 0n : bytesBehind(latest, replay);
    return { ...base, lagMs: behind === 0n ? 0 : history.lagMs(replay, Date.now()), bytesBehind: Number(behind) };
  } catch (err) {
    return { ...base, lagMs: null, bytesBehind: null, error: message(err) };
  }
}

/** Run once at creation: a query that cannot run, or returns no boolean, is a configuration error. */
async function probeThrottleQuery(pool: pg.Pool, sql: string, timeoutMs: number): Promise<void> {
  try {
    await runThrottleQuery(pool, sql, timeoutMs);
  } catch (err) {
    if (err instanceof CurtainError) throw err;
    throw new CurtainError(`the throttle query failed: ${message(err)}`, {
      hint: 'backfill.throttleQuery must be one read-only SELECT whose first column is a boolean (true = throttle)',
      cause: err,
    });
  }
}

/** Read-only, time-limited; true when the first column of the first row is true. */
async function runThrottleQuery(pool: pg.Pool, sql: string, timeoutMs: number): Promise<boolean> {
  return readOnly(pool, timeoutMs, async (tx) => {
    const result = await tx.query({ text: sql, rowMode: 'array' });
    const field = result.fields[0];
    if (field === undefined || field.dataTypeID !== 16) {
      throw new CurtainError('the throttle query must return a boolean first column (true = throttle)', {
        hint: `e.g. SELECT count(*) > 100 FROM pg_stat_activity; it returned ${field ? `a column of type oid ${field.dataTypeID}` : 'no columns'}`,
      });
    }
    return (result.rows[0] as unknown[] | undefined)?.[0] === true;
  });
}

function seconds(ms: number): string {
  const s = ms / 1000;
  return `${Number.isInteger(s) ? s : s.toFixed(1)} s`;
}

function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} kB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MB`;
  return `${(n / 1024 ** 3).toFixed(1)} GB`;
}

function message(err: unknown): string {
  return (err as Error)?.message ?? String(err);
}
