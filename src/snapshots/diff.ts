import type pg from 'pg';
import { transaction } from '../db/queryable.js';
import { DEFAULT_SCHEMA } from '../store/store.js';
import { requireRecord } from './catalog.js';
import { countAndChecksum, useStableOutput } from './checksum.js';
import { display, qualified, tableColumns } from './relations.js';
import type { SnapshotRecord, TableDiff } from './types.js';

/** What changed since a snapshot. */
export interface SnapshotDiff {
  snapshot: SnapshotRecord;
  tables: TableDiff[];
}

/**
 * Compare each table of a snapshot with the table now: row counts, and the
 * checksum over the snapshot's columns (so an UPDATE that keeps the row count
 * still shows as a change). Read-only, one REPEATABLE READ transaction.
 *
 * @example
 * const { tables } = await diffSnapshot(pool, id, { schema: 'curtain' });
 * for (const t of tables) console.log(t.table, t.rowsThen, '→', t.rowsNow, t.changed ? 'changed' : 'same');
 */
export async function diffSnapshot(pool: pg.Pool, id: string, options: { schema?: string } = {}): Promise<SnapshotDiff> {
  const snapshot = await requireRecord(pool, options.schema ?? DEFAULT_SCHEMA, id);
  const tables = await transaction(pool, async (tx) => {
    await tx.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY');
    await useStableOutput(tx);
    const out: TableDiff[] = [];
    for (const t of snapshot.tables) {
      const { rows } = await tx.query<{ r: string | null }>('SELECT to_regclass($1) AS r', [qualified(t)]);
      const base = { table: display(t), rowsThen: t.rows, checksumThen: t.checksum };
      if (!rows[0]?.r) {
        out.push({ ...base, rowsNow: null, checksumNow: null, changed: true, droppedColumns: t.columns.map((c) => c.name), addedColumns: [] });
        continue;
      }
      const now = await tableColumns(tx, t);
      const dropped = t.columns.filter((c) => !now.some((n) => n.name === c.name)).map((c) => c.name);
      const added = now.filter((n) => !t.columns.some((c) => c.name === n.name)).map((n) => n.name);
      const comparable = dropped.length === 0;
      const current = await countAndChecksum(tx, qualified(t), comparable ? t.columns.map((c) => c.name) : [], { like: t.checksum });
      const checksumNow = comparable ? current.checksum : null;
      const changed = current.rows !== t.rows || dropped.length > 0 || (checksumNow !== null && t.checksum !== null && checksumNow !== t.checksum);
      out.push({ ...base, rowsNow: current.rows, checksumNow, changed, droppedColumns: dropped, addedColumns: added });
    }
    return out;
  });
  return { snapshot, tables };
}
