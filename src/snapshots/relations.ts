import { parseTableRef, quoteQualified } from '../db/identifiers.js';
import type { Queryable } from '../db/queryable.js';
import { CurtainError } from '../errors.js';
import type { SnapshotColumn } from './types.js';

/** A table by schema and name. */
export interface TableName {
  schema: string;
  name: string;
}

/** `"schema"."name"`. */
export function qualified(t: TableName): string {
  return quoteQualified(t.schema, t.name);
}

/** `schema.name` for people (and for matching `--tables`). */
export function display(t: TableName): string {
  return `${t.schema}.${t.name}`;
}

/**
 * Every user table: ordinary and partitioned tables that are not partitions,
 * outside the system schemas, the curtain schema, its snapshot schema and
 * extensions.
 */
export async function userTables(q: Queryable, exclude: string[]): Promise<TableName[]> {
  const { rows } = await q.query<TableName>(
    `SELECT n.nspname AS schema, c.relname AS name
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
        AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
        AND n.nspname <> ALL($1::text[])
        AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
      ORDER BY 1, 2`,
    [exclude],
  );
  return rows;
}

/**
 * Resolve table references written by a user (`users`, `app.users`);
 * unqualified names resolve against `current_schema()`. Unknown tables are
 * one error naming all of them.
 */
export async function resolveTables(q: Queryable, refs: string[]): Promise<TableName[]> {
  const { rows } = await q.query<{ s: string }>('SELECT current_schema() AS s');
  const current = rows[0]?.s ?? 'public';
  const wanted = refs.map((r) => parseTableRef(r.trim(), current));
  const { rows: found } = await q.query<TableName>(
    `SELECT n.nspname AS schema, c.relname AS name
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p') AND (n.nspname, c.relname) IN (SELECT * FROM unnest($1::text[], $2::text[]))`,
    [wanted.map((w) => w.schema), wanted.map((w) => w.name)],
  );
  const key = (t: TableName) => `${t.schema}\u0000${t.name}`;
  const have = new Set(found.map(key));
  const missing = wanted.filter((w) => !have.has(key(w)));
  if (missing.length > 0) {
    throw new CurtainError(`no such table: ${missing.map(display).join(', ')}`, { hint: 'name tables as `table` or `schema.table`' });
  }
  const seen = new Set<string>();
  return wanted.filter((w) => !seen.has(key(w)) && Boolean(seen.add(key(w))));
}

/** Columns of a table now, in attribute order, without dropped ones. */
export async function tableColumns(q: Queryable, t: TableName): Promise<SnapshotColumn[]> {
  const { rows } = await q.query<SnapshotColumn>(
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS "notNull",
            CASE WHEN a.attgenerated = '' THEN pg_get_expr(d.adbin, d.adrelid) END AS default,
            a.attidentity::text AS identity,
            CASE WHEN a.attgenerated <> '' THEN pg_get_expr(d.adbin, d.adrelid) END AS generated,
            a.attnum::int AS attnum
       FROM pg_attribute a
       LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attnum`,
    [qualified(t)],
  );
  return rows;
}

/** The primary key's columns, or [] when there is none. */
export async function primaryKey(q: Queryable, t: TableName): Promise<string[]> {
  const { rows } = await q.query<{ name: string }>(
    `SELECT a.attname AS name
       FROM pg_index i JOIN LATERAL unnest(i.indkey) WITH ORDINALITY k(attnum, ord) ON true
       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
      WHERE i.indrelid = $1::regclass AND i.indisprimary
      ORDER BY k.ord`,
    [qualified(t)],
  );
  return rows.map((r) => r.name);
}

/** `pg_total_relation_size` of a table. */
export async function relationBytes(q: Queryable, t: TableName): Promise<number> {
  const { rows } = await q.query<{ b: number }>('SELECT pg_total_relation_size($1::regclass) AS b', [qualified(t)]);
  return Number(rows[0]?.b ?? 0);
}
