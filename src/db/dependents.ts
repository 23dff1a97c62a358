/**
 * What else in the database reads an object a migration is about to drop or
 * replace. PostgreSQL records most of it in pg_depend (views through their
 * rewrite rules, SQL-standard function bodies, constraints, policies, ...);
 * plpgsql and string-bodied SQL functions are only text, so their bodies are
 * scanned for the name and reported as "may break".
 */
import type { Queryable } from './queryable.js';

/** An object contract will drop or replace. Tables cover views and materialized views too. */
export type DropTarget =
  | { kind: 'column'; schema: string; table: string; column: string }
  | { kind: 'constraint'; schema: string; table: string; name: string }
  | { kind: 'index'; schema: string; name: string }
  | { kind: 'table'; schema: string; name: string };

export type DependentKind =
  | 'view'
  | 'materialized view'
  | 'function'
  | 'constraint'
  | 'policy'
  | 'trigger'
  | 'generated column'
  | 'publication'
  | 'index'
  | 'rule'
  | 'statistics'
  | 'sequence'
  | 'other';

/** One object that depends on a target. */
export interface Dependent {
  kind: DependentKind;
  schema: string;
  /** The object's own name (a constraint's, trigger's, policy's name; a function's name without arguments). */
  name: string;
  /** The relation a constraint, trigger, policy, rule, index or generated column belongs to (`schema.name`). */
  table?: string;
  /** What of ours it depends on: `column public.users.email`, `table public.users`, ... */
  on: string;
  /**
   * `depends`: recorded in pg_depend, PostgreSQL will refuse the drop (or drop it with the target).
   * `may break`: a function whose body text mentions the name; PostgreSQL does not track it.
   */
  certainty: 'depends' | 'may break';
  /** Its definition, the function's signature, or the view chain it is reached through. */
  detail?: string;
  /** The catalog row (`pg_class`, `pg_proc`, `pg_constraint`, ...) and its oid, to read its full definition. */
  object: { catalog: string; oid: number };
}

export interface FindDependentsOptions {
  /** Schemas whose functions are not text-scanned (curtain's own schema, for one). */
  skipSchemas?: string[];
}

/**
 * The description of a target used in {@link Dependent.on}.
 *
 * @example
 * describeTarget({ kind: 'column', schema: 'public', table: 'users', column: 'email' }); // 'column public.users.email'
 */
export function describeTarget(t: DropTarget): string {
  switch (t.kind) {
    case 'column':
      return `column ${t.schema}.${t.table}.${t.column}`;
    case 'constraint':
      return `constraint ${t.name} on ${t.schema}.${t.table}`;
    case 'index':
      return `index ${t.schema}.${t.name}`;
    case 'table':
      return `table ${t.schema}.${t.name}`;
  }
}

/** Where in pg_depend a target lives: (refclassid, refobjid, refobjsubid or any) pairs, plus its own table. */
interface Anchor {
  refs: { classid: string; oid: number; subid: number | null }[];
  /** The relation the target is or belongs to; objects owned by a dropped table itself are not reported. */
  relid: number;
  /** The target is a whole relation: its own indexes, triggers, constraints, policies and rules go with it. */
  whole: boolean;
}

async function anchor(q: Queryable, t: DropTarget): Promise<Anchor | undefined> {
  switch (t.kind) {
    case 'column': {
      const { rows } = await q.query<{ relid: number; attnum: number }>(
        `SELECT a.attrelid::int AS relid, a.attnum::int AS attnum FROM pg_attribute a
           JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = $1 AND c.relname = $2 AND a.attname = $3 AND a.attnum > 0 AND NOT a.attisdropped`,
        [t.schema, t.table, t.column],
      );
      const r = rows[0];
      return r && { refs: [{ classid: 'pg_class', oid: r.relid, subid: r.attnum }], relid: r.relid, whole: false };
    }
    case 'constraint': {
      // A constraint's dependents may hang on it or on the index that backs it (a foreign key references the index).
      const { rows } = await q.query<{ oid: number; relid: number; indid: number }>(
        `SELECT k.oid::int AS oid, k.conrelid::int AS relid, k.conindid::int AS indid FROM pg_constraint k
           JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = $1 AND c.relname = $2 AND k.conname = $3`,
        [t.schema, t.table, t.name],
      );
      const r = rows[0];
      if (!r) return undefined;
      const refs: Anchor['refs'] = [{ classid: 'pg_constraint', oid: r.oid, subid: null }];
      if (r.indid) refs.push({ classid: 'pg_class', oid: r.indid, subid: null });
      return { refs, relid: r.relid, whole: false };
    }
    case 'index': {
      const { rows } = await q.query<{ oid: number; relid: number }>(
        `SELECT i.indexrelid::int AS oid, i.indrelid::int AS relid FROM pg_index i
           JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = $1 AND c.relname = $2`,
        [t.schema, t.name],
      );
      const r = rows[0];
      return r && { refs: [{ classid: 'pg_class', oid: r.oid, subid: null }], relid: r.relid, whole: false };
    }
    case 'table': {
      const { rows } = await q.query<{ oid: number }>(
        `SELECT c.oid::int AS oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r','p','v','m','f')`,
        [t.schema, t.name],
      );
      const r = rows[0];
      return r && { refs: [{ classid: 'pg_class', oid: r.oid, subid: null }], relid: r.oid, whole: true };
    }
  }
}

