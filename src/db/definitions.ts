/**
 * Full definitions of the objects that depend on a column curtain replaces,
 * read once at plan time so contract can drop and re-create them (views,
 * materialized views) or re-bind them (SQL-body functions, policies,
 * triggers, rules) against the surviving column, keeping what PostgreSQL
 * would lose on a plain DROP/CREATE: owner, grants, options, comment, a
 * materialized view's indexes, a view's INSTEAD OF triggers.
 */
import type { Dependent } from './dependents.js';
import type { Queryable } from './queryable.js';

/** A view or materialized view, as needed to re-create it. */
export interface ViewDefinition {
  kind: 'view' | 'materialized view';
  schema: string;
  name: string;
  /** `pg_get_viewdef`: the query, re-parseable. */
  query: string;
  /** `reloptions`: `security_barrier=true`, `check_option=local`, ... */
  options: string[];
  owner: string;
  /** `GRANT ... ON ... TO ...` for every grantee other than the owner. */
  grants: string[];
  comment?: string;
  /** Indexes of a materialized view, triggers and rules of a view: full statements. */
  extras: string[];
  /** Views of the same set it reads (re-created before it). */
  reads: string[];
}

/** How to re-bind one non-view dependent: run after the column took its final place. */
export interface RebindDefinition {
  kind: 'function' | 'policy' | 'trigger' | 'rule';
  /** `schema.name` (functions: the signature; others: `name on schema.table`). */
  label: string;
  /** Run before the old column goes (triggers and rules are dropped and re-created). */
  drop?: string;
  /** Re-creates it against whatever the names mean by then. */
  create: string;
}

export type ObjectDefinition = ViewDefinition | RebindDefinition;

/** The key of a dependent's definition in the map {@link readDefinitions} returns. */
export function definitionKey(d: Pick<Dependent, 'object'>): string {
  return `${d.object.catalog}:${d.object.oid}`;
}

/**
 * Read what is needed to re-create or re-bind each dependent (views,
 * materialized views, SQL functions, policies, triggers, rules). Other kinds
 * are not read: curtain does not re-create them.
 *
 * @example
 * const defs = await readDefinitions(pool, await findDependents(pool, targets));
 * defs.get(definitionKey(deps[0]));
 */
export async function readDefinitions(q: Queryable, deps: Dependent[]): Promise<Map<string, ObjectDefinition>> {
  const out = new Map<string, ObjectDefinition>();
  const views = deps.filter((d) => (d.kind === 'view' || d.kind === 'materialized view') && d.certainty === 'depends');
  const viewOids = views.map((d) => d.object.oid);
  if (viewOids.length > 0) {
    const { rows } = await q.query(
      `SELECT c.oid::int AS oid, c.relkind::text AS relkind, n.nspname AS schema, c.relname AS name,
              pg_get_viewdef(c.oid) AS query, COALESCE(c.reloptions, '{}') AS options, pg_get_userbyid(c.relowner) AS owner,
              obj_description(c.oid, 'pg_class') AS comment,
              ARRAY(SELECT format('GRANT %s ON %I.%I TO %s%s', a.privilege_type, n.nspname, c.relname,
                                  CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END,
                                  CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END)
                      FROM aclexplode(c.relacl) a WHERE a.grantee <> c.relowner ORDER BY a.grantee, a.privilege_type) AS grants,
              ARRAY(SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i WHERE i.indrelid = c.oid ORDER BY i.indexrelid)
              || ARRAY(SELECT pg_get_triggerdef(t.oid) FROM pg_trigger t WHERE t.tgrelid = c.oid AND NOT t.tgisinternal ORDER BY t.tgname)
              || ARRAY(SELECT pg_get_ruledef(r.oid) FROM pg_rewrite r WHERE r.ev_class = c.oid AND r.rulename <> '_RETURN' ORDER BY r.rulename) AS extras,
              ARRAY(SELECT DISTINCT d.refobjid::int FROM pg_rewrite r JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid
                     WHERE r.ev_class = c.oid AND d.refclassid = 'pg_class'::regclass AND d.refobjid = ANY ($1::oid[]) AND d.refobjid <> c.oid) AS reads
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = ANY ($1::oid[])`,
      [viewOids],
    );
    const nameOf = new Map<number, string>(rows.map((r) => [r.oid, `${r.schema}.${r.name}`]));
    for (const r of rows) {
      out.set(`pg_class:${r.oid}`, {
        kind: r.relkind === 'm' ? 'materialized view' : 'view',
        schema: r.schema,
        name: r.name,
        query: (r.query as string).trim().replace(/;$/, ''),
        options: r.options,
        owner: r.owner,
        grants: r.grants,
        ...(r.comment ? { comment: r.comment } : {}),
        extras: r.extras,
        reads: (r.reads as number[]).map((o) => nameOf.get(o)!).filter(Boolean),
      });
    }
  }
  for (const d of deps.filter((x) => x.certainty === 'depends')) {
    const { catalog, oid } = d.object;
    if (catalog === 'pg_proc') {
      const { rows } = await q.query(`SELECT p.oid::regprocedure::text AS label, pg_get_functiondef(p.oid) AS def FROM pg_proc p WHERE p.oid = $1`, [oid]);
      if (rows[0]) out.set(definitionKey(d), { kind: 'function', label: rows[0].label, create: rows[0].def });
    } else if (catalog === 'pg_policy') {
      const { rows } = await q.query(
        `SELECT format('%I ON %I.%I', p.polname, n.nspname, c.relname) AS target, pg_get_expr(p.polqual, p.polrelid) AS qual,
                pg_get_expr(p.polwithcheck, p.polrelid) AS check
           FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE p.oid = $1`,
        [oid],
      );
      const r = rows[0];
      if (r) {
        const parts = [r.qual !== null ? ` USING (${r.qual})` : '', r.check !== null ? ` WITH CHECK (${r.check})` : ''].join('');
        out.set(definitionKey(d), { kind: 'policy', label: r.target, create: `ALTER POLICY ${r.target}${parts}` });
      }
    } else if (catalog === 'pg_trigger') {
      const { rows } = await q.query(
        `SELECT format('%I ON %I.%I', t.tgname, n.nspname, c.relname) AS target, pg_get_triggerdef(t.oid) AS def, t.tgenabled AS enabled,
                format('%I.%I', n.nspname, c.relname) AS rel, quote_ident(t.tgname) AS name
           FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE t.oid = $1`,
        [oid],
      );
      const r = rows[0];
      if (r) {
        // Keep a non-default enabled state (DISABLE, ENABLE ALWAYS/REPLICA).
        const state = { D: 'DISABLE', A: 'ENABLE ALWAYS', R: 'ENABLE REPLICA' }[r.enabled as string];
        out.set(definitionKey(d), {
          kind: 'trigger',
          label: r.target,
          drop: `DROP TRIGGER ${r.target}`,
          create: `${r.def}${state ? `;\nALTER TABLE ${r.rel} ${state} TRIGGER ${r.name}` : ''}`,
        });
      }
    } else if (catalog === 'pg_rewrite') {
      const { rows } = await q.query(
        `SELECT format('%I ON %I.%I', r.rulename, n.nspname, c.relname) AS target, pg_get_ruledef(r.oid) AS def
           FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class JOIN pg_namespace n ON n.oid = c.relnamespace WHERE r.oid = $1`,
        [oid],
      );
      const r = rows[0];
      if (r) out.set(definitionKey(d), { kind: 'rule', label: r.target, drop: `DROP RULE ${r.target}`, create: (r.def as string).trim().replace(/;$/, '') });
    }
  }
  return out;
}
