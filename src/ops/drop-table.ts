import { emptyOperationPlan, parseOptions, qt, requireTable, step, tableName, tableRefSchema } from './common.js';
import { refuseBlockingDependents } from './dependents.js';
import { OperationError } from './errors.js';
import type { Operation } from './operation.js';

/**
 * Drop a table. Old code keeps using it until contract, so expand leaves it
 * in place (renaming it aside would break old code at once); contract drops
 * it after the runner's snapshot of `affectedTables`. Abort has nothing to undo.
 *
 * @example
 * op.dropTable('legacy_sessions')
 */
export function dropTable(table: string): Operation {
  const label = `op.dropTable(${JSON.stringify(table)})`;
  parseOptions(label, tableRefSchema, table);
  return {
    kind: 'dropTable',
    label,
    needs: (s) => ({ tables: [tableName(table, s)] }),
    drops: (s) => [{ kind: 'table', ...tableName(table, s) }],
    validate(ctx) {
      const shape = requireTable(ctx, label, tableName(table, ctx.defaultSchema));
      const foreign = shape.referencedBy.filter((k) => k.references !== `${shape.schema}.${shape.name}` && k.references !== shape.name);
      if (foreign.length > 0) {
        throw new OperationError(label, `${shape.schema}.${shape.name} is referenced by ${foreign.map((k) => `${k.name} of ${k.references}`).join(', ')}; drop those foreign keys first`);
      }
      refuseBlockingDependents(ctx, label, { kind: 'table', schema: shape.schema, name: shape.name });
    },
    plan(ctx) {
      const t = tableName(table, ctx.defaultSchema);
      const p = emptyOperationPlan();
      p.warnings = refuseBlockingDependents(ctx, label, { kind: 'table', ...t });
      p.contract.push(step(`drop table ${t.name}`, `DROP TABLE ${qt(t)}`, 'ACCESS EXCLUSIVE'));
      p.touches.push(`${t.schema}.${t.name}.*`);
      p.affectedTables.push(t);
      p.dropsTables = [t];
      return p;
    },
  };
}
