import { z } from 'zod';
import { quoteIdent } from '../db/identifiers.js';
import { referencedColumns } from './expression.js';
import {
  emptyOperationPlan, expressionSchema, identSchema, looksVolatile, parseOptions, qt, rejectGeneratedReads, requireNoColumn,
  requireTable, step, tableName, tableRefSchema, touch, typeSchema,
} from './common.js';
import { checkSchema, constraintSteps, referencesSchema, uniqueSchema, type CheckOption, type ReferencesOptions } from './constraints.js';
import { OperationError } from './errors.js';
import type { Operation, OperationPlan, PlanContext } from './operation.js';
import { expressionText, type Expression } from './sql.js';

/** Options of {@link addColumn}. */
export interface AddColumnOptions {
  name: string;
  type: string;
  /** Default true. `false` is enforced by a NOT VALID check during expand, SET NOT NULL on contract. */
  nullable?: boolean;
  default?: Expression;
  /** Value for existing rows and for rows old code writes, computed from the row (bare column names). */
  up?: Expression;
  unique?: boolean | { name?: string };
  check?: CheckOption;
  references?: ReferencesOptions;
}

const schema = z.strictObject({
  name: identSchema,
  type: typeSchema,
  nullable: z.boolean().optional(),
  default: expressionSchema.optional(),
  up: expressionSchema.optional(),
  unique: uniqueSchema.optional(),
  check: checkSchema.optional(),
  references: referencesSchema.optional(),
});

/**
 * Add a column. Old code never writes it: `up` fills it for existing rows
 * (backfill) and for rows old code inserts or updates (trigger).
 *
 * @example
 * op.addColumn('users', { name: 'first_name', type: 'text', up: sql`split_part(full_name, ' ', 1)` })
 */
export function addColumn(table: string, options: AddColumnOptions): Operation {
  const label0 = `op.addColumn(${JSON.stringify(table)})`;
  parseOptions(label0, tableRefSchema, table);
  const o = parseOptions(label0, schema, options) as AddColumnOptions;
  const label = `op.addColumn(${JSON.stringify(table)}, ${JSON.stringify(o.name)})`;
  return {
    kind: 'addColumn',
    label,
    needs: (s) => ({ tables: [tableName(table, s)] }),
    validate(ctx) {
      const shape = requireTable(ctx, label, tableName(table, ctx.defaultSchema));
      requireNoColumn(label, shape, o.name);
      const def = o.default === undefined ? undefined : expressionText(o.default);
      if (o.nullable === false && o.up === undefined && def === undefined) {
        throw new OperationError(label, 'nullable: false needs `up` or `default` to fill the rows that already exist');
      }
      rejectGeneratedReads(label, shape, 'up', o.up);
    },
    plan(ctx) {
      return planAddColumn(ctx, table, o);
    },
  };
}

function planAddColumn(ctx: PlanContext, ref: string, o: AddColumnOptions): OperationPlan {
  const t = tableName(ref, ctx.defaultSchema);
  const shape = requireTable(ctx, 'op.addColumn', t);
  const p = emptyOperationPlan();
  const col = quoteIdent(o.name);
  const def = o.default === undefined ? undefined : expressionText(o.default);
  const volatile = def !== undefined && looksVolatile(def);
  const up = o.up !== undefined ? expressionText(o.up) : volatile ? def : undefined;
  // A constant default on ADD COLUMN is metadata only (PG 11+); a volatile one would rewrite the table.
  const expandDefault = def !== undefined && !volatile ? def : undefined;
  // With a constant default and nothing to compute, NOT NULL is instant too.
  const directNotNull = o.nullable === false && up === undefined && expandDefault !== undefined;
  p.expand.push(
    step(
      `add column ${t.name}.${o.name}`,
      `ALTER TABLE ${qt(t)} ADD COLUMN ${col} ${o.type}${expandDefault !== undefined ? ` DEFAULT ${expandDefault}` : ''}${directNotNull ? ' NOT NULL' : ''}`,
      'ACCESS EXCLUSIVE',
    ),
  );
  if (volatile && o.up === undefined) {
    // New rows get the default natively; existing ones from the backfill.
    p.expand.push(step(`set default of ${t.name}.${o.name}`, `ALTER TABLE ${qt(t)} ALTER COLUMN ${col} SET DEFAULT ${def}`, 'ACCESS EXCLUSIVE'));
    p.backfill.push({ table: t, set: { [o.name]: `(${def})` }, outOfSync: `${col} IS NULL` });
  } else if (up !== undefined) {
    const upDeps = referencedColumns(up, shape.columns.map((c) => c.name));
    p.sync.push({ table: t, pair: { new: o.name, up: `(${up})`, upDeps, downDeps: [] } });
    p.backfill.push({ table: t, set: { [o.name]: `(${up})` }, outOfSync: `${col} IS DISTINCT FROM (${up})` });
    for (const d of upDeps) p.touches.push(touch(t, d));
    if (volatile) {
      p.contract.push(step(`set default of ${t.name}.${o.name}`, `ALTER TABLE ${qt(t)} ALTER COLUMN ${col} SET DEFAULT ${def}`, 'ACCESS EXCLUSIVE'));
    }
  }
  const k = constraintSteps(ctx, shape, o.name, o.name, {
    notNull: o.nullable === false && !directNotNull,
    ...(o.check !== undefined ? { check: o.check } : {}),
    ...(o.unique !== undefined ? { unique: o.unique } : {}),
    ...(o.references !== undefined ? { references: o.references } : {}),
  });
  p.expand.push(...k.expand);
  p.afterBackfill.push(...k.afterBackfill);
  p.contract.push(...k.contractBefore, ...k.contractAfter);
  p.abort.push(...k.abort, step(`drop column ${t.name}.${o.name}`, `ALTER TABLE ${qt(t)} DROP COLUMN IF EXISTS ${col}`, 'ACCESS EXCLUSIVE'));
  p.touches.push(touch(t, o.name));
  p.addsColumns = [{ table: t, name: o.name, type: o.type, ...(expandDefault !== undefined ? { default: expandDefault } : {}), notNull: directNotNull }];
  return p;
}
