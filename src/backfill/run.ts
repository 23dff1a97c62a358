import type pg from 'pg';
import { quoteQualified } from '../db/identifiers.js';
import { processId, type Queryable } from '../db/queryable.js';
import { DEADLOCK, LOCK_NOT_AVAILABLE, sleep, transaction } from '../db/transaction.js';
import { BackfillPausedError, BackfillRowError } from '../errors.js';
import type { BackfillTask } from '../ops/operation.js';
import { BACKFILL_GUC } from '../ops/triggers.js';
import { ctidBatchSql, keysetBatchSql, sweepSql, type KeyColumn } from './batches.js';
import { describeBlocker, watchBlockers, type BlockingSession } from './blockers.js';
import { readCheckpoint, seedCheckpoint, writeCheckpoint, type Checkpoint } from '../store/checkpoints.js';
import { isDataError, locateFailingRow, type FailedBatch } from './failing-row.js';

export type { BlockingSession };
import { canSkipUserTriggers } from './user-triggers.js';
import { backfillLeaves, onPartition } from './partitions.js';
import { createPacer } from './pacing.js';
import type { ThrottleOptions } from './throttle.js';

/** A progress event, after every batch. */
export interface BackfillProgress {
  /** `schema.table` */
  table: string;
  /** `schema.partition` being walked, for a partitioned table (counts are summed over all its partitions). */
  partition?: string;
  rowsDone: number;
  rowsTotal: number;
  rowsPerSecond: number;
  /** `null` until a rate is known. */
  etaSeconds: number | null;
  /** Set while the current batch waits for row locks: who holds them. */
  waitingFor?: BlockingSession;
  /** Set while the backfill waits before its next batch: paused, or throttled (replica lag, load, the throttle query). */
  throttled?: string;
}

export interface BackfillOptions {
  /** The curtain schema (holds `backfill_checkpoints`). */
  schema: string;
  migration: string;
  /** Rows per batch. Without it, batches start at 1000 rows and adapt to `targetBatchMs`. */
  batchSize?: number;
  /** Target duration of one batch when adaptive (default 300 ms). */
  targetBatchMs?: number;
  /** Pause between batches, to leave room for application traffic. */
  batchDelayMs?: number;
  /** `lock_timeout` of each batch (default 1000 ms); a batch that times out is retried. */
  lockTimeoutMs?: number;
  /** Retries of a batch that hits the lock timeout or a deadlock (config `lockRetries`, default 30). */
  lockRetries?: number;
  /**
   * The longest one batch keeps retrying for row locks before the backfill
   * pauses with {@link BackfillPausedError} (config `backfill.maxLockWait`, default 10 min).
   */
  maxLockWaitMs?: number;
  /**
   * Called first inside each batch's transaction, which also writes the
   * checkpoint: throw (e.g. the migrate lock's `assertHeld`) to stop before
   * the batch is recorded.
   */
  fence?: (tx: pg.PoolClient) => Promise<void>;
  /** Stop after the current batch; the checkpoint lets a rerun resume. */
  signal?: AbortSignal;
  /** Throttle between batches (replica lag, throttle query, load): see throttle.ts. Live control (pause, batch size) is always read. */
  throttle?: ThrottleOptions;
  onProgress?(e: BackfillProgress): void;
}

export interface BackfillResult {
  table: string;
  /** For a partitioned table: one result per leaf partition (the totals above sum them). */
  partitions?: BackfillResult[];
  /** False when stopped by the signal before the end. */
  done: boolean;
  rowsDone: number;
  /** Rows actually written (out of sync before). */
  rowsWritten: number;
  batches: number;
}

const DEFAULT_LOCK_RETRIES = 30;
const DEFAULT_MAX_LOCK_WAIT_MS = 10 * 60_000;

/**
 * Fill new columns in batches, each its own short transaction, resuming from
 * the checkpoint of a previous (killed or stopped) run.
 *
 * The batch transaction sets `curtain.backfill` so the dual-write trigger
 * does not copy the backfilled (new-side) values back to the old side.
 *
 * A batch that meets rows locked by the application waits (lock timeout,
 * backoff, retry) and reports who blocks it through `onProgress`; past
 * `lockRetries` or `maxLockWaitMs` it stops with {@link BackfillPausedError},
 * checkpoint kept. A batch that fails on the data itself throws
 * {@link BackfillRowError} naming the row, column and expression.
 *
 * @example
 * for (const task of plan.backfill) {
 *   await runBackfill(pool, task, { schema: 'curtain', migration: 'm1', onProgress: (e) => console.log(e.rowsDone) });
 * }
 */
