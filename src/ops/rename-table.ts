import { quoteIdent, quoteQualified } from '../db/identifiers.js';
import { emptyOperationPlan, identSchema, parseOptions, qt, requireTable, step, tableName, tableRefSchema } from './common.js';
import { OperationError } from './errors.js';
import type { Operation } from './operation.js';

/**
 * Rename a table. Expand renames it and leaves a view under the old name
 * (a simple `SELECT *` view is automatically updatable, so old code keeps
 * reading and writing through it); contract drops the view; abort drops the
 * view and renames the table back.
 *
 * @example
 * op.renameTable('customers', 'clients')
 */
export function renameTable(from: string, to: string): Operation {
  const label = `op.renameTable(${JSON.stringify(from)}, ${JSON.stringify(to)})`;
  parseOptions(label, tableRefSchema, from);
  parseOptions(label, identSchema, to);
  if (to.includes('.')) throw new OperationError(label, 'the new name is a bare name: a table keeps its schema');
  return {
    kind: 'renameTable',
    label,
    needs: (s) => {
      const f = tableName(from, s);
      return { tables: [f, { schema: f.schema, name: to }] };
    },
    validate(ctx) {
      const f = tableName(from, ctx.defaultSchema);
      requireTable(ctx, label, f);
      if (ctx.catalog.tables.has(`${f.schema}.${to}`)) throw new OperationError(label, `${f.schema}.${to} already exists`);
    },
    plan(ctx) {
      const f = tableName(from, ctx.defaultSchema);
      const t = { schema: f.schema, name: to };
      const p = emptyOperationPlan();
      p.expand.push(
        step(`rename table ${f.name} to ${to}`, `ALTER TABLE ${qt(f)} RENAME TO ${quoteIdent(to)}`, 'ACCESS EXCLUSIVE'),
        step(`compatibility view ${f.name} for old code`, `CREATE VIEW ${qt(f)} AS SELECT * FROM ${qt(t)}`, 'none'),
      );
      p.contract.push(step(`drop compatibility view ${f.name}`, `DROP VIEW ${qt(f)}`, 'ACCESS EXCLUSIVE'));
      p.abort.push(
        step(`drop compatibility view ${f.name}`, `DROP VIEW IF EXISTS ${qt(f)}`, 'ACCESS EXCLUSIVE'),
        step(`rename table ${to} back to ${f.name}`, `ALTER TABLE IF EXISTS ${quoteQualified(t.schema, t.name)} RENAME TO ${quoteIdent(f.name)}`, 'ACCESS EXCLUSIVE'),
      );
      p.touches.push(`${f.schema}.${f.name}.*`, `${t.schema}.${t.name}.*`);
      p.affectedTables.push(t);
      return p;
    },
  };
}
