/**
 * Index and CHECK definitions rewritten from one column to another, by
 * PostgreSQL itself: on an empty temporary copy of the table, the new column
 * takes the old one's name, the original definition is created verbatim (so
 * PostgreSQL binds it to the new column), the names are put back, and
 * `pg_get_indexdef` / `pg_get_constraintdef` print the definition over the
 * new column. No SQL text is rewritten by hand, and a definition that does
 * not fit the new column (an expression invalid for its new type) is caught
 * here, at plan time.
 */
import type { TableShape } from './catalog.js';
import { quoteIdent, quoteQualified } from './identifiers.js';
import type { Queryable } from './queryable.js';

/** `index:<name>` → the part after `ON table ` (`USING btree (lower(b)) WHERE ...`); `check:<name>` → `CHECK (...)`. An Error when it cannot move. */
export type Rewrites = Map<string, string | Error>;

/**
 * Rewrite every expression/partial index and CHECK constraint of `table` that
 * reads `from` so that it reads `to` (of type `toType`) instead.
 *
 * @example
 * const r = await rewriteOnColumn(pool, users, 'email', 'email_address', 'text');
 * r.get('index:users_lower_email') // 'USING btree (lower(email_address))'
 */
export async function rewriteOnColumn(q: Queryable, table: TableShape, from: string, to: string, toType: string): Promise<Rewrites> {
  const out: Rewrites = new Map();
  const qualified = quoteQualified(table.schema, table.name);
  // The table as pg_get_indexdef prints it (quoted only where needed).
  const printed = (await q.query<{ n: string }>(`SELECT format('%I.%I', $1::text, $2::text) AS n`, [table.schema, table.name])).rows[0]!.n;
  const work: { key: string; create: (probe: string, name: string) => string; read: (name: string) => string }[] = [];
  for (const i of table.indexes) {
    if (i.simple || i.constraint || !i.uses.includes(from)) continue;
    const at = [` ON ${printed} `, ` ON ONLY ${printed} `].map((s) => [s, i.definition.indexOf(s)] as const).find(([, n]) => n >= 0);
    if (!at) {
      out.set(`index:${i.name}`, new Error(`cannot read the definition of index ${i.name}`));
      continue;
    }
    const tail = i.definition.slice(at[1] + at[0].length);
    work.push({
      key: `index:${i.name}`,
      create: (probe, name) => `CREATE ${i.unique ? 'UNIQUE ' : ''}INDEX ${quoteIdent(name)} ON ${probe} ${tail}`,
      read: (name) => `SELECT pg_get_indexdef(${`'pg_temp.${name}'`}::regclass) AS def`,
    });
  }
  for (const k of table.constraints) {
    if (k.type !== 'check' || !k.columns.includes(from)) continue;
    const def = k.definition.replace(/ NOT VALID$/, '');
    work.push({
      key: `check:${k.name}`,
      create: (probe, name) => `ALTER TABLE ${probe} ADD CONSTRAINT ${quoteIdent(name)} ${def} NOT VALID`,
      read: (name) => `SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conname = '${name}' AND conrelid = 'pg_temp._curtain_probe'::regclass`,
    });
  }
  for (const [n, w] of work.entries()) {
    const name = `_curtain_probe_${n}`;
    const probe = 'pg_temp._curtain_probe';
    const aside = '_curtain_probe_aside';
    // One simple-protocol round trip: one connection, one implicit transaction; a failure leaves nothing behind.
    const script = [
      `CREATE TEMP TABLE _curtain_probe (LIKE ${qualified})`,
      `ALTER TABLE ${probe} ADD COLUMN ${quoteIdent(to)} ${toType}`,
      `ALTER TABLE ${probe} RENAME COLUMN ${quoteIdent(from)} TO ${aside}`,
      `ALTER TABLE ${probe} RENAME COLUMN ${quoteIdent(to)} TO ${quoteIdent(from)}`,
      w.create(probe, name),
      `ALTER TABLE ${probe} RENAME COLUMN ${quoteIdent(from)} TO ${quoteIdent(to)}`,
      `ALTER TABLE ${probe} RENAME COLUMN ${aside} TO ${quoteIdent(from)}`,
      w.read(name),
      `DROP TABLE ${probe}`,
    ].join(';\n');
    try {
      const results = (await q.query(script)) as unknown as { rows: { def?: string }[] }[];
      const def = results.find((r) => r.rows?.[0]?.def !== undefined)?.rows[0]!.def as string;
      if (w.key.startsWith('index:')) {
        out.set(w.key, def.slice(def.indexOf(' USING ') + 1));
      } else {
        out.set(w.key, def.replace(/ NOT VALID$/, ''));
      }
    } catch (err) {
      out.set(w.key, err as Error);
    }
  }
  return out;
}