export async function runBackfill(pool: pg.Pool, task: BackfillTask, opts: BackfillOptions): Promise<BackfillResult> {
  const table = `${task.table.schema}.${task.table.name}`;
  const leaves = await backfillLeaves(pool, task.table);
  if (leaves.length === 1 && leaves[0] === task.table) return walk(pool, task, opts, { label: table, others: () => ({ done: 0, total: 0 }) });

  // A partitioned table: one checkpoint row per leaf partition, all seeded first so progress and
  // status count every partition from the start (and a rerun knows which are done).
  const names = leaves.map((l) => `${l.schema}.${l.name}`);
  const cps = new Map<string, Checkpoint>();
  for (const [i, leaf] of leaves.entries()) {
    const part = onPartition(task, leaf);
    cps.set(names[i]!, (await readCheckpoint(pool, opts.schema, opts.migration, names[i]!)) ?? { lastKey: null, rowsDone: 0, rowsTotal: await estimateRows(pool, part), done: false });
  }
  await transaction(pool, async (tx) => {
    await opts.fence?.(tx);
    for (const [name, cp] of cps) if (cp.rowsDone === 0 && !cp.done && cp.lastKey === null) await seedCheckpoint(tx, opts.schema, opts.migration, name, cp);
  });
  const result: BackfillResult = { table, done: true, rowsDone: 0, rowsWritten: 0, batches: 0, partitions: [] };
  for (const [i, leaf] of leaves.entries()) {
    const name = names[i]!;
    // What the other partitions hold, so each progress event speaks for the whole table.
    const others = () => {
      let done = 0;
      let total = 0;
      for (const [n, cp] of cps) if (n !== name) (done += cp.rowsDone), (total += Math.max(cp.rowsTotal ?? 0, cp.rowsDone));
      return { done, total };
    };
    const r = await walk(pool, onPartition(task, leaf), opts, { label: table, partition: name, others });
    cps.set(name, { ...cps.get(name)!, rowsDone: r.rowsDone, done: r.done });
    result.partitions!.push(r);
    result.rowsDone += r.rowsDone;
    result.rowsWritten += r.rowsWritten;
    result.batches += r.batches;
    result.done &&= r.done;
    if (!r.done) break; // stopped by the signal: the checkpoints say where
  }
  if (!result.done) result.rowsDone = [...cps.values()].reduce((n, cp) => n + cp.rowsDone, 0);
  return result;
}

/** Where a walk reports: the table's name, and for a partition its own name and the other partitions' counts. */
interface WalkScope {
  label: string;
  partition?: string;
  others: () => { done: number; total: number };
}

