/**
 * When a batch fails on the data (a cast error, a constraint), find the row
 * and the column: bisect the batch with the very statement that failed,
 * each probe in a savepoint of one transaction that is rolled back at the
 * end, so nothing is written. About log2(batch size) probes.
 */
import type pg from 'pg';
import { quoteIdent, quoteQualified } from '../db/identifiers.js';
import { transaction } from '../db/transaction.js';
import type { BackfillTask } from '../ops/operation.js';
import type { KeyColumn } from './batches.js';

/** The batch that failed: a primary-key range, or a ctid page range for tables without one. */
export type FailedBatch = { after: string[] | null; size: number } | { fromPage: number; toPage: number };

/** The failing row and what fails on it. */
export interface FailingRow {
  /** `(id)=(42)`, `(region, seq)=(eu, 3)`, or `ctid (12,4)`. */
  key: string;
  /** The columns whose `up` expression fails on that row (all of them when none fails alone). */
  columns: string[];
  /** `column = expression` of each failing column. */
  expressions: string[];
  /** PostgreSQL's message for the first failing column. */
  message: string;
}

/** SQLSTATE classes that mean the migration's expression or the data is wrong, not the connection or a lock. */
const DATA_CLASSES = ['22', '23', '2F', '38', '39', '42', '44', 'P0'];

/**
 * True for errors of the migration itself (data exception, constraint, failing function).
 *
 * @example
 * isDataError({ code: '22P02' }) // true
 */
export function isDataError(err: unknown): boolean {
  const code = (err as { code?: string }).code ?? '';
  return DATA_CLASSES.some((c) => code.startsWith(c));
}

class Rollback {
  constructor(readonly value: FailingRow | undefined) {}
}

/**
 * Find the first row of `batch` on which the backfill of `task` fails, or
 * undefined when the batch no longer fails (the row changed meanwhile).
 *
 * @example
 * const row = await locateFailingRow(pool, task, keys, { after: ['400'], size: 1000 }, { 'curtain.backfill': 'on' });
 */
export async function locateFailingRow(
  pool: pg.Pool,
  task: BackfillTask,
  keys: KeyColumn[],
  batch: FailedBatch,
  settings: Record<string, string | number>,
): Promise<FailingRow | undefined> {
  try {
    await transaction(
      pool,
      async (tx) => {
        throw new Rollback(await locate(tx, task, keys, batch));
      },
      { settings },
    );
  } catch (err) {
    if (err instanceof Rollback) return err.value;
    throw err;
  }
  return undefined;
}

async function locate(tx: pg.PoolClient, task: BackfillTask, keys: KeyColumn[], batch: FailedBatch): Promise<FailingRow | undefined> {
  const t = quoteQualified(task.table.schema, task.table.name);
  const set = (cols: string[]) => cols.map((c) => `${quoteIdent(c)} = ${task.set[c]}`).join(', ');
  const columns = Object.keys(task.set);
  // Identities of the batch's rows, in order, as SQL predicates on one slice.
  let ids: string[][];
  let slice: (from: number, to: number) => { where: string; values: unknown[] };
  let describe: (id: string[]) => string;
  if ('after' in batch) {
    const cols = keys.map((k) => quoteIdent(k.name));
    const row = (xs: string[]) => (xs.length === 1 ? xs[0]! : `ROW(${xs.join(', ')})`);
    const param = (offset: number) => row(keys.map((k, i) => `$${offset + i + 1}::${k.type}`));
    const { rows } = await tx.query<{ id: string[] }>(
      `SELECT ARRAY[${cols.map((c) => `${c}::text`).join(', ')}] AS id FROM ${t}${batch.after ? ` WHERE ${row(cols)} > ${param(0)}` : ''}
        ORDER BY ${cols.join(', ')} LIMIT ${batch.size}`,
      batch.after ?? [],
    );
    ids = rows.map((r) => r.id);
    slice = (from, to) => {
      const lower = from === 0 ? batch.after : ids[from - 1]!;
      const upper = ids[to - 1]!;
      if (!lower) return { where: `${row(cols)} <= ${param(0)}`, values: upper };
      return { where: `${row(cols)} > ${param(0)} AND ${row(cols)} <= ${param(keys.length)}`, values: [...lower, ...upper] };
    };
    describe = (id) => `(${keys.map((k) => k.name).join(', ')})=(${id.join(', ')})`;
  } else {
    const { rows } = await tx.query<{ id: string }>(
      `SELECT ctid::text AS id FROM ${t} WHERE ctid >= format('(%s,0)', $1::bigint)::tid AND ctid < format('(%s,0)', $2::bigint)::tid ORDER BY ctid`,
      [batch.fromPage, batch.toPage],
    );
    ids = rows.map((r) => [r.id]);
    slice = (from, to) => ({ where: `ctid = ANY ($1::tid[])`, values: [ids.slice(from, to).map((id) => id[0])] });
    describe = (id) => `ctid ${id[0]}`;
  }

  /** Run the backfill's UPDATE of `cols` on rows [from, to) in a savepoint; the error, if it fails. */
  const probe = async (from: number, to: number, cols: string[]): Promise<Error | undefined> => {
    const { where, values } = slice(from, to);
    await tx.query('SAVEPOINT curtain_probe');
    try {
      await tx.query(`UPDATE ${t} SET ${set(cols)} WHERE ${where} AND (${task.outOfSync})`, values);
      return undefined;
    } catch (err) {
      return err as Error;
    } finally {
      await tx.query('ROLLBACK TO SAVEPOINT curtain_probe');
    }
  };

  if (ids.length === 0 || !(await probe(0, ids.length, columns))) return undefined;
  let lo = 0;
  let hi = ids.length;
  // Invariant: rows [lo, hi) contain a failing row.
  while (hi - lo > 1) {
    const mid = lo + Math.floor((hi - lo) / 2);
    if (await probe(lo, mid, columns)) hi = mid;
    else lo = mid;
  }
  const failing: { column: string; error: Error }[] = [];
  for (const column of columns) {
    const error = await probe(lo, lo + 1, [column]);
    if (error) failing.push({ column, error });
  }
  const whole = failing.length === 0 ? await probe(lo, lo + 1, columns) : undefined;
  const cols = failing.length > 0 ? failing.map((f) => f.column) : columns;
  return {
    key: describe(ids[lo]!),
    columns: cols,
    expressions: cols.map((c) => `${c} = ${task.set[c]}`),
    message: (failing[0]?.error ?? whole)?.message ?? 'unknown error',
  };
}
