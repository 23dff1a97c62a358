import { quoteIdent } from '../db/identifiers.js';
import type { Queryable } from '../db/queryable.js';
import { qualified, type TableName } from './relations.js';

/** Move each owned sequence (identity or serial) up to the table's maximum; never backwards. */
export async function advanceSequences(tx: Queryable, t: TableName): Promise<void> {
  const { rows } = await tx.query<{ col: string; seq: string }>(
    `SELECT a.attname AS col, pg_get_serial_sequence($1, a.attname) AS seq
       FROM pg_attribute a WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped
        AND pg_get_serial_sequence($1, a.attname) IS NOT NULL`,
    [qualified(t)],
  );
  for (const r of rows) {
    await tx.query(
      `SELECT setval($1::regclass, x.m)
         FROM (SELECT max(${quoteIdent(r.col)})::bigint AS m FROM ${qualified(t)}) x, ${r.seq} s
        WHERE x.m IS NOT NULL AND (x.m > s.last_value OR (x.m = s.last_value AND NOT s.is_called))`,
      [r.seq],
    );
  }
}

