/**
 * The live shape of tables, read from pg_catalog. Planners work from this, so
 * they never guess what the database looks like.
 */
import type { ObjectDefinition } from './definitions.js';
import type { Rewrites } from './rewrite.js';
import type { Dependent } from './dependents.js';
import type { Queryable } from './queryable.js';

/** One column as PostgreSQL sees it. */
export interface ColumnShape {
  name: string;
  attnum: number;
  /** `format_type` output: `integer`, `character varying(20)`, ... */
  type: string;
  notNull: boolean;
  /** The default expression (`pg_get_expr`), if any. */
  default?: string;
  /** The default calls a volatile function (nextval, random, ...): it cannot be re-evaluated to compare. */
  defaultVolatile: boolean;
  identity: 'always' | 'by default' | null;
  generated: boolean;
}

export interface IndexShape {
  name: string;
  unique: boolean;
  primary: boolean;
  valid: boolean;
  /** Key columns by name; `null` for an expression key. */
  columns: (string | null)[];
  /** Every column the index reads: keys, expressions, predicate, INCLUDE. */
  uses: string[];
  /** Plain btree over plain columns, ascending, no predicate, no INCLUDE: curtain can rebuild it on another column. */
  simple: boolean;
  method: string;
  definition: string;
  /** The constraint (primary key, unique, exclusion) this index backs. */
  constraint?: string;
}

export interface ConstraintShape {
  name: string;
  type: 'primary key' | 'unique' | 'check' | 'foreign key' | 'exclusion' | 'not null' | 'trigger';
  definition: string;
  columns: string[];
  validated: boolean;
  /** For a foreign key: the referenced table (`schema.name`). */
  references?: string;
}

export interface TableShape {
  schema: string;
  name: string;
  /** `r` table, `p` partitioned, `v` view, ... */
  kind: string;
  columns: ColumnShape[];
  primaryKey: string[];
  indexes: IndexShape[];
  constraints: ConstraintShape[];
  /** Foreign keys of other tables that reference this one. */
  referencedBy: ConstraintShape[];
  /** User triggers (not internal ones). */
  triggers: string[];
  /** A partitioned table's direct partitions (`kind` `p`: itself partitioned). */
  partitions?: { schema: string; name: string; kind: string }[];
  /** A partitioned table's partition key columns (`null` for an expression). */
  partitionKey?: (string | null)[];
}

/** Table shapes keyed by `schema.name`, plus index → table lookups. */
export interface Catalog {
  tables: Map<string, TableShape>;
  /** `schema.index` → `schema.table`. */
  indexes: Map<string, string>;
  /** What depends on each object the operations drop, keyed by `describeTarget` (read by planMigration). */
  dependents?: Map<string, Dependent[]>;
  /** Definitions of those dependents (and of replaced views), keyed by `definitionKey`. */
  definitions?: Map<string, ObjectDefinition>;
  /** Index and CHECK definitions rewritten onto a replacing column, keyed by `rewriteKey` (ops/rebuild-indexes.ts). */
  rewrites?: Map<string, Rewrites>;
}

/**
 * The key of a table in {@link Catalog.tables}.
 *
 * @example
 * tableKey({ schema: 'public', name: 'users' }) // 'public.users'
 */
export function tableKey(t: { schema: string; name: string }): string {
  return `${t.schema}.${t.name}`;
}

const CONTYPE: Record<string, ConstraintShape['type']> = {
  p: 'primary key',
  u: 'unique',
  c: 'check',
  f: 'foreign key',
  x: 'exclusion',
  n: 'not null',
  t: 'trigger',
};

/**
 * Read one table; `undefined` when it does not exist.
 *
 * @example
 * const users = await readTable(pool, 'public', 'users');
 * users?.columns.map((c) => c.name);
 */