/** Walk one table (or one leaf partition) in batches from its checkpoint. */
async function walk(pool: pg.Pool, task: BackfillTask, opts: BackfillOptions, scope: WalkScope): Promise<BackfillResult> {
  const table = `${task.table.schema}.${task.table.name}`;
  const keys = await primaryKey(pool, task);
  const found = await readCheckpoint(pool, opts.schema, opts.migration, table);
  let cp: Checkpoint = found ?? { lastKey: null, rowsDone: 0, rowsTotal: await estimateRows(pool, task), done: false };
  if (found === undefined) {
    // Recorded before the first batch, so a backfill paused or throttled from its start shows (status, console) with its total.
    await transaction(pool, async (tx) => {
      await opts.fence?.(tx);
      await seedCheckpoint(tx, opts.schema, opts.migration, table, cp);
    });
  }
  const result: BackfillResult = { table, done: cp.done, rowsDone: cp.rowsDone, rowsWritten: 0, batches: 0 };
  if (cp.done) return result;

  const started = Date.now();
  const startRows = cp.rowsDone;
  let size = opts.batchSize ?? 1000;
  const target = opts.targetBatchMs ?? 300;
  // ctid batches are page ranges: compute once, so rows our own updates move to new pages are not chased.
  const pages = keys.length === 0 ? await relationPages(pool, task) : 0;
  const rowsPerPage = keys.length === 0 ? Math.max(1, Math.ceil((cp.rowsTotal ?? 0) / Math.max(1, pages))) : 1;

  const retries = opts.lockRetries ?? DEFAULT_LOCK_RETRIES;
  const maxWaitMs = opts.maxLockWaitMs ?? DEFAULT_MAX_LOCK_WAIT_MS;
  // Batches skip the table's own triggers (updated_at, audit) when the role may (this transaction only;
  // curtain's dual-write trigger is ENABLE ALWAYS): see user-triggers.ts.
  const replica = await canSkipUserTriggers(pool);
  const settings: Record<string, string | number> = { lock_timeout: opts.lockTimeoutMs ?? 1000, [BACKFILL_GUC]: 'on', ...(replica ? { session_replication_role: 'replica' } : {}) };
  const progress = (waitingFor?: BlockingSession): BackfillProgress => {
    const elapsed = (Date.now() - started) / 1000;
    const rate = elapsed > 0 ? (cp.rowsDone - startRows) / elapsed : 0;
    const others = scope.others();
    const done = cp.rowsDone + others.done;
    const total = Math.max(cp.rowsTotal ?? 0, cp.rowsDone) + others.total;
    return {
      table: scope.label,
      ...(scope.partition ? { partition: scope.partition } : {}),
      rowsDone: done,
      rowsTotal: total,
      rowsPerSecond: rate,
      etaSeconds: done >= total && cp.done ? 0 : rate > 0 ? (total - done) / rate : null,
      ...(waitingFor ? { waitingFor } : {}),
    };
  };

  const pacer = await createPacer(pool, {
    schema: opts.schema,
    migration: opts.migration,
    throttle: opts.throttle,
    signal: opts.signal,
    onWait: (reason) => opts.onProgress?.({ ...progress(), ...(reason ? { throttled: reason } : {}) }),
  });
  try {
    for (;;) {
      if (opts.signal?.aborted) return result;
      // Paused or throttled: wait here, between batches, holding nothing.
      const pace = await pacer.beforeBatch();
      if (opts.signal?.aborted) return result;
      if (pace.batchSize !== undefined) size = pace.batchSize;
      const t0 = Date.now();
      const batch: FailedBatch =
        keys.length > 0
          ? { after: cp.lastKey, size }
          : (() => {
              const from = cp.lastKey === null ? 0 : Number(cp.lastKey[0]);
              return { fromPage: from, toPage: from + Math.max(1, Math.round(size / rowsPerPage)) };
            })();
      // Who holds the rows this batch waits for, so the user can act on it.
      let batchPid: number | undefined;
      let blocker: BlockingSession | undefined;
      let waitingSince: number | undefined;
      const watcher = watchBlockers(pool, () => batchPid, (b) => {
        waitingSince ??= t0;
        blocker = { ...b, waitedMs: Date.now() - waitingSince };
        opts.onProgress?.(progress(blocker));
      });
      let next: { cp: Checkpoint; written: number };
      try {
        next = await transaction(
          pool,
          async (tx) => {
            batchPid = processId(tx);
            await opts.fence?.(tx);
            let n: number;
            let written: number;
            let lastKey: string[] | null;
            let done: boolean;
            if ('after' in batch) {
              const after = batch.after !== null;
              const { rows } = await tx.query(keysetBatchSql(task, keys, size, after), after ? batch.after! : []);
              n = rows[0].n;
              written = rows[0].written;
              lastKey = rows[0].last ?? cp.lastKey;
              done = n < size;
            } else {
              const { rows } = await tx.query(ctidBatchSql(task), [batch.fromPage, batch.toPage]);
              n = rows[0].n;
              written = rows[0].written;
              lastKey = [String(batch.toPage)];
              done = batch.toPage > pages;
              if (done) written += await sweep(tx, task, size);
            }
            const updated: Checkpoint = { lastKey, rowsDone: cp.rowsDone + n, rowsTotal: cp.rowsTotal, done };
            await writeCheckpoint(tx, opts.schema, opts.migration, table, updated);
            return { cp: updated, written };
          },
          {
            // The GUC tells the dual-write trigger not to copy backfilled (new-side) values back to the old side.
            settings,
            // A batch waiting for application row locks blocks no one else's lock queue: give it the full lock_timeout.
            rampLockTimeout: false,
            retries,
            signal: opts.signal,
            onRetry: (e) => {
              waitingSince ??= t0;
              const waited = Date.now() - waitingSince;
              if (waited + e.delayMs > maxWaitMs) throw paused(table, keys, cp, `waited ${Math.round(waited / 1000)} s for row locks${held(blocker)}`);
            },
          },
        );
      } catch (err) {
        const code = (err as { code?: string }).code;
        const locked = code === LOCK_NOT_AVAILABLE || code === DEADLOCK;
        // Stopped by the signal while waiting: the checkpoint is where the last batch left it.
        if (locked && opts.signal?.aborted) return result;
        if (locked) throw paused(table, keys, cp, `could not get the row locks in ${retries + 1} attempt${retries === 0 ? '' : 's'}${held(blocker)}`);
        if (isDataError(err)) {
          const row = await locateFailingRow(pool, task, keys, batch, settings).catch(() => undefined);
          if (row) throw new BackfillRowError(table, row, err);
        }
        throw err;
      } finally {
        watcher.stop();
      }
      cp = next.cp;
      result.batches++;
      result.rowsDone = cp.rowsDone;
      result.rowsWritten += next.written;
      result.done = cp.done;
      opts.onProgress?.(progress());
      if (cp.done) return result;
      if (opts.batchSize === undefined && pace.batchSize === undefined) {
        const took = Math.max(1, Date.now() - t0);
        size = Math.min(50_000, Math.max(100, Math.round(size * Math.min(2, Math.max(0.5, target / took)))));
      }
      const delay = pace.batchDelayMs ?? opts.batchDelayMs;
      if (delay) await sleep(delay, opts.signal);
    }
  } finally {
    await pacer.close();
  }
}

