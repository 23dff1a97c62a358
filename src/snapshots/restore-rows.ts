import { quoteIdent } from '../db/identifiers.js';
import type { Queryable } from '../db/queryable.js';
import { CurtainError } from '../errors.js';
import type { ColumnSource } from './column-map.js';
import { list, tuple } from './merge.js';
import { display, qualified, type TableName } from './relations.js';
import type { RowChanges, SnapshotTable } from './types.js';

/**
 * Row-granular restore of one table, by primary key.
 *
 * Scope: every key whose row matches the predicate in the snapshot OR now
 * (a bug may have made rows match, e.g. `status = 'refunded'`, or stop
 * matching). For each key in scope:
 * - in the snapshot and now: the row is set back to its snapshot values
 *   (`updated`; `unchanged` when it already has them);
 * - in the snapshot only (deleted since): inserted back (`inserted`);
 * - now only (inserted since the snapshot): kept (`keptInserted`), unless
 *   `deleteInserted`, then deleted (`deleted`): a new row matching the
 *   predicate may be legitimate, so deleting it is an explicit choice.
 * Rows outside the scope are never read for writing, let alone changed.
 * Columns added since the snapshot keep their current values; columns
 * dropped since are not restored (nothing to put them in).
 */

/** What one table's row-granular restore needs. */
export interface RowScope {
  table: TableName;
  entry: SnapshotTable;
  pk: string[];
  /** Temp table holding the keys in scope; `<scope>_rows` holds the snapshot's rows for them. */
  scope: string;
}

/**
 * Collect the keys in scope, and the snapshot's rows for them, into temp
 * tables (dropped at commit): each full table is read once, and every later
 * statement joins the small scope instead of the whole copy.
 *
 * @example
 * await collectScope(tx, scope, "status = 'refunded'");
 */
export async function collectScope(tx: Queryable, s: RowScope, predicate: string): Promise<void> {
  const alias = quoteIdent(s.table.name);
  const pk = s.pk.map((c) => `${alias}.${quoteIdent(c)}`).join(', ');
  const keys = quoteIdent(s.scope);
  const rows = snapRows(s);
  await tx.query(`CREATE TEMP TABLE ${keys} ON COMMIT DROP AS SELECT ${pk} FROM ${qualified(s.table)} AS ${alias} WHERE (${predicate})`);
  await tx.query(
    `CREATE TEMP TABLE ${rows} ON COMMIT DROP AS SELECT ${alias}.* FROM ${qualified(s.entry.copy!)} AS ${alias}
      WHERE (${predicate}) OR (${pk}) IN (SELECT * FROM ${keys})`,
  );
  await tx.query(`INSERT INTO ${keys} SELECT ${list(s.pk)} FROM ${rows} EXCEPT SELECT * FROM ${keys}`);
  await tx.query(`CREATE INDEX ON ${keys} (${list(s.pk)})`);
  await tx.query(`CREATE INDEX ON ${rows} (${list(s.pk)})`);
  await tx.query(`ANALYZE ${keys}`);
  await tx.query(`ANALYZE ${rows}`);
}

/** The temp table of the snapshot's rows in scope (every key in it is in scope). */
const snapRows = (s: RowScope) => quoteIdent(`${s.scope}_rows`);

const value = (c: ColumnSource) => (c.cast === null ? `s.${quoteIdent(c.source)}` : `CAST(s.${quoteIdent(c.source)} AS ${c.cast})`);

/** The row differs from its snapshot over `settable` (compared as text: works for types without `=`). */
function differs(settable: ColumnSource[]): string {
  if (settable.length === 0) return 'false';
  return `ROW(${settable.map((c) => `t.${quoteIdent(c.target)}`).join(', ')})::text IS DISTINCT FROM ROW(${settable.map(value).join(', ')})::text`;
}

/**
 * Count what {@link writeRows} and {@link deleteInsertedRows} would do; changes nothing.
 *
 * @example
 * const changes = await countRows(tx, scope, settable, false); // { matching: 5, updated: 2, inserted: 1, ... }
 */