interface Row {
  classid: string;
  oid: number;
  kind: string;
  relkind: string | null;
  schema: string;
  name: string;
  owner_rel: number | null;
  table: string | null;
  detail: string | null;
}

/*
 * Direct dependents of one (class, oid[, subid]). A view's pg_depend entry is
 * its `_RETURN` rule, so rules are folded onto their relation; internal
 * dependencies (deptype 'i': a table's row type, a view's own rule) are parts
 * of the object itself, and NOT NULL constraints (PostgreSQL 18) and owned
 * sequences go with the column; neither is reported.
 */
const DIRECT = `
WITH d AS (
  SELECT DISTINCT
         CASE WHEN r.rulename = '_RETURN' THEN 'pg_class'::regclass
              WHEN d.classid = 'pg_attrdef'::regclass THEN 'pg_class'::regclass ELSE d.classid END AS classid,
         CASE WHEN r.rulename = '_RETURN' THEN r.ev_class
              WHEN d.classid = 'pg_attrdef'::regclass THEN ad.adrelid ELSE d.objid END AS objid,
         CASE WHEN r.rulename = '_RETURN' THEN 0
              WHEN d.classid = 'pg_attrdef'::regclass THEN ad.adnum ELSE d.objsubid END AS objsubid
    FROM pg_depend d
    LEFT JOIN pg_rewrite r ON d.classid = 'pg_rewrite'::regclass AND r.oid = d.objid
    LEFT JOIN pg_attrdef ad ON d.classid = 'pg_attrdef'::regclass AND ad.oid = d.objid
   WHERE d.refclassid = $1::regclass AND d.refobjid = $2::oid AND ($3::int IS NULL OR d.refobjsubid = $3)
     AND d.deptype IN ('n', 'a')
)
SELECT d.classid::regclass::text AS classid, d.objid::int AS oid, d.objsubid::int AS subid,
       o.type AS kind, c.relkind::text AS relkind,
       COALESCE(a.object_names[array_length(a.object_names, 1) - CASE WHEN o.type IN ('table constraint','trigger','policy','rule','table column') THEN 2 ELSE 1 END], o.schema, '') AS schema,
       CASE WHEN o.type = 'publication relation' THEN a.object_args[1]
            WHEN o.type = 'table column' THEN a.object_names[3]
            ELSE a.object_names[array_length(a.object_names, 1)] END AS name,
       own.relid::int AS owner_rel,
       (SELECT rn.nspname || '.' || rc.relname FROM pg_class rc JOIN pg_namespace rn ON rn.oid = rc.relnamespace
         WHERE rc.oid = own.relid) AS table,
       CASE WHEN k.oid IS NOT NULL THEN pg_get_constraintdef(k.oid)
            WHEN tg.oid IS NOT NULL THEN pg_get_triggerdef(tg.oid)
            WHEN ix.indexrelid IS NOT NULL THEN pg_get_indexdef(ix.indexrelid)
            WHEN p.oid IS NOT NULL THEN p.oid::regprocedure::text
            WHEN pol.oid IS NOT NULL THEN 'USING (' || COALESCE(pg_get_expr(pol.polqual, pol.polrelid), 'true') || ')'
                 || COALESCE(' WITH CHECK (' || pg_get_expr(pol.polwithcheck, pol.polrelid) || ')', '')
            WHEN rw.oid IS NOT NULL THEN pg_get_ruledef(rw.oid)
            WHEN att.attgenerated <> '' THEN 'GENERATED ALWAYS AS (' || pg_get_expr(gd.adbin, gd.adrelid) || ')'
       END AS detail,
       att.attgenerated::text AS generated
  FROM d
  CROSS JOIN LATERAL pg_identify_object(d.classid, d.objid, d.objsubid) o
  CROSS JOIN LATERAL pg_identify_object_as_address(d.classid, d.objid, d.objsubid) a
  LEFT JOIN pg_class c ON d.classid = 'pg_class'::regclass AND c.oid = d.objid
  LEFT JOIN pg_attribute att ON d.classid = 'pg_class'::regclass AND d.objsubid <> 0 AND att.attrelid = d.objid AND att.attnum = d.objsubid
  LEFT JOIN pg_attrdef gd ON gd.adrelid = att.attrelid AND gd.adnum = att.attnum
  LEFT JOIN pg_constraint k ON d.classid = 'pg_constraint'::regclass AND k.oid = d.objid
  LEFT JOIN pg_trigger tg ON d.classid = 'pg_trigger'::regclass AND tg.oid = d.objid
  LEFT JOIN pg_policy pol ON d.classid = 'pg_policy'::regclass AND pol.oid = d.objid
  LEFT JOIN pg_rewrite rw ON d.classid = 'pg_rewrite'::regclass AND rw.oid = d.objid
  LEFT JOIN pg_index ix ON d.classid = 'pg_class'::regclass AND d.objsubid = 0 AND ix.indexrelid = d.objid
  LEFT JOIN pg_statistic_ext st ON d.classid = 'pg_statistic_ext'::regclass AND st.oid = d.objid
  LEFT JOIN pg_publication_rel pr ON d.classid = 'pg_publication_rel'::regclass AND pr.oid = d.objid
  LEFT JOIN pg_proc p ON d.classid = 'pg_proc'::regclass AND p.oid = d.objid
  CROSS JOIN LATERAL (SELECT COALESCE(k.conrelid, tg.tgrelid, pol.polrelid, rw.ev_class, ix.indrelid, st.stxrelid,
                                      CASE WHEN d.classid = 'pg_class'::regclass AND d.objsubid <> 0 THEN d.objid END,
                                      pr.prrelid) AS relid) own
 WHERE NOT (d.classid = 'pg_constraint'::regclass AND k.contype = 'n')
   AND NOT (d.classid = 'pg_class'::regclass AND c.relkind = 'S')
   AND NOT (d.classid = 'pg_class'::regclass AND d.objsubid <> 0 AND COALESCE(att.attgenerated, '') = '')
   AND o.type NOT IN ('toast table', 'type', 'default value')`;

