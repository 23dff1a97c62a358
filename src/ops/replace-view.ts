import { z } from 'zod';
import { definitionKey, type ViewDefinition } from '../db/definitions.js';
import { quoteQualified } from '../db/identifiers.js';
import { emptyOperationPlan, expressionSchema, parseOptions, step, tableName, tableRefSchema } from './common.js';
import { createViewSql, dependentsOf, orderViews, unchangedViewSql } from './dependents.js';
import { OperationError } from './errors.js';
import type { Operation, PlanContext } from './operation.js';
import { expressionText, type Expression } from './sql.js';

/** Options of {@link replaceView}. */
export interface ReplaceViewOptions {
  /** The new query (`SELECT ...`), as in CREATE VIEW ... AS. */
  sql: Expression;
}

const schema = z.strictObject({ sql: expressionSchema });

/**
 * Replace a view's (or materialized view's) definition at contract, before
 * the migration's drops: the way to keep a view whose old definition reads a
 * column or table the migration drops. Owner, grants, options and comment are
 * kept; views built on it are re-created from their own definitions. Expand
 * checks the new query (EXPLAIN) and changes nothing; abort has
 * nothing to undo. A materialized view is re-filled in the contract
 * transaction, and its indexes are not re-created (add them with op.sql).
 *
 * @example
 * op.dropColumn('customer', 'active'),
 * op.replaceView('active_customers', { sql: sql`SELECT id, name FROM customer WHERE status = 'active'` }),
 */
export function replaceView(view: string, options: ReplaceViewOptions): Operation {
  const label = `op.replaceView(${JSON.stringify(view)})`;
  parseOptions(label, tableRefSchema, view);
  const o = parseOptions(label, schema, options) as ReplaceViewOptions;
  const query = () => expressionText(o.sql).trim().replace(/;$/, '');
  const own = (ctx: PlanContext): ViewDefinition => {
    const v = tableName(view, ctx.defaultSchema);
    const shape = ctx.catalog.tables.get(`${v.schema}.${v.name}`);
    if (!shape) throw new OperationError(label, `view ${v.schema}.${v.name} does not exist`);
    if (shape.kind !== 'v' && shape.kind !== 'm') throw new OperationError(label, `${v.schema}.${v.name} is not a view (relkind ${shape.kind})`);
    const def = [...(ctx.catalog.definitions?.values() ?? [])].find((d): d is ViewDefinition => 'query' in d && d.schema === v.schema && d.name === v.name);
    if (!def) throw new OperationError(label, `the definition of ${v.schema}.${v.name} could not be read (plan against a database)`);
    return def;
  };
  return {
    kind: 'replaceView',
    label,
    needs: (s) => ({ tables: [tableName(view, s)] }),
    drops: (s) => [{ kind: 'table', ...tableName(view, s) }],
    replacesView: (s) => {
      const v = tableName(view, s);
      return `${v.schema}.${v.name}`;
    },
    validate(ctx) {
      own(ctx);
    },
    plan(ctx) {
      const v = tableName(view, ctx.defaultSchema);
      const def = own(ctx);
      const p = emptyOperationPlan();
      // PostgreSQL checks the query (names, types) without running it.
      p.expand.push(step(`check the new definition of ${v.schema}.${v.name}`, `EXPLAIN (COSTS OFF) SELECT * FROM (${query()}) AS _curtain_check`, 'none'));
      // Views built on this one go and come back around it, from their own definitions.
      const nested = dependentsOf(ctx, { kind: 'table', schema: v.schema, name: v.name })
        .filter((d) => d.kind === 'view' || d.kind === 'materialized view')
        .map((d) => ctx.catalog.definitions?.get(definitionKey(d)))
        .filter((d): d is ViewDefinition => d !== undefined && 'query' in d);
      const ordered = orderViews(nested);
      const drop = (x: ViewDefinition) => `DROP ${x.kind === 'materialized view' ? 'MATERIALIZED VIEW' : 'VIEW'} ${quoteQualified(x.schema, x.name)}`;
      const sql = [...ordered.map(unchangedViewSql), ...[...ordered].reverse().map(drop), drop(def), ...createViewSql(def, query(), false), ...ordered.flatMap((x) => createViewSql(x))];
      p.contractFirst = [
        step(
          `replace ${def.kind} ${v.schema}.${v.name}${ordered.length ? ` (and re-create ${ordered.map((x) => `${x.schema}.${x.name}`).join(', ')})` : ''}`,
          sql.join(';\n'),
          'ACCESS EXCLUSIVE',
        ),
      ];
      p.touches.push(`${v.schema}.${v.name}.*`);
      return p;
    },
  };
}