export async function countRows(tx: Queryable, s: RowScope, settable: ColumnSource[], deleteInserted: boolean): Promise<RowChanges> {
  const { rows } = await tx.query<{ matching: number; both: number; updated: number; inserted: number; since: number }>(
    `SELECT count(*)::int AS matching,
            count(*) FILTER (WHERE s.${quoteIdent(s.pk[0]!)} IS NOT NULL AND t.${quoteIdent(s.pk[0]!)} IS NOT NULL)::int AS both,
            count(*) FILTER (WHERE s.${quoteIdent(s.pk[0]!)} IS NOT NULL AND t.${quoteIdent(s.pk[0]!)} IS NOT NULL AND ${differs(settable)})::int AS updated,
            count(*) FILTER (WHERE s.${quoteIdent(s.pk[0]!)} IS NOT NULL AND t.${quoteIdent(s.pk[0]!)} IS NULL)::int AS inserted,
            count(*) FILTER (WHERE s.${quoteIdent(s.pk[0]!)} IS NULL AND t.${quoteIdent(s.pk[0]!)} IS NOT NULL)::int AS since
       FROM ${quoteIdent(s.scope)} k
       LEFT JOIN ${snapRows(s)} s ON ${tuple('s', s.pk)} = ${tuple('k', s.pk)}
       LEFT JOIN ${qualified(s.table)} t ON ${tuple('t', s.pk)} = ${tuple('k', s.pk)}`,
  );
  const r = rows[0]!;
  return {
    matching: r.matching,
    updated: r.updated,
    inserted: r.inserted,
    deleted: deleteInserted ? r.since : 0,
    unchanged: r.both - r.updated,
    keptInserted: deleteInserted ? 0 : r.since,
  };
}

const inScope = (s: RowScope, alias: string) =>
  `EXISTS (SELECT 1 FROM ${quoteIdent(s.scope)} k WHERE ${tuple('k', s.pk)} = ${tuple(alias, s.pk)})`;

/**
 * Write the scope back: set changed rows to their snapshot values, insert
 * rows deleted since. Parents before children.
 *
 * @example
 * const { updated, inserted } = await writeRows(tx, scope, settable, insertable);
 */
export async function writeRows(
  tx: Queryable,
  s: RowScope,
  settable: ColumnSource[],
  insertable: ColumnSource[],
): Promise<{ updated: number; inserted: number }> {
  let updated = 0;
  if (settable.length > 0) {
    const r = await tx.query(
      `UPDATE ${qualified(s.table)} t SET ${settable.map((c) => `${quoteIdent(c.target)} = ${value(c)}`).join(', ')}
         FROM ${snapRows(s)} s
        WHERE ${tuple('s', s.pk)} = ${tuple('t', s.pk)} AND ${differs(settable)}`,
    );
    updated = r.rowCount ?? 0;
  }
  const ins = await tx.query(
    `INSERT INTO ${qualified(s.table)} (${list(insertable.map((c) => c.target))}) OVERRIDING SYSTEM VALUE
     SELECT ${insertable.map(value).join(', ')} FROM ${snapRows(s)} s
      WHERE NOT EXISTS (SELECT 1 FROM ${qualified(s.table)} t WHERE ${tuple('t', s.pk)} = ${tuple('s', s.pk)})`,
  );
  return { updated, inserted: ins.rowCount ?? 0 };
}

/**
 * Delete the rows in scope that the snapshot does not have (inserted since). Children before parents.
 *
 * @example
 * const deleted = await deleteInsertedRows(tx, scope);
 */
export async function deleteInsertedRows(tx: Queryable, s: RowScope): Promise<number> {
  const r = await tx.query(
    `DELETE FROM ${qualified(s.table)} t
      WHERE ${inScope(s, 't')} AND NOT EXISTS (SELECT 1 FROM ${snapRows(s)} s WHERE ${tuple('s', s.pk)} = ${tuple('t', s.pk)})`,
  );
  return r.rowCount ?? 0;
}

/** Refuse `deleteInserted` when a row to delete is referenced (its foreign keys might cascade outside the scope). */
export async function checkNotReferenced(
  tx: Queryable,
  s: RowScope,
  referencing: { from: TableName; fromColumns: string[]; toColumns: string[]; constraint: string }[],
): Promise<void> {
  for (const fk of referencing) {
    const { rows } = await tx.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ${qualified(s.table)} t
         JOIN ${quoteIdent(s.scope)} k ON ${tuple('k', s.pk)} = ${tuple('t', s.pk)}
         JOIN ${qualified(fk.from)} o ON ${tuple('o', fk.fromColumns)} = ${tuple('t', fk.toColumns)}
        WHERE NOT EXISTS (SELECT 1 FROM ${snapRows(s)} s WHERE ${tuple('s', s.pk)} = ${tuple('t', s.pk)})`,
    );
    if (rows[0]!.n > 0) {
      throw new CurtainError(
        `cannot delete rows of ${display(s.table)} inserted since the snapshot: ${rows[0]!.n} row(s) of ${display(fk.from)} reference them (constraint ${fk.constraint})`,
        { hint: 'restore without --delete-inserted, or deal with the referencing rows first; nothing was changed' },
      );
    }
  }
}
