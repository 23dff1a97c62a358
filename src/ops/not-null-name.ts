import { quoteLiteral } from '../db/identifiers.js';
import { qt } from './common.js';
import type { TableName } from './operation.js';

/**
 * SQL that gives a column renamed into place the NOT NULL constraint name it
 * would have had. PostgreSQL 18 records NOT NULL as a named constraint
 * (`<table>_<column>_not_null`); a shadow column keeps the name it was
 * created with (`orders__curtain_new_total_not_null`) when it takes the old
 * column's name, which would leave curtain's internals in the catalog and in
 * every schema diff. Before 18 there is no such row and this does nothing.
 *
 * @example
 * renameNotNullSql({ schema: 'public', name: 'orders' }, 'total')
 * // DO $curtain$ ... ALTER TABLE "public"."orders" RENAME CONSTRAINT ... TO 'orders_total_not_null' ...
 */
export function renameNotNullSql(t: TableName, column: string): string {
  const table = qt(t);
  // PostgreSQL truncates generated names to 63 bytes; names that long keep their generated form.
  const wanted = `${t.name}_${column}_not_null`;
  return `DO $curtain$
DECLARE c name;
BEGIN
  SELECT k.conname INTO c FROM pg_constraint k
    JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1]
   WHERE k.conrelid = ${quoteLiteral(table)}::regclass AND k.contype = 'n' AND a.attname = ${quoteLiteral(column)}
     AND k.conname LIKE '%\\_curtain\\_%';
  IF c IS NOT NULL AND octet_length(${quoteLiteral(wanted)}) <= 63
     AND NOT EXISTS (SELECT FROM pg_constraint WHERE conrelid = ${quoteLiteral(table)}::regclass AND conname = ${quoteLiteral(wanted)}) THEN
    EXECUTE format('ALTER TABLE %s RENAME CONSTRAINT %I TO %I', ${quoteLiteral(table)}, c, ${quoteLiteral(wanted)});
  END IF;
END
$curtain$`;
}
