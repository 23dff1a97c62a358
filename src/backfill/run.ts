import type pg from 'pg';
import { quoteQualified } from '../db/identifiers.js';
import type { Queryable } from '../db/queryable.js';
import type { BackfillTask } from '../ops/operation.js';
import { BACKFILL_GUC } from '../ops/triggers.js';
import { ctidBatchSql, keysetBatchSql, sweepSql, type KeyColumn } from './batches.js';
import { readCheckpoint, writeCheckpoint, type Checkpoint } from './checkpoint.js';
import { canSkipUserTriggers } from './user-triggers.js';

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

const LOCK_TIMEOUT = '55P03';
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
  // Batches skip the table's own triggers (updated_at, audit) when the role may; see user-triggers.ts.
  const replica = await canSkipUserTriggers(pool);
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
    const next = await withLockRetry(() =>
      inBatchTransaction(pool, opts.lockTimeoutMs ?? 1000, replica, async (tx) => {
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
      }),
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

async function inBatchTransaction<T>(pool: pg.Pool, lockTimeoutMs: number, replica: boolean, fn: (tx: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  // A connection dying while checked out emits 'error'; the failing query reports it to the caller.
  const onError = (e: Error) => (broken = e);
  client.on('error', onError);
  try {
    await client.query(
      `BEGIN; SET LOCAL lock_timeout = ${Math.max(1, Math.floor(lockTimeoutMs))}; SET LOCAL ${BACKFILL_GUC} = 'on'` +
        // This transaction only: user triggers (origin) do not fire; curtain's dual-write trigger is ENABLE ALWAYS.
        (replica ? `; SET LOCAL session_replication_role = replica` : ''),
    );
    const out = await fn(client);
    await client.query('COMMIT');
    return out;
  } catch (err) {
    // A connection killed mid-batch cannot roll back; the server already did. Discard it.
    await client.query('ROLLBACK').catch((e: Error) => (broken = e));
    throw err;
  } finally {
    client.off('error', onError);
    client.release(broken);
  }
}

async function withLockRetry<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if ((err as { code?: string }).code !== LOCK_TIMEOUT || attempt >= MAX_LOCK_RETRIES) throw err;
      await sleep(Math.min(2000, 50 * 2 ** attempt) * (0.5 + Math.random()));
    }
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

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