function kindOf(r: Row & { generated: string | null }): DependentKind {
  switch (r.kind) {
    case 'view':
      return 'view';
    case 'materialized view':
      return 'materialized view';
    case 'function':
    case 'procedure':
    case 'aggregate':
      return 'function';
    case 'table constraint':
    case 'domain constraint':
      return 'constraint';
    case 'policy':
      return 'policy';
    case 'trigger':
      return 'trigger';
    case 'index':
      return 'index';
    case 'rule':
      return 'rule';
    case 'publication relation':
      return 'publication';
    case 'statistics object':
      return 'statistics';
    case 'table column':
      return 'generated column';
    default:
      return 'other';
  }
}

/** Escape a name for a PostgreSQL regular expression. */
function regexLiteral(name: string): string {
  return name.replace(/[\\^$.|?*+()[\]{}]/g, '\\$&');
}

/*
 * String-bodied functions (plpgsql, and SQL functions without a BEGIN ATOMIC
 * body) that mention the column as a word, and either mention the table too or
 * are the trigger function of a trigger on that table (NEW.col, OLD.col). A
 * heuristic by nature: a hit may be a comment or another table's column.
 */
const TEXT_SCAN = `
SELECT n.nspname AS schema, p.proname AS name, p.oid::regprocedure::text AS signature, l.lanname AS language, p.oid::int AS oid
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace JOIN pg_language l ON l.oid = p.prolang
 WHERE l.lanname IN ('plpgsql', 'sql') AND p.prosqlbody IS NULL
   AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
   AND NOT (n.nspname = ANY($4::text[])) AND p.proname NOT LIKE '\\_curtain%'
   AND p.prosrc ~* ('\\m' || $1 || '\\M')
   AND (p.prosrc ~* ('\\m' || $2 || '\\M')
        OR EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgfoid = p.oid AND t.tgrelid = $3::oid AND NOT t.tgisinternal))
 ORDER BY 1, 2, 3`;

