import type pg from 'pg';
import { quoteQualified } from '../db/identifiers.js';
import type { Queryable } from '../db/queryable.js';
import { sleep, transaction } from '../db/transaction.js';
import type { BackfillTask } from '../ops/operation.js';
import { BACKFILL_GUC } from '../ops/triggers.js';
import { ctidBatchSql, keysetBatchSql, sweepSql, type KeyColumn } from './batches.js';
import { readCheckpoint, writeCheckpoint, type Checkpoint } from '../store/checkpoints.js';

/** A progress event, after every batch. */
export interface BackfillProgress {
  /** `schema.table` */
  table: string;
  rowsDone: number;
  rowsTotal: number;
  rowsPerSecond: number;
  /** `null` until a rate is known. */
  etaSeconds: number | null;
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
  /** Stop after the current batch; the checkpoint lets a rerun resume. */
  signal?: AbortSignal;
  onProgress?(e: BackfillProgress): void;
}

export interface BackfillResult {
  table: string;
  /** False when stopped by the signal before the end. */
  done: boolean;
  rowsDone: number;
  /** Rows actually written (out of sync before). */
  rowsWritten: number;
  batches: number;
}

const MAX_LOCK_RETRIES = 20;

/**
 * Fill new columns in batches, each its own short transaction, resuming from
 * the checkpoint of a previous (killed or stopped) run.
 *
 * The batch transaction sets `curtain.backfill` so the dual-write trigger
 * does not copy the backfilled (new-side) values back to the old side.
 *
 * @example
 * for (const task of plan.backfill) {
 *   await runBackfill(pool, task, { schema: 'curtain', migration: 'm1', onProgress: (e) => console.log(e.rowsDone) });
 * }
 */
export async function runBackfill(pool: pg.Pool, task: BackfillTask, opts: BackfillOptions): Promise<BackfillResult> {
  const table = `${task.table.schema}.${task.table.name}`;
  const keys = await primaryKey(pool, task);
  let cp = (await readCheckpoint(pool, opts.schema, opts.migration, table)) ?? {
    lastKey: null,
    rowsDone: 0,
    rowsTotal: await estimateRows(pool, task),
    done: false,
  };
  const result: BackfillResult = { table, done: cp.done, rowsDone: cp.rowsDone, rowsWritten: 0, batches: 0 };
  if (cp.done) return result;

  const started = Date.now();
  const startRows = cp.rowsDone;
  let size = opts.batchSize ?? 1000;
  const target = opts.targetBatchMs ?? 300;
  // ctid batches are page ranges: compute once, so rows our own updates move to new pages are not chased.
  const pages = keys.length === 0 ? await relationPages(pool, task) : 0;
  const rowsPerPage = keys.length === 0 ? Math.max(1, Math.ceil((cp.rowsTotal ?? 0) / Math.max(1, pages))) : 1;

  for (;;) {
    if (opts.signal?.aborted) return result;
    const t0 = Date.now();
    const next = await transaction(
      pool,
      async (tx) => {
        let n: number;
        let written: number;
        let lastKey: string[] | null;
        let done: boolean;
        if (keys.length > 0) {
          const after = cp.lastKey !== null;
          const { rows } = await tx.query(keysetBatchSql(task, keys, size, after), after ? cp.lastKey! : []);
          n = rows[0].n;
          written = rows[0].written;
          lastKey = rows[0].last ?? cp.lastKey;
          done = n < size;
        } else {
          const from = cp.lastKey === null ? 0 : Number(cp.lastKey[0]);
          const to = from + Math.max(1, Math.round(size / rowsPerPage));
          const { rows } = await tx.query(ctidBatchSql(task), [from, to]);
          n = rows[0].n;
          written = rows[0].written;
          lastKey = [String(to)];
          done = to > pages;
          if (done) written += await sweep(tx, task, size);
        }
        const updated: Checkpoint = { lastKey, rowsDone: cp.rowsDone + n, rowsTotal: cp.rowsTotal, done };
        await writeCheckpoint(tx, opts.schema, opts.migration, table, updated);
        return { cp: updated, written };
      },
      // The GUC tells the dual-write trigger not to copy backfilled (new-side) values back to the old side.
      { settings: { lock_timeout: opts.lockTimeoutMs ?? 1000, [BACKFILL_GUC]: 'on' }, retries: MAX_LOCK_RETRIES, signal: opts.signal },
    );
    cp = next.cp;
    result.batches++;
    result.rowsDone = cp.rowsDone;
    result.rowsWritten += next.written;
    result.done = cp.done;
    const elapsed = (Date.now() - started) / 1000;
    const rate = elapsed > 0 ? (cp.rowsDone - startRows) / elapsed : 0;
    const total = Math.max(cp.rowsTotal ?? 0, cp.rowsDone);
    opts.onProgress?.({
      table,
      rowsDone: cp.rowsDone,
      rowsTotal: total,
      rowsPerSecond: rate,
      etaSeconds: cp.done ? 0 : rate > 0 ? (total - cp.rowsDone) / rate : null,
    });
    if (cp.done) return result;
    if (opts.batchSize === undefined) {
      const took = Math.max(1, Date.now() - t0);
      size = Math.min(50_000, Math.max(100, Math.round(size * Math.min(2, Math.max(0.5, target / took)))));
    }
    if (opts.batchDelayMs) await sleep(opts.batchDelayMs, opts.signal);
  }
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