/** The pause: where the backfill stopped (its checkpoint) and why. */
function paused(table: string, keys: KeyColumn[], cp: Checkpoint, why: string): BackfillPausedError {
  let position: string;
  if (cp.lastKey === null) position = 'the first key';
  else if (keys.length === 0) position = `page ${cp.lastKey[0]}`;
  else position = `key (${keys.map((k) => k.name).join(', ')})=(${cp.lastKey.join(', ')})`;
  return new BackfillPausedError(table, position, why);
}

function held(blocker: BlockingSession | undefined): string {
  return blocker ? ` held by ${describeBlocker(blocker)}` : '';
}

/** Keep sweeping until nothing is left out of sync behind the ctid cursor (bounded). */
async function sweep(tx: Queryable, task: BackfillTask, limit: number): Promise<number> {
  let total = 0;
  for (let i = 0; i < 100; i++) {
    const { rows } = await tx.query(sweepSql(task, limit));
    total += rows[0].written;
    if (rows[0].written === 0) break;
  }
  return total;
}

/**
 * The table's primary-key columns and types, in key order (empty: no primary key).
 *
 * @example
 * await primaryKey(pool, task) // [{ name: 'id', type: 'bigint' }]
 */
export async function primaryKey(q: Queryable, task: BackfillTask): Promise<KeyColumn[]> {
  const { rows } = await q.query<KeyColumn>(
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type
       FROM pg_index ix CROSS JOIN LATERAL unnest(ix.indkey::int2[]) WITH ORDINALITY k(attnum, ord)
       JOIN pg_attribute a ON a.attrelid = ix.indrelid AND a.attnum = k.attnum
      WHERE ix.indrelid = $1::regclass AND ix.indisprimary ORDER BY k.ord`,
    [quoteQualified(task.table.schema, task.table.name)],
  );
  return rows;
}

async function estimateRows(q: Queryable, task: BackfillTask): Promise<number> {
  const t = quoteQualified(task.table.schema, task.table.name);
  const { rows } = await q.query(`SELECT reltuples::bigint AS n FROM pg_class WHERE oid = $1::regclass`, [t]);
  const est = Number(rows[0]?.n ?? -1);
  // Never analyzed (-1) or tiny: count exactly, it is cheap then.
  if (est >= 10_000) return est;
  const c = await q.query(`SELECT count(*)::bigint AS n FROM ${t}`);
  return Number(c.rows[0].n);
}

async function relationPages(q: Queryable, task: BackfillTask): Promise<number> {
  const { rows } = await q.query(
    `SELECT (pg_relation_size($1::regclass) / current_setting('block_size')::int)::bigint AS pages`,
    [quoteQualified(task.table.schema, task.table.name)],
  );
  return Number(rows[0].pages);
}