/**
 * Every object that depends on what a migration will drop or replace: views
 * and materialized views (and views on those, recursively), SQL-body
 * functions, constraints (including foreign keys of other tables), policies,
 * triggers, generated columns, publications, indexes, rules and statistics,
 * found through pg_depend and pg_rewrite. For column targets, string-bodied
 * functions (plpgsql, old-style SQL) whose text names the column are added with
 * `certainty: 'may break'`. A target that does not exist has no dependents.
 *
 * For a whole table, what belongs to the table itself (its indexes, triggers,
 * constraints, policies, rules) is not listed: it goes with the table.
 *
 * @example
 * const deps = await findDependents(pool, [
 *   { kind: 'column', schema: 'public', table: 'customer', column: 'active' },
 * ]);
 * // [{ kind: 'view', schema: 'public', name: 'active_customers', on: 'column public.customer.active', certainty: 'depends' },
 * //  { kind: 'view', schema: 'public', name: 'active_customer_count', on: 'column public.customer.active',
 * //    certainty: 'depends', detail: 'through view public.active_customers' }]
 */
export async function findDependents(
  q: Queryable,
  targets: DropTarget[],
  options: FindDependentsOptions = {},
): Promise<Dependent[]> {
  const out: Dependent[] = [];
  for (const t of targets) {
    const a = await anchor(q, t);
    if (!a) continue;
    const on = describeTarget(t);
    const seen = new Set<string>();
    // Breadth-first: direct dependents, then whatever depends on a dependent view.
    // `owner`: a relation whose own parts (indexes, triggers, ...) are not reported: a dropped table, a dependent view.
    let frontier: { refs: Anchor['refs']; via?: string; owner?: number }[] = [{ refs: a.refs, ...(a.whole ? { owner: a.relid } : {}) }];
    while (frontier.length > 0) {
      const next: typeof frontier = [];
      for (const f of frontier) {
        for (const ref of f.refs) {
          const { rows } = await q.query<Row & { generated: string | null; subid: number }>(DIRECT, [ref.classid, ref.oid, ref.subid]);
          for (const r of rows) {
            const key = `${r.classid}:${r.oid}:${r.subid}`;
            // A view's rule refers to the view itself (OLD/NEW before PostgreSQL 16): not a dependent.
            if (seen.has(key) || (r.classid === 'pg_class' && ref.classid === 'pg_class' && r.oid === ref.oid && r.subid === 0)) continue;
            seen.add(key);
            if (f.owner !== undefined && r.owner_rel === f.owner && r.kind !== 'publication relation') continue;
            const kind = kindOf(r);
            const viaNote = f.via ? `through ${f.via}` : undefined;
            const detail = [viaNote, r.detail ?? undefined].filter((s): s is string => !!s).join('; ');
            out.push({
              kind,
              schema: r.schema,
              name: r.name,
              ...(r.table && kind !== 'view' && kind !== 'materialized view' && kind !== 'function' ? { table: r.table } : {}),
              on,
              certainty: 'depends',
              ...(detail ? { detail } : {}),
              object: { catalog: r.classid, oid: r.oid },
            });
            if (kind === 'view' || kind === 'materialized view') {
              next.push({ refs: [{ classid: 'pg_class', oid: r.oid, subid: null }], via: `${f.via ? `${f.via} → ` : ""}${kind} ${r.schema}.${r.name}`, owner: r.oid });
            }
          }
        }
      }
      frontier = next;
    }
    if (t.kind === 'column') {
      const { rows } = await q.query<{ schema: string; name: string; signature: string; language: string; oid: number }>(TEXT_SCAN, [
        regexLiteral(t.column),
        regexLiteral(t.table),
        a.relid,
        options.skipSchemas ?? [],
      ]);
      for (const r of rows) {
        out.push({
          kind: 'function',
          schema: r.schema,
          name: r.name,
          on,
          certainty: 'may break',
          detail: `${r.signature} (${r.language} body mentions ${t.column})`,
          object: { catalog: 'pg_proc', oid: r.oid },
        });
      }
    }
  }
  return out;
}

/**
 * One line per dependent, for messages: `view public.v2 (through view public.v1)`.
 *
 * @example
 * formatDependent({ kind: 'view', schema: 'public', name: 'v', on: 'column public.t.a', certainty: 'depends', object: { catalog: 'pg_class', oid: 1 } });
 * // 'view public.v'
 */
export function formatDependent(d: Dependent): string {
  const name = d.table && d.kind !== 'index' ? `${d.name} on ${d.table}` : `${d.schema}.${d.name}`;
  const via = d.detail?.startsWith('through ') ? ` (${d.detail.split(';')[0]})` : '';
  return `${d.kind} ${name}${via}`;
}
