import type { Queryable } from '../db/queryable.js';

/** What the converter may know of the live database (all optional: it converts without one). */
export interface ConvertCatalog {
  /** The column's current definition, or undefined when unknown. */
  column(table: string, column: string): Promise<{ type: string; nullable: boolean; hasDefault: boolean } | undefined>;
  /** Whether PostgreSQL can cast `from` to `to` (a cast in pg_cast, or I/O conversion from or to a string type). */
  canCast(from: string, to: string): Promise<boolean>;
}

/**
 * A {@link ConvertCatalog} over a live connection.
 *
 * @example
 * const catalog = databaseCatalog(pool);
 * await catalog.column('orders', 'total'); // { type: 'integer', nullable: false, hasDefault: false }
 */
export function databaseCatalog(q: Queryable): ConvertCatalog {
  return {
    async column(table, column) {
      const { rows } = await q.query<{ type: string; nullable: boolean; has_default: boolean }>(
        `SELECT format_type(a.atttypid, a.atttypmod) AS type, NOT a.attnotnull AS nullable, a.atthasdef AS has_default
           FROM pg_attribute a WHERE a.attrelid = to_regclass($1) AND a.attname = $2 AND a.attnum > 0 AND NOT a.attisdropped`,
        [table, column],
      );
      const r = rows[0];
      return r && { type: r.type, nullable: r.nullable, hasDefault: r.has_default };
    },
    async canCast(from, to) {
      try {
        const { rows } = await q.query<{ ok: boolean }>(
          `SELECT $1::regtype = $2::regtype
               OR EXISTS (SELECT 1 FROM pg_cast WHERE castsource = $1::regtype AND casttarget = $2::regtype)
               OR (SELECT typcategory FROM pg_type WHERE oid = $1::regtype) = 'S'
               OR (SELECT typcategory FROM pg_type WHERE oid = $2::regtype) = 'S' AS ok`,
          [from.replace(/\(.*\)/, ''), to.replace(/\(.*\)/, '')],
        );
        return Boolean(rows[0]?.ok);
      } catch {
        return false;
      }
    },
  };
}
