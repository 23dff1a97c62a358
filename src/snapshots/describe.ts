import type { Queryable } from '../db/queryable.js';
import { countAndChecksum, useStableOutput } from './checksum.js';
import { qualified, relationBytes, tableColumns, type TableName } from './relations.js';
import type { SnapshotTable } from './types.js';

/**
 * Columns, row count, size and checksum of live tables, for the strategies
 * that keep no copy inside the database (dump, clone). Run it in the same
 * REPEATABLE READ snapshot as the copy for exact figures.
 */
export async function describeTables(tx: Queryable, tables: TableName[]): Promise<SnapshotTable[]> {
  await useStableOutput(tx);
  const out: SnapshotTable[] = [];
  for (const t of tables) {
    const columns = await tableColumns(tx, t);
    const { rows, checksum } = await countAndChecksum(tx, qualified(t), columns.map((c) => c.name));
    out.push({ schema: t.schema, name: t.name, rows, bytes: await relationBytes(tx, t), checksum, columns });
  }
  return out;
}
