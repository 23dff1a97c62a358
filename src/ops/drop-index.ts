import { quoteQualified } from '../db/identifiers.js';
import { emptyOperationPlan, parseOptions, step, tableName, tableRefSchema } from './common.js';
import { OperationError } from './errors.js';
import type { Operation } from './operation.js';

/**
 * Drop an index (`name` or `schema.name`) CONCURRENTLY in contract; old code
 * may depend on it for speed until then. Refused for indexes backing a
 * constraint (drop the constraint instead).
 *
 * @example
 * op.dropIndex('orders_user_id_idx')
 */
export function dropIndex(index: string): Operation {
  const label = `op.dropIndex(${JSON.stringify(index)})`;
  parseOptions(label, tableRefSchema, index);
  return {
    kind: 'dropIndex',
    label,
    needs: (s) => ({ tables: [], indexes: [tableName(index, s)] }),
    validate(ctx) {
      const i = tableName(index, ctx.defaultSchema);
      const owner = ctx.catalog.indexes.get(`${i.schema}.${i.name}`);
      const shape = owner ? ctx.catalog.tables.get(owner) : undefined;
      if (!shape) throw new OperationError(label, `index ${i.schema}.${i.name} does not exist`);
      const ix = shape.indexes.find((x) => x.name === i.name);
      if (ix?.constraint) throw new OperationError(label, `index ${i.name} backs constraint ${ix.constraint} of ${shape.schema}.${shape.name}; drop the constraint instead`);
    },
    plan(ctx) {
      const i = tableName(index, ctx.defaultSchema);
      const p = emptyOperationPlan();
      p.contract.push(step(`drop index ${i.name} concurrently`, `DROP INDEX CONCURRENTLY IF EXISTS ${quoteQualified(i.schema, i.name)}`, 'SHARE UPDATE EXCLUSIVE', false));
      const owner = ctx.catalog.indexes.get(`${i.schema}.${i.name}`);
      if (owner) p.touches.push(`${owner}.#${i.name}`);
      return p;
    },
  };
}
