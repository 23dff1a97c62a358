/**
 * The SQL of one backfill batch. Keyset batches walk the primary key
 * (`ROW(a, b) > ROW($1, $2) ORDER BY a, b LIMIT n`, so any key type and
 * composite keys work and each batch is an index range); tables without a
 * primary key are walked by ctid page ranges (a TID range scan). Only rows
 * still out of sync are written, so a rerun or a row already synced by the
 * trigger costs no write.
 */
import { quoteIdent, quoteQualified } from '../db/identifiers.js';
import type { BackfillTask } from '../ops/operation.js';

/** A primary-key column and its SQL type (to cast the text checkpoint back). */
export interface KeyColumn {
  name: string;
  type: string;
}

function setClause(task: BackfillTask): string {
  return Object.entries(task.set)
    .map(([col, expr]) => `${quoteIdent(col)} = ${expr}`)
    .join(', ');
}

/**
 * One keyset batch. Parameters: the last key's values (text) when `after`.
 * Returns one row: `n` (rows in the batch), `written`, `last` (text array of the batch's last key).
 *
 * @example
 * keysetBatchSql(task, [{ name: 'id', type: 'bigint' }], 1000, true)
 */
export function keysetBatchSql(task: BackfillTask, keys: KeyColumn[], limit: number, after: boolean): string {
  const t = quoteQualified(task.table.schema, task.table.name);
  const alias = (i: number) => quoteIdent(`_curtain_k${i}`);
  const cols = keys.map((k) => quoteIdent(k.name));
  const row = (xs: string[]) => (xs.length === 1 ? xs[0]! : `ROW(${xs.join(', ')})`);
  const from = row(keys.map((k, i) => `$${i + 1}::${k.type}`));
  const qualified = row(cols.map((c) => `${t}.${c}`));
  // The UPDATE takes the key range (start, last key of the batch]: an index range scan, no join on the keys.
  return `WITH batch AS (
  SELECT ${cols.map((c, i) => `${c} AS ${alias(i)}`).join(', ')} FROM ${t}${after ? ` WHERE ${row(cols)} > ${from}` : ''}
  ORDER BY ${cols.join(', ')} LIMIT ${limit}
), last AS (
  SELECT ${keys.map((_, i) => alias(i)).join(', ')} FROM batch ORDER BY ${keys.map((_, i) => `${alias(i)} DESC`).join(', ')} LIMIT 1
), written AS (
  UPDATE ${t} SET ${setClause(task)} FROM last
  WHERE ${after ? `${qualified} > ${from} AND ` : ''}${qualified} <= ${row(keys.map((_, i) => `last.${alias(i)}`))}
    AND (${task.outOfSync})
  RETURNING 1
)
SELECT (SELECT count(*) FROM batch)::int AS n, (SELECT count(*) FROM written)::int AS written,
  (SELECT ARRAY[${keys.map((_, i) => `${alias(i)}::text`).join(', ')}] FROM last) AS last`;
}

/**
 * One ctid batch over pages [$1, $2). Returns `n` (rows seen) and `written`.
 *
 * @example
 * ctidBatchSql(task)
 */
export function ctidBatchSql(task: BackfillTask): string {
  const t = quoteQualified(task.table.schema, task.table.name);
  return `WITH batch AS (
  SELECT ctid AS _curtain_ctid FROM ${t} WHERE ctid >= format('(%s,0)', $1::bigint)::tid AND ctid < format('(%s,0)', $2::bigint)::tid
), written AS (
  UPDATE ${t} SET ${setClause(task)}
  WHERE ctid >= format('(%s,0)', $1::bigint)::tid AND ctid < format('(%s,0)', $2::bigint)::tid AND (${task.outOfSync})
  RETURNING 1
)
SELECT (SELECT count(*) FROM batch)::int AS n, (SELECT count(*) FROM written)::int AS written`;
}

/**
 * Rows moved by concurrent updates behind the ctid cursor: fix up to `limit` rows still out of sync.
 *
 * @example
 * sweepSql(task, 1000)
 */
export function sweepSql(task: BackfillTask, limit: number): string {
  const t = quoteQualified(task.table.schema, task.table.name);
  return `WITH written AS (
  UPDATE ${t} SET ${setClause(task)}
  WHERE ctid = ANY (ARRAY(SELECT ctid FROM ${t} WHERE (${task.outOfSync}) LIMIT ${limit})) AND (${task.outOfSync})
  RETURNING 1
)
SELECT count(*)::int AS written FROM written`;
}
