/**
 * What contract does about the objects that depend on what it drops (read at
 * plan time into the catalog, see planMigration):
 *
 * - A column replaced by another (renameColumn, alterColumn): views and
 *   materialized views on it are dropped and re-created, SQL-body functions,
 *   policies, triggers and rules re-bound, all in the contract transaction.
 *   The trick is to let PostgreSQL bind the original definitions to the new
 *   column: the old column is renamed aside, the new one takes the old name,
 *   the definitions are re-run verbatim (so views keep their output column
 *   names), then the new column takes its final name (objects follow a
 *   rename) and the old one is dropped, without CASCADE: anything missed
 *   makes the transaction fail and roll back rather than vanish.
 * - A column or table dropped with nothing replacing it: dependents that
 *   would block the drop or break are refused at plan time, naming them.
 */
import { createHash } from 'node:crypto';
import { formatDependent, type Dependent, type DropTarget, describeTarget } from '../db/dependents.js';
import { definitionKey, type ObjectDefinition, type RebindDefinition, type ViewDefinition } from '../db/definitions.js';
import { quoteIdent, quoteQualified } from '../db/identifiers.js';
import { generatedName, qt, step } from './common.js';
import { renameNotNullSql } from './not-null-name.js';
import { OperationError } from './errors.js';
import type { PlanContext, Step, TableName } from './operation.js';

/** `{ schema, table }` of a table name, for column targets. */
export function qualified(t: TableName): { schema: string; table: string } {
  return { schema: t.schema, table: t.name };
}

/** Dependents of `target` recorded in the catalog at plan time (none when the catalog was built without a database). */
export function dependentsOf(ctx: PlanContext, target: DropTarget): Dependent[] {
  return ctx.catalog.dependents?.get(describeTarget(target)) ?? [];
}

function definition(ctx: PlanContext, d: Dependent): ObjectDefinition | undefined {
  return ctx.catalog.definitions?.get(definitionKey(d));
}

/** Kinds that go with the column on the same table and are handled by the index/constraint rebuild. */
const OWN_PARTS = new Set(['index', 'constraint', 'statistics']);

/** The warnings a plan carries: functions whose body text mentions what is dropped. */
export function mayBreakWarnings(deps: Dependent[]): string[] {
  return deps.filter((d) => d.certainty === 'may break').map((d) => `function ${d.detail ?? `${d.schema}.${d.name}`} may break: it mentions ${d.on.replace(/^column /, '')}, which contract drops (PostgreSQL does not track plpgsql bodies)`);
}

/**
 * Views in an order where each comes after the views of the set it reads.
 *
 * @example
 * orderViews([outer, inner]) // [inner, outer]
 */
export function orderViews(views: ViewDefinition[]): ViewDefinition[] {
  const left = [...views];
  const out: ViewDefinition[] = [];
  const done = new Set<string>();
  while (left.length > 0) {
    const i = left.findIndex((v) => v.reads.every((r) => done.has(r) || !left.some((l) => `${l.schema}.${l.name}` === r)));
    const [v] = left.splice(i === -1 ? 0 : i, 1);
    out.push(v!);
    done.add(`${v!.schema}.${v!.name}`);
  }
  return out;
}

/**
 * Statements re-creating a view from its definition (or from `query`), with
 * its options, owner, grants, comment and (unless replaced) its indexes,
 * triggers and rules.
 *
 * @example
 * createViewSql(def) // ['CREATE VIEW "public"."v" AS SELECT ...', 'ALTER VIEW ... OWNER TO ...', 'GRANT ...']
 */
export function createViewSql(v: ViewDefinition, query = v.query, extras = true): string[] {
  const name = quoteQualified(v.schema, v.name);
  const mat = v.kind === 'materialized view';
  const options = v.options.length > 0 ? ` WITH (${v.options.join(', ')})` : '';
  const out = [`CREATE ${mat ? 'MATERIALIZED VIEW' : 'VIEW'} ${name}${options} AS ${query}`];
  out.push(`ALTER ${mat ? 'MATERIALIZED VIEW' : 'VIEW'} ${name} OWNER TO ${quoteIdent(v.owner)}`);
  out.push(...v.grants);
  if (v.comment !== undefined) out.push(`COMMENT ON ${mat ? 'MATERIALIZED VIEW' : 'VIEW'} ${name} IS '${v.comment.replace(/'/g, "''")}'`);
  if (extras) out.push(...v.extras.map((e) => e.trim().replace(/;$/, '')));
  return out;
}

