import { quoteIdent } from '../db/identifiers.js';
import type { Queryable } from '../db/queryable.js';

/**
 * Row checksums.
 *
 * A table's checksum is `sum(hashtextextended(ROW(c1, c2, ...)::text, 0))`
 * over the snapshot's columns, in their recorded order. Why this and not
 * `md5(string_agg(... ORDER BY ...))`:
 * - it is order-independent, so it needs no sort and no primary key, and the
 *   physical order (ctid) of a restored table does not matter;
 * - it streams in constant memory (string_agg builds one huge string);
 * - 64-bit hashes summed into a numeric do not overflow.
 * It is a corruption detector, not a cryptographic seal: two swapped
 * duplicate rows go unnoticed, which is fine for "did this data change".
 *
 * A row's text depends on output settings, so every checksum runs under the
 * same fixed settings (`STABLE_OUTPUT_SETTINGS`, applied with SET LOCAL).
 */
export const CHECKSUM_ALGORITHM = 'sum(hashtextextended(row::text, 0))';

/** Settings under which row text is stable across sessions. Run inside a transaction. */
export async function useStableOutput(tx: Queryable): Promise<void> {
  await tx.query(`SET LOCAL TimeZone = 'UTC'`);
  await tx.query(`SET LOCAL DateStyle = 'ISO, MDY'`);
  await tx.query(`SET LOCAL IntervalStyle = 'postgres'`);
  await tx.query(`SET LOCAL extra_float_digits = 1`);
  await tx.query(`SET LOCAL bytea_output = 'hex'`);
}

/** Row count and checksum of `relation` (already quoted) over `columns`. */
export async function countAndChecksum(
  tx: Queryable,
  relation: string,
  columns: string[],
): Promise<{ rows: number; checksum: string }> {
  // ROW() with zero columns is valid and hashes to a constant per row.
  const row = `ROW(${columns.map(quoteIdent).join(', ')})::text`;
  const { rows } = await tx.query<{ n: number; sum: string }>(
    `SELECT count(*) AS n, coalesce(sum(hashtextextended(${row}, 0)), 0)::text AS sum FROM ${relation}`,
  );
  return { rows: Number(rows[0]!.n), checksum: rows[0]!.sum };
}
