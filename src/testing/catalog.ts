import type { Queryable } from '../db/queryable.js';

/**
 * A comparable description of every user schema: tables, columns with types,
 * defaults and nullability, constraints, indexes, triggers, functions, views
 * and sequences. Two equal fingerprints mean the same schema.
 *
 * @example
 * const before = await schemaFingerprint(pool);
 * // expand, then abort
 * expect(await schemaFingerprint(pool)).toEqual(before);
 */
export async function schemaFingerprint(q: Queryable, options: { exclude?: string[] } = {}): Promise<Record<string, string[]>> {
  const exclude = ['pg_catalog', 'information_schema', 'pg_toast', ...(options.exclude ?? ['curtain', 'curtain_snapshots'])];
  const list = async (sql: string) => (await q.query<{ d: string }>(sql, [exclude])).rows.map((r) => r.d);
  return {
    relations: await list(
      `SELECT n.nspname || '.' || c.relname || ' ' || c.relkind::text AS d FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname <> ALL($1) AND n.nspname NOT LIKE 'pg_temp%' ORDER BY 1`,
    ),
    columns: await list(
      `SELECT n.nspname || '.' || c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
              || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
              || COALESCE(' default ' || pg_get_expr(d.adbin, d.adrelid), '')
              || CASE WHEN a.attidentity <> '' THEN ' identity ' || a.attidentity::text ELSE '' END
              || CASE WHEN a.attgenerated <> '' THEN ' generated' ELSE '' END
              || ' #' || a.attnum AS d
         FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
         LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r','p','v','m','f')
          AND n.nspname <> ALL($1) ORDER BY 1`,
    ),
    constraints: await list(
      `SELECT n.nspname || '.' || c.relname || ' ' || con.conname || ' ' || pg_get_constraintdef(con.oid)
              || CASE WHEN con.convalidated THEN '' ELSE ' (not valid)' END AS d
         FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname <> ALL($1) ORDER BY 1`,
    ),
    indexes: await list(
      `SELECT pg_get_indexdef(i.indexrelid) || CASE WHEN i.indisvalid THEN '' ELSE ' (invalid)' END AS d
         FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname <> ALL($1) ORDER BY 1`,
    ),
    triggers: await list(
      `SELECT pg_get_triggerdef(t.oid) AS d FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE NOT t.tgisinternal AND n.nspname <> ALL($1) ORDER BY 1`,
    ),
    functions: await list(
      `SELECT n.nspname || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')' AS d
         FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname <> ALL($1) ORDER BY 1`,
    ),
    views: await list(
      `SELECT n.nspname || '.' || c.relname || ' ' || pg_get_viewdef(c.oid) AS d FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('v','m') AND n.nspname <> ALL($1) ORDER BY 1`,
    ),
  };
}