/**
 * A statement that fails when a view's definition is no longer the one read at
 * plan time (another change since expand): contract would otherwise re-create
 * the stale definition.
 *
 * @example
 * unchangedViewSql(def) // DO $curtain$ BEGIN IF md5(...) IS DISTINCT FROM '...' THEN RAISE ... END $curtain$
 */
export function unchangedViewSql(v: ViewDefinition): string {
  const hash = createHash('md5').update(v.query, 'utf8').digest('hex');
  const name = quoteQualified(v.schema, v.name);
  const literal = (s: string) => `'${s.replace(/'/g, "''")}'`;
  return (
    `DO $curtain$ BEGIN IF md5(regexp_replace(btrim(pg_get_viewdef(${literal(name)}::regclass), E' \\n\\t'), ';$', '')) IS DISTINCT FROM '${hash}' THEN ` +
    `RAISE EXCEPTION '%', ${literal(`${v.kind} ${v.schema}.${v.name} changed since this migration was planned; abort it and expand again`)}; END IF; END $curtain$`
  );
}

function dropViewSql(v: ViewDefinition): string {
  return `DROP ${v.kind === 'materialized view' ? 'MATERIALIZED VIEW' : 'VIEW'} ${quoteQualified(v.schema, v.name)}`;
}

/** A column replaced by another one at contract. */
export interface ColumnMove {
  table: TableName;
  /** The column contract removes. */
  from: string;
  /** The column holding the new values during expand. */
  to: string;
  /** The name the new column has after contract: `to` (rename, alterColumn with `name`) or `from` (a shadow swapped in). */
  final: string;
}

/** The contract steps that replace "drop the old column" (and a shadow's swap) when dependents exist. */
export interface MovedDependents {
  /** Re-binding steps, or `undefined` when nothing depends on the column (the plain drop will do). */
  contract?: Step[];
  /** Functions that may break, for the plan's warnings. */
  warnings: string[];
}

/**
 * Plan the re-creation of everything that depends on `move.from` against the
 * new column, or refuse naming what cannot be moved.
 *
 * @example
 * const moved = moveDependents(ctx, label, { table, from: 'email', to: 'email_address', final: 'email_address' });
 */
export function moveDependents(ctx: PlanContext, label: string, move: ColumnMove): MovedDependents {
  const t = move.table;
  const deps = dependentsOf(ctx, { kind: 'column', schema: t.schema, table: t.name, column: move.from });
  const warnings = mayBreakWarnings(deps);
  const tracked = deps.filter((d) => d.certainty === 'depends');
  const views: ViewDefinition[] = [];
  const rebinds: RebindDefinition[] = [];
  for (const d of tracked) {
    // The table's own indexes and constraints are rebuilt on the new column (rebuild-indexes.ts, constraints).
    if (OWN_PARTS.has(d.kind) && d.table === `${t.schema}.${t.name}`) continue;
    if (d.kind === 'constraint') continue; // foreign keys of other tables: moved with the column (rebuild-indexes.ts)
    const def = definition(ctx, d);
    if ((d.kind === 'view' || d.kind === 'materialized view') && def && 'query' in def) {
      views.push(def);
      continue;
    }
    if ((d.kind === 'function' || d.kind === 'policy' || d.kind === 'trigger' || d.kind === 'rule') && def && !('query' in def)) {
      rebinds.push(def);
      continue;
    }
    throw new OperationError(
      label,
      `${formatDependent(d)} depends on ${t.schema}.${t.name}.${move.from}, and curtain cannot move a ${d.kind} to the new column`,
      d.kind === 'generated column'
        ? `drop the generated column first (op.dropColumn in a migration contracted before this one), then add it back over the new column`
        : d.kind === 'publication'
          ? `remove the column from the publication's column list first (ALTER PUBLICATION ... SET TABLE), and add the new one after contract`
          : `change or drop it first, in a migration contracted before this one`,
    );
  }
  if (views.length === 0 && rebinds.length === 0) return { warnings };
  const ordered = orderViews(views);
  const q = qt(t);
  const aside = generatedName('_curtain_old', move.from);
  const sql: string[] = ordered.map(unchangedViewSql);
  for (const v of [...ordered].reverse()) sql.push(dropViewSql(v));
  for (const r of rebinds) if (r.drop) sql.push(r.drop);
  sql.push(`ALTER TABLE ${q} RENAME COLUMN ${quoteIdent(move.from)} TO ${quoteIdent(aside)}`);
  sql.push(`ALTER TABLE ${q} RENAME COLUMN ${quoteIdent(move.to)} TO ${quoteIdent(move.from)}`);
  if (move.final === move.from) sql.push(renameNotNullSql(t, move.from));
  for (const v of ordered) sql.push(...createViewSql(v));
  for (const r of rebinds) sql.push(r.create.trim().replace(/;$/, ''));
  if (move.final !== move.from) sql.push(`ALTER TABLE ${q} RENAME COLUMN ${quoteIdent(move.from)} TO ${quoteIdent(move.final)}`);
  sql.push(`ALTER TABLE ${q} DROP COLUMN ${quoteIdent(aside)}`);
  const names = [...ordered.map((v) => `${v.kind} ${v.schema}.${v.name}`), ...rebinds.map((r) => `${r.kind} ${r.label}`)];
  return {
    warnings,
    contract: [
      step(
        `drop column ${t.name}.${move.from}; ${move.final === move.from ? `${move.to} takes its name` : `${move.to} replaces it`}; re-create ${names.join(', ')} on it`,
        sql.join(';\n'),
        'ACCESS EXCLUSIVE',
      ),
    ],
  };
}

