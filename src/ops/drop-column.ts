import { z } from 'zod';
import { quoteIdent } from '../db/identifiers.js';
import { referencedColumns } from './expression.js';
import { emptyOperationPlan, expressionSchema, identSchema, parseOptions, qt, rejectGeneratedReads, requireColumn, requireTable, step, tableName, tableRefSchema, touch } from './common.js';
import { refuseBlockingDependents, qualified } from './dependents.js';
import { OperationError } from './errors.js';
import type { Operation } from './operation.js';
import { expressionText, type Expression } from './sql.js';

/** Options of {@link dropColumn}. */
export interface DropColumnOptions {
  /** Value for the column when new code (which no longer writes it) inserts or updates, computed from the row. */
  down?: Expression;
}

const schema = z.strictObject({ down: expressionSchema.optional() });

/**
 * Drop a column. It stays during expand/switch (old code still reads it);
 * `down` keeps it filled from what new code writes. Contract drops it.
 *
 * @example
 * op.dropColumn('users', 'full_name', { down: sql`first_name || ' ' || last_name` })
 */
export function dropColumn(table: string, column: string, options: DropColumnOptions = {}): Operation {
  const label = `op.dropColumn(${JSON.stringify(table)}, ${JSON.stringify(column)})`;
  parseOptions(label, tableRefSchema, table);
  parseOptions(label, identSchema, column);
  const o = parseOptions(label, schema, options) as DropColumnOptions;
  return {
    kind: 'dropColumn',
    label,
    needs: (s) => ({ tables: [tableName(table, s)] }),
    drops: (s) => [{ kind: 'column', ...qualified(tableName(table, s)), column }],
    validate(ctx) {
      const shape = requireTable(ctx, label, tableName(table, ctx.defaultSchema));
      const c = requireColumn(label, shape, column);
      if (shape.primaryKey.includes(column)) {
        throw new OperationError(label, `column "${column}" is part of the primary key of ${shape.schema}.${shape.name}; drop the key or the table instead`);
      }
      if (c.notNull && c.default === undefined && !c.identity && !c.generated && o.down === undefined) {
        throw new OperationError(
          label,
          `column "${column}" is NOT NULL without a default, so rows inserted by new code (which no longer writes it) would fail`,
          'give `down` to compute it from the new columns',
        );
      }
      rejectGeneratedReads(label, shape, 'down', o.down);
      if (o.down !== undefined && c.generated) {
        throw new OperationError(label, `column "${column}" is generated; it cannot take a \`down\` expression`);
      }
      refuseBlockingDependents(ctx, label, { kind: 'column', ...qualified(tableName(table, ctx.defaultSchema)), column });
    },
    plan(ctx) {
      const t = tableName(table, ctx.defaultSchema);
      const shape = requireTable(ctx, label, t);
      const p = emptyOperationPlan();
      if (o.down !== undefined) {
        const down = expressionText(o.down);
        const downDeps = referencedColumns(down, shape.columns.map((c) => c.name)).filter((d) => d !== column);
        p.sync.push({ table: t, pair: { old: column, down: `(${down})`, upDeps: [], downDeps } });
        for (const d of downDeps) p.touches.push(touch(t, d));
      }
      p.warnings = refuseBlockingDependents(ctx, label, { kind: 'column', ...qualified(t), column });
      p.contract.push(step(`drop column ${t.name}.${column}`, `ALTER TABLE ${qt(t)} DROP COLUMN ${quoteIdent(column)}`, 'ACCESS EXCLUSIVE'));
      p.touches.push(touch(t, column));
      p.affectedTables.push(t);
      return p;
    },
  };
}
