import { quoteIdent } from '../db/identifiers.js';
import type { Queryable } from '../db/queryable.js';

/**
 * Row checksums.
 *
 * A table's checksum is the sum over its rows of a 64-bit row hash, over
 * the snapshot's columns in their recorded order. Why a sum of hashes and
 * not `md5(string_agg(... ORDER BY ...))`:
 * - it is order-independent, so it needs no sort and no primary key, and the
 *   physical order (ctid) of a restored table does not matter;
 * - it streams in constant memory (string_agg builds one huge string);
 * - 64-bit hashes summed into a numeric do not overflow.
 * It is a corruption detector, not a cryptographic seal: two swapped
 * duplicate rows go unnoticed, which is fine for "did this data change".
 *
 * Two row hashes, told apart by the recorded value:
 * - `r1:<sum>` (PostgreSQL 14+): `hash_record_extended(ROW(...), 0)`, the
 *   types' own binary hash functions (those hash partitioning relies on, so
 *   stable across sessions and versions). About twice as fast as hashing
 *   the row's text, which decides how long a snapshot takes: the checksum
 *   runs beside the copy. A hash function follows its type's equality, not
 *   its stored value (numeric 1.0 = 1.00, citext 'A' = 'a', interval
 *   '1 day' = '24 hours', arrays of any shape), so only the types whose
 *   equality means "the same value" are hashed so (integers, booleans,
 *   dates and timestamps, uuid, bytea, and text under a deterministic
 *   collation); every other column enters as its text, which sees any
 *   change. The choice follows the column's type and collation, so a
 *   column whose type changed since the snapshot counts as changed.
 * - `<sum>` with no prefix: `hashtextextended(ROW(...)::text, 0)`, what
 *   snapshots recorded before, and what older servers get. Kept so their
 *   checksums are still compared like for like.
 * Row text depends on output settings, so every checksum runs under the same
 * fixed settings (`STABLE_OUTPUT_SETTINGS`, applied with SET LOCAL).
 */
export const CHECKSUM_ALGORITHM = 'sum(hash_record_extended(row, 0)), columns whose equality is not identity as text';

const RECORD_HASH = 'r1:';

/** Settings under which row text is stable across sessions. Run inside a transaction. */
export async function useStableOutput(tx: Queryable): Promise<void> {
  await tx.query(`SET LOCAL TimeZone = 'UTC'`);
  await tx.query(`SET LOCAL DateStyle = 'ISO, MDY'`);
  await tx.query(`SET LOCAL IntervalStyle = 'postgres'`);
  await tx.query(`SET LOCAL extra_float_digits = 1`);
  await tx.query(`SET LOCAL bytea_output = 'hex'`);
}

/** How each row of a table is hashed: the SQL expression, and the prefix of the recorded sum. */
export interface RowHash {
  /** A 64-bit hash of the current row, e.g. `hash_record_extended(ROW("id", "note"::text), 0)`. */
  sql: string;
  prefix: string;
}

/**
 * How rows over `columns` of `relation` (already quoted) are hashed; the
 * same hash serves any table with those columns (the snapshot's copy too).
 * `like`: a checksum recorded earlier; the hash then uses its algorithm.
 *
 * @example
 * const hash = await rowHash(tx, '"public"."orders"', ['id', 'total']);
 * await runChecksum(tx, '"public"."orders"', hash); // { rows: 1000, checksum: 'r1:-8802997…' }
 */
export async function rowHash(tx: Queryable, relation: string, columns: string[], like?: string | null): Promise<RowHash> {
  const text = like != null && !like.startsWith(RECORD_HASH);
  if (text || !(await hasRecordHash(tx))) {
    // ROW() with zero columns is valid and hashes to a constant per row.
    return { sql: `hashtextextended(ROW(${columns.map(quoteIdent).join(', ')})::text, 0)`, prefix: '' };
  }
  const binary = await binaryHashable(tx, relation, columns);
  const fields = columns.map((c) => (binary.has(c) ? quoteIdent(c) : `${quoteIdent(c)}::text`));
  return { sql: `hash_record_extended(ROW(${fields.join(', ')}), 0)`, prefix: RECORD_HASH };
}

/** Row count and checksum of `relation` (already quoted) over `columns`; see {@link rowHash}. */
export async function countAndChecksum(
  tx: Queryable,
  relation: string,
  columns: string[],
  options: { like?: string | null } = {},
): Promise<{ rows: number; checksum: string }> {
  return runChecksum(tx, relation, await rowHash(tx, relation, columns, options.like));
}

/** Row count and checksum of `relation` (already quoted) with `hash`. */
export async function runChecksum(tx: Queryable, relation: string, hash: RowHash): Promise<{ rows: number; checksum: string }> {
  const { rows } = await tx.query<{ n: number; sum: string }>(`SELECT count(*) AS n, coalesce(sum(${hash.sql}), 0)::text AS sum FROM ${relation}`);
  return { rows: Number(rows[0]!.n), checksum: hash.prefix + rows[0]!.sum };
}

async function hasRecordHash(tx: Queryable): Promise<boolean> {
  const { rows } = await tx.query<{ v: number }>(`SELECT current_setting('server_version_num')::int AS v`);
  return rows[0]!.v >= 140000;
}

/**
 * Types whose equality is identity: equal values have one stored form, so
 * their binary hash sees every change. By name as `format_type` spells them
 * (with or without a typmod).
 */
const IDENTITY_EQUALITY = /^(boolean|smallint|integer|bigint|oid|date|uuid|bytea|"char"|time(\(\d+\))? without time zone|timestamp(\(\d+\))? with(out)? time zone)$/;
const COLLATABLE_TEXT = /^(text|character varying(\(\d+\))?)$/;

/** Columns of `relation` among `columns` that are hashed in binary form (see the module comment). */
async function binaryHashable(tx: Queryable, relation: string, columns: string[]): Promise<Set<string>> {
  if (columns.length === 0) return new Set();
  const { rows } = await tx.query<{ name: string; type: string; deterministic: boolean | null }>(
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, c.collisdeterministic AS deterministic
       FROM pg_attribute a LEFT JOIN pg_collation c ON c.oid = a.attcollation
      WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped AND a.attname = ANY($2::text[])`,
    [relation, columns],
  );
  const out = new Set<string>();
  for (const r of rows) {
    // Text hashes under its collation: a nondeterministic one ('A' = 'a') hides changes.
    if (IDENTITY_EQUALITY.test(r.type) || (COLLATABLE_TEXT.test(r.type) && r.deterministic !== false)) out.add(r.name);
  }
  return out;
}