/**
 * Refuse dropping `target` while objects PostgreSQL would refuse to drop with
 * it (or drop silently while others still need them) depend on it, unless a
 * view among them is replaced in the same migration (`op.replaceView`). The
 * refusal names every blocking object. Returns the plan's warnings.
 *
 * @example
 * const warnings = refuseBlockingDependents(ctx, label, { kind: 'column', schema: 'public', table: 'customer', column: 'active' });
 */
export function refuseBlockingDependents(ctx: PlanContext, label: string, target: DropTarget): string[] {
  const deps = dependentsOf(ctx, target);
  const own = target.kind === 'column' ? `${target.schema}.${target.table}` : target.kind === 'table' ? `${target.schema}.${target.name}` : undefined;
  const replaced = ctx.replacedViews ?? new Set<string>();
  const warnings = mayBreakWarnings(deps);
  const what = describeTarget(target);
  const blocking: Dependent[] = [];
  const nested: Dependent[] = [];
  for (const d of deps.filter((x) => x.certainty === 'depends')) {
    // What PostgreSQL drops together with a column: the table's own indexes, constraints and statistics.
    if (OWN_PARTS.has(d.kind) && d.table === own) {
      if (target.kind === 'column') warnings.push(`${formatDependent(d)} goes with ${what}${d.detail ? ` (${d.detail})` : ''}`);
      continue;
    }
    if (d.kind === 'publication') {
      warnings.push(`${formatDependent(d)}: ${what} leaves the publication with it`);
      continue;
    }
    const view = d.kind === 'view' || d.kind === 'materialized view';
    // A view reached through another view comes back with it (re-created around a replacement).
    if (view && d.detail?.startsWith('through ')) {
      nested.push(d);
      continue;
    }
    if (view && replaced.has(`${d.schema}.${d.name}`)) continue;
    blocking.push(d);
  }
  if (blocking.length === 0) return warnings;
  const rank = (d: Dependent) => (d.kind === 'view' ? 0 : d.kind === 'materialized view' ? 1 : 2);
  blocking.sort((a, b) => rank(a) - rank(b) || a.kind.localeCompare(b.kind) || `${a.schema}.${a.name}`.localeCompare(`${b.schema}.${b.name}`));
  const names = blocking.map((d) => {
    const view = d.kind === 'view' || d.kind === 'materialized view';
    const through = nested.filter((n) => n.detail!.split(';')[0]!.replace(/^through /, '').split(' → ')[0] === `${d.kind} ${d.schema}.${d.name}`);
    const rides = through.length > 0 ? ` (and ${through.map((n) => `${n.kind} ${n.schema}.${n.name}`).join(', ')} through it)` : '';
    return `${formatDependent(d)}${!view && d.detail ? ` (${d.detail})` : ''}${rides}`;
  });
  const firstView = blocking.find((d) => d.kind === 'view' || d.kind === 'materialized view');
  const first = blocking[0]!;
  const bare = what.replace(/^(column|table) /, '');
  throw new OperationError(
    label,
    `${names.join(', ')} ${blocking.length === 1 ? 'depends' : 'depend'} on ${target.kind === 'table' ? bare : what}; contract could not drop ${blocking.length === 1 ? 'it' : 'them'}`,
    firstView
      ? `replace the view in the same migration, without ${bare}: op.replaceView('${firstView.schema}.${firstView.name}', { sql: 'SELECT ...' }) (applied at contract, before the drop)` +
          (blocking.length > 1 ? `; change or drop the others first, in a migration contracted before this one` : '')
      : first.kind === 'constraint'
        ? `drop that constraint first (op.sql in a migration contracted before this one)`
        : `change or drop ${blocking.length === 1 ? `the ${first.kind}` : 'them'} first, in a migration contracted before this one`,
  );
}
