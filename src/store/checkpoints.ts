/**
 * The backfill's progress, one row per (migration, table) in
 * `<schema>.backfill_checkpoints`, written in the same transaction as the
 * batch it records: a killed backfill resumes exactly after the last
 * committed batch, never redoing or skipping one.
 */
import type { Queryable } from '../db/queryable.js';
import { quoteIdent } from '../db/identifiers.js';

export interface Checkpoint {
  /** The last processed key (primary-key values as text, or `[page]` for ctid batches); null before the first batch. */
  lastKey: string[] | null;
  rowsDone: number;
  rowsTotal: number | null;
  done: boolean;
}

/**
 * Read the checkpoint, if any.
 *
 * @example
 * const cp = await readCheckpoint(pool, 'curtain', '20240101_split', 'public.users');
 */
export async function readCheckpoint(q: Queryable, schema: string, migration: string, table: string): Promise<Checkpoint | undefined> {
  const { rows } = await q.query(
    `SELECT last_key, rows_done, rows_total, done FROM ${quoteIdent(schema)}.backfill_checkpoints WHERE migration = $1 AND table_name = $2`,
    [migration, table],
  );
  const r = rows[0];
  if (!r) return undefined;
  return { lastKey: r.last_key, rowsDone: Number(r.rows_done), rowsTotal: r.rows_total === null ? null : Number(r.rows_total), done: r.done };
}

/**
 * Insert or update the checkpoint (call inside the batch's transaction).
 *
 * @example
 * await writeCheckpoint(tx, 'curtain', 'm1', 'public.users', { lastKey: ['42'], rowsDone: 42, rowsTotal: 100, done: false });
 */
export async function writeCheckpoint(q: Queryable, schema: string, migration: string, table: string, cp: Checkpoint): Promise<void> {
  await q.query(
    `INSERT INTO ${quoteIdent(schema)}.backfill_checkpoints (migration, table_name, last_key, rows_done, rows_total, done, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, now())
     ON CONFLICT (migration, table_name) DO UPDATE
       SET last_key = EXCLUDED.last_key, rows_done = EXCLUDED.rows_done, rows_total = EXCLUDED.rows_total,
           done = EXCLUDED.done, updated_at = now()`,
    [migration, table, cp.lastKey === null ? null : JSON.stringify(cp.lastKey), cp.rowsDone, cp.rowsTotal, cp.done],
  );
}

/** Backfill progress of one migration, summed over its tables (for `migrate status`). */
export interface BackfillSummary {
  migration: string;
  rowsDone: number;
  rowsTotal: number | null;
  done: boolean;
}

/**
 * Backfill progress of every migration that has checkpoints.
 *
 * @example
 * const byMigration = new Map((await backfillSummaries(pool, 'curtain')).map((s) => [s.migration, s]));
 */
export async function backfillSummaries(q: Queryable, schema: string): Promise<BackfillSummary[]> {
  const { rows } = await q.query(
    `SELECT migration, sum(rows_done)::bigint AS done, sum(rows_total)::bigint AS total, bool_and(done) AS finished
       FROM ${quoteIdent(schema)}.backfill_checkpoints GROUP BY migration`,
  );
  return rows.map((r) => ({ migration: r.migration, rowsDone: Number(r.done), rowsTotal: r.total === null ? null : Number(r.total), done: r.finished }));
}

/** Forget a migration's backfill progress (abort: a later expand starts over). */
export async function clearCheckpoints(q: Queryable, schema: string, migration: string): Promise<void> {
  await q.query(`DELETE FROM ${quoteIdent(schema)}.backfill_checkpoints WHERE migration = $1`, [migration]);
}

/**
 * Record a checkpoint only if none exists yet (a partition's starting row; a concurrent or earlier run's row wins).
 *
 * @example
 * await seedCheckpoint(tx, 'curtain', 'm1', 'public.orders_2024', { lastKey: null, rowsDone: 0, rowsTotal: 5000, done: false });
 */
export async function seedCheckpoint(q: Queryable, schema: string, migration: string, table: string, cp: Checkpoint): Promise<void> {
  await q.query(
    `INSERT INTO ${quoteIdent(schema)}.backfill_checkpoints (migration, table_name, last_key, rows_done, rows_total, done, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, now()) ON CONFLICT (migration, table_name) DO NOTHING`,
    [migration, table, cp.lastKey === null ? null : JSON.stringify(cp.lastKey), cp.rowsDone, cp.rowsTotal, cp.done],
  );
}
