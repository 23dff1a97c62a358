import type { Queryable } from '../db/queryable.js';
import { display, type TableName } from './relations.js';

/** A foreign key: `from(fromColumns)` references `to(toColumns)`. */
export interface ForeignKey {
  constraint: string;
  from: TableName;
  fromColumns: string[];
  to: TableName;
  toColumns: string[];
}

/** Every foreign key whose referencing or referenced side is one of `tables`. */
export async function foreignKeysTouching(q: Queryable, tables: TableName[]): Promise<ForeignKey[]> {
  const { rows } = await q.query<{
    constraint: string;
    from_schema: string;
    from_name: string;
    from_columns: string[];
    to_schema: string;
    to_name: string;
    to_columns: string[];
  }>(
    `WITH wanted AS (SELECT (quote_ident(s) || '.' || quote_ident(n))::regclass AS oid FROM unnest($1::text[], $2::text[]) AS w(s, n))
     SELECT c.conname AS constraint,
            fn.nspname AS from_schema, fc.relname AS from_name,
            ARRAY(SELECT a.attname FROM unnest(c.conkey) WITH ORDINALITY k(n, o)
                    JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.o)::text[] AS from_columns,
            tn.nspname AS to_schema, tc.relname AS to_name,
            ARRAY(SELECT a.attname FROM unnest(c.confkey) WITH ORDINALITY k(n, o)
                    JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n ORDER BY k.o)::text[] AS to_columns
       FROM pg_constraint c
       JOIN pg_class fc ON fc.oid = c.conrelid JOIN pg_namespace fn ON fn.oid = fc.relnamespace
       JOIN pg_class tc ON tc.oid = c.confrelid JOIN pg_namespace tn ON tn.oid = tc.relnamespace
      WHERE c.contype = 'f' AND c.conparentid = 0
        AND (c.conrelid IN (SELECT oid FROM wanted) OR c.confrelid IN (SELECT oid FROM wanted))
      ORDER BY 1`,
    [tables.map((t) => t.schema), tables.map((t) => t.name)],
  );
  return rows.map((r) => ({
    constraint: r.constraint,
    from: { schema: r.from_schema, name: r.from_name },
    fromColumns: r.from_columns,
    to: { schema: r.to_schema, name: r.to_name },
    toColumns: r.to_columns,
  }));
}

/**
 * Order tables so that referenced tables come before the tables referencing
 * them (self-references and cycles are ignored: within one statement, and
 * with deferrable constraints, they are fine).
 */
export function parentsFirst(tables: TableName[], fks: ForeignKey[]): TableName[] {
  const key = display;
  const inSet = new Map(tables.map((t) => [key(t), t]));
  const deps = new Map<string, Set<string>>(tables.map((t) => [key(t), new Set<string>()]));
  for (const fk of fks) {
    const from = key(fk.from);
    const to = key(fk.to);
    if (from !== to && inSet.has(from) && inSet.has(to)) deps.get(from)!.add(to);
  }
  const out: TableName[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (k: string) => {
    if (state.get(k)) return; // done, or a cycle: stop here
    state.set(k, 'visiting');
    for (const d of deps.get(k) ?? []) visit(d);
    state.set(k, 'done');
    out.push(inSet.get(k)!);
  };
  for (const t of tables) visit(key(t));
  return out;
}