export async function readTable(q: Queryable, schema: string, name: string): Promise<TableShape | undefined> {
  const rel = await q.query<{ oid: number; kind: string }>(
    `SELECT c.oid::int AS oid, c.relkind AS kind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r','p','v','m','f')`,
    [schema, name],
  );
  const row = rel.rows[0];
  if (!row) return undefined;
  const oid = row.oid;
  const [cols, idx, cons, refs, trg] = await Promise.all([
    q.query(
      `SELECT a.attnum::int AS attnum, a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type,
              a.attnotnull AS not_null, pg_get_expr(d.adbin, d.adrelid) AS def, a.attidentity AS identity,
              a.attgenerated AS generated,
              -- Scan the stored expression tree for calls of volatile functions.
              COALESCE((SELECT bool_or(p.provolatile = 'v')
                          FROM regexp_matches(d.adbin::text, ':(?:op)?funcid ([0-9]+)', 'g') m(x)
                          JOIN pg_proc p ON p.oid = m.x[1]::oid), false) AS volatile
         FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
      [oid],
    ),
    q.query(
      `SELECT ic.relname AS name, ix.indisunique AS unique, ix.indisprimary AS primary, ix.indisvalid AS valid,
              ix.indkey::int2[] AS keys, ix.indnkeyatts::int AS nkeys, ix.indnatts::int AS natts,
              ix.indexprs IS NOT NULL AS has_exprs, ix.indpred IS NOT NULL AS has_pred,
              (SELECT bool_and(o = 0) FROM unnest(ix.indoption::int2[]) o) AS plain_order,
              am.amname AS method, pg_get_indexdef(ix.indexrelid) AS definition,
              ARRAY(SELECT a.attname::text FROM pg_depend d
                      JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
                     WHERE d.classid = 'pg_class'::regclass AND d.objid = ix.indexrelid
                       AND d.refobjid = ix.indrelid AND d.refobjsubid > 0) AS uses,
              (SELECT conname FROM pg_constraint k WHERE k.conindid = ix.indexrelid AND k.conrelid = ix.indrelid
                 AND k.contype IN ('p','u','x')) AS constraint
         FROM pg_index ix JOIN pg_class ic ON ic.oid = ix.indexrelid JOIN pg_am am ON am.oid = ic.relam
        WHERE ix.indrelid = $1 ORDER BY ic.relname`,
      [oid],
    ),
    q.query(
      `SELECT conname AS name, contype AS type, pg_get_constraintdef(oid) AS definition, conkey::int2[] AS keys,
              convalidated AS validated, CASE WHEN confrelid <> 0 THEN confrelid::regclass::text END AS refs
         FROM pg_constraint k WHERE conrelid = $1
          -- A foreign key to a partitioned table has one clone per referenced partition, on this same table: internal.
          AND NOT (contype = 'f' AND EXISTS (SELECT 1 FROM pg_constraint p WHERE p.oid = k.conparentid AND p.conrelid = k.conrelid))
        ORDER BY conname`,
      [oid],
    ),
    q.query(
      `SELECT k.conname AS name, pg_get_constraintdef(k.oid) AS definition, k.confkey::int2[] AS keys,
              k.convalidated AS validated, k.conrelid::regclass::text AS refs
         FROM pg_constraint k WHERE k.confrelid = $1 AND k.contype = 'f' AND k.conparentid = 0 ORDER BY k.conname`,
      [oid],
    ),
    q.query(`SELECT tgname AS name FROM pg_trigger WHERE tgrelid = $1 AND NOT tgisinternal ORDER BY tgname`, [oid]),
  ]);
  const byNum = new Map<number, string>();
  const columns: ColumnShape[] = cols.rows.map((c) => {
    byNum.set(c.attnum, c.name);
    return {
      name: c.name,
      attnum: c.attnum,
      type: c.type,
      notNull: c.not_null,
      ...(c.def === null ? {} : { default: c.def }),
      defaultVolatile: c.volatile === true,
      identity: c.identity === 'a' ? 'always' : c.identity === 'd' ? 'by default' : null,
      generated: c.generated !== '' && c.generated !== null,
    };
  });
  const names = (keys: number[] | null): (string | null)[] => (keys ?? []).map((k) => (k === 0 ? null : byNum.get(k) ?? null));
  const indexes: IndexShape[] = idx.rows.map((i) => {
    const columns = names((i.keys as number[]).slice(0, i.nkeys));
    return {
      name: i.name,
      unique: i.unique,
      primary: i.primary,
      valid: i.valid,
      columns,
      // Key and INCLUDE columns (recorded on the constraint for constraint indexes) plus expression/predicate columns.
      uses: [...new Set([...names(i.keys as number[]).filter((n): n is string => n !== null), ...(i.uses as string[])])],
      simple:
        i.method === 'btree' && !i.has_exprs && !i.has_pred && i.nkeys === i.natts && i.plain_order !== false &&
        columns.every((c) => c !== null),
      method: i.method,
      definition: i.definition,
      ...(i.constraint ? { constraint: i.constraint } : {}),
    };
  });
  const constraints: ConstraintShape[] = cons.rows.map((k) => ({
    name: k.name,
    type: CONTYPE[k.type] ?? 'check',
    definition: k.definition,
    columns: names(k.keys).filter((n): n is string => n !== null),
    validated: k.validated,
    ...(k.refs ? { references: k.refs } : {}),
  }));
  const referencedBy: ConstraintShape[] = refs.rows.map((k) => ({
    name: k.name,
    type: 'foreign key',
    definition: k.definition,
    columns: names(k.keys).filter((n): n is string => n !== null),
    validated: k.validated,
    references: k.refs,
  }));
  const pk = indexes.find((i) => i.primary);
  const partitioned = row.kind === 'p' ? await readPartitions(q, oid, byNum) : {};
  return {
    ...partitioned,
    schema,
    name,
    kind: row.kind,
    columns,
    primaryKey: pk ? pk.columns.filter((c): c is string => c !== null) : [],
    indexes,
    constraints,
    referencedBy,
    triggers: trg.rows.map((t) => t.name),
  };
}

async function readPartitions(q: Queryable, oid: number, byNum: Map<number, string>): Promise<Pick<TableShape, 'partitions' | 'partitionKey'>> {
  const [parts, key] = await Promise.all([
    q.query<{ schema: string; name: string; kind: string }>(
      `SELECT n.nspname AS schema, c.relname AS name, c.relkind::text AS kind FROM pg_inherits i
         JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE i.inhparent = $1 ORDER BY c.relname`,
      [oid],
    ),
    q.query<{ keys: number[] }>(`SELECT partattrs::int2[] AS keys FROM pg_partitioned_table WHERE partrelid = $1`, [oid]),
  ]);
  return { partitions: parts.rows, partitionKey: (key.rows[0]?.keys ?? []).map((k) => (k === 0 ? null : byNum.get(k) ?? null)) };
}

/**
 * Find the table an index belongs to: `schema.table`, or `undefined`.
 *
 * @example
 * await indexTable(pool, 'public', 'orders_user_id_idx'); // 'public.orders'
 */
export async function indexTable(q: Queryable, schema: string, index: string): Promise<{ schema: string; name: string } | undefined> {
  const { rows } = await q.query<{ schema: string; name: string }>(
    `SELECT tn.nspname AS schema, t.relname AS name FROM pg_index ix
       JOIN pg_class i ON i.oid = ix.indexrelid JOIN pg_namespace n ON n.oid = i.relnamespace
       JOIN pg_class t ON t.oid = ix.indrelid JOIN pg_namespace tn ON tn.oid = t.relnamespace
      WHERE n.nspname = $1 AND i.relname = $2`,
    [schema, index],
  );
  return rows[0];
}

/**
 * Read several tables (and the tables of named indexes) into a {@link Catalog}.
 * Missing tables are simply absent; planners report them.
 *
 * @example
 * const catalog = await readCatalog(pool, [{ schema: 'public', name: 'users' }]);
 */
export async function readCatalog(
  q: Queryable,
  tables: { schema: string; name: string }[],
  indexes: { schema: string; name: string }[] = [],
): Promise<Catalog> {
  const catalog: Catalog = { tables: new Map(), indexes: new Map() };
  const wanted = new Map(tables.map((t) => [tableKey(t), t]));
  for (const i of indexes) {
    const owner = await indexTable(q, i.schema, i.name);
    if (!owner) continue;
    catalog.indexes.set(tableKey(i), tableKey(owner));
    wanted.set(tableKey(owner), owner);
  }
  for (const [key, t] of wanted) {
    const shape = await readTable(q, t.schema, t.name);
    if (shape) catalog.tables.set(key, shape);
  }
  return catalog;
}
