import { quoteIdent } from '../db/identifiers.js';
import type { Queryable } from '../db/queryable.js';
import { CurtainError } from '../errors.js';
import type { ForeignKey } from './foreign-keys.js';
import { display, qualified, tableColumns, type TableName } from './relations.js';
import type { SnapshotTable } from './types.js';

/**
 * Merge mode: a table that something outside the restored set references
 * cannot be truncated, so it is brought back to the snapshot by primary key
 * instead: stale rows deleted, changed rows updated, missing rows inserted.
 * Set-based statements, as in replace mode.
 */

/**
 * Tables that cannot be truncated because something outside the truncated set
 * references them; repeated until stable, since merging one table can put a
 * table it references in the same position.
 */
export function tablesToMerge(targets: TableName[], fks: ForeignKey[]): Set<string> {
  const replace = new Set(targets.map(display));
  for (let changed = true; changed; ) {
    changed = false;
    for (const fk of fks) {
      if (replace.has(display(fk.to)) && !replace.has(display(fk.from))) {
        replace.delete(display(fk.to));
        changed = true;
      }
    }
  }
  return new Set(targets.map(display).filter((t) => !replace.has(t)));
}

export const list = (cols: string[]) => cols.map(quoteIdent).join(', ');
export const tuple = (alias: string, cols: string[]) => `(${cols.map((c) => `${alias}.${quoteIdent(c)}`).join(', ')})`;

/** Refuse when a row outside the restored set references a row the merge would delete or re-key. */
export async function checkOutsideReferences(tx: Queryable, entry: SnapshotTable, pk: string[], fk: ForeignKey): Promise<void> {
  const { rows } = await tx.query<{ n: number }>(
    `SELECT count(*) AS n FROM ${qualified(fk.to)} t
       JOIN ${qualified(fk.from)} o ON ${tuple('o', fk.fromColumns)} = ${tuple('t', fk.toColumns)}
       LEFT JOIN ${qualified(entry.copy!)} s ON ${tuple('s', pk)} = ${tuple('t', pk)}
      WHERE s.${quoteIdent(pk[0]!)} IS NULL OR ${tuple('s', fk.toColumns)} IS DISTINCT FROM ${tuple('t', fk.toColumns)}`,
  );
  const n = Number(rows[0]!.n);
  if (n > 0) {
    throw new CurtainError(
      `cannot restore ${display(fk.to)} on its own: ${n} row(s) of ${display(fk.from)} (constraint ${fk.constraint}) reference rows the snapshot does not have`,
      { hint: `restore ${display(fk.from)} too (--tables), or remove those rows first; nothing was changed` },
    );
  }
}

export async function deleteExtraRows(tx: Queryable, t: TableName, entry: SnapshotTable, pk: string[]): Promise<void> {
  await tx.query(
    `DELETE FROM ${qualified(t)} t WHERE NOT EXISTS (SELECT 1 FROM ${qualified(entry.copy!)} s WHERE ${tuple('s', pk)} = ${tuple('t', pk)})`,
  );
}

/** Update rows that differ (compared as text: works for types without `=`), insert missing ones. */
export async function mergeRows(
  tx: Queryable,
  t: TableName,
  entry: SnapshotTable,
  cols: string[],
  pk: string[],
  value: (col: string) => string,
): Promise<void> {
  const now = await tableColumns(tx, t);
  const settable = cols.filter((c) => !pk.includes(c) && now.find((n) => n.name === c)?.identity !== 'a');
  if (settable.length > 0) {
    await tx.query(
      `UPDATE ${qualified(t)} t SET ${settable.map((c) => `${quoteIdent(c)} = ${value(c)}`).join(', ')}
         FROM ${qualified(entry.copy!)} s
        WHERE ${tuple('s', pk)} = ${tuple('t', pk)}
          AND ROW${tuple('t', settable)}::text IS DISTINCT FROM ROW(${settable.map(value).join(', ')})::text`,
    );
  }
  await tx.query(
    `INSERT INTO ${qualified(t)} (${list(cols)}) OVERRIDING SYSTEM VALUE
     SELECT ${cols.map(value).join(', ')} FROM ${qualified(entry.copy!)} s
      WHERE NOT EXISTS (SELECT 1 FROM ${qualified(t)} t WHERE ${tuple('t', pk)} = ${tuple('s', pk)})`,
  );
}

