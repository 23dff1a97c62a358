import { z } from 'zod';
import { quoteIdent, quoteQualified } from '../db/identifiers.js';
import { emptyOperationPlan, exprSql, expressionSchema, generatedName, identSchema, parseOptions, qt, requireColumn, requireTable, step, tableName, tableRefSchema, touch, validateStep } from './common.js';
import type { ReferentialAction } from './constraints.js';
import { OperationError } from './errors.js';
import type { Operation, PlanContext } from './operation.js';
import { referencedColumns } from './expression.js';
import { foreignKeySteps } from './partitioned-fk.js';
import { expressionText, type Expression } from './sql.js';

/** Options of {@link addConstraint}, by constraint type. */
export type AddConstraintOptions =
  | { type: 'check'; name?: string; expression: Expression }
  | {
      type: 'foreign key';
      name?: string;
      columns: [string, ...string[]];
      references: { table: string; columns: [string, ...string[]] };
      onDelete?: ReferentialAction;
      onUpdate?: ReferentialAction;
    }
  | { type: 'unique'; name?: string; columns: [string, ...string[]] };

const action = z.enum(['NO ACTION', 'RESTRICT', 'CASCADE', 'SET NULL', 'SET DEFAULT']);
const schema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('check'), name: identSchema.optional(), expression: expressionSchema }),
  z.strictObject({
    type: z.literal('foreign key'),
    name: identSchema.optional(),
    columns: z.array(identSchema).min(1),
    references: z.strictObject({ table: tableRefSchema, columns: z.array(identSchema).min(1) }),
    onDelete: action.optional(),
    onUpdate: action.optional(),
  }),
  z.strictObject({ type: z.literal('unique'), name: identSchema.optional(), columns: z.array(identSchema).min(1) }),
]);

/**
 * Add a table constraint online: CHECK and FOREIGN KEY as NOT VALID in expand
 * (new writes are checked at once) and VALIDATEd in contract; UNIQUE as an
 * index built CONCURRENTLY after the backfill and attached in contract.
 *
 * @example
 * op.addConstraint('orders', { type: 'check', name: 'orders_total_positive', expression: sql`total >= 0` })
 */
export function addConstraint(table: string, options: AddConstraintOptions): Operation {
  const label0 = `op.addConstraint(${JSON.stringify(table)})`;
  parseOptions(label0, tableRefSchema, table);
  const o = parseOptions(label0, schema, options) as AddConstraintOptions;
  const base = tableName(table, 'public').name;
  const name =
    o.name ??
    (o.type === 'check' ? generatedName(base, 'check') : generatedName(base, ...o.columns, o.type === 'unique' ? 'key' : 'fkey'));
  const label = `op.addConstraint(${JSON.stringify(table)}, ${JSON.stringify(name)})`;
  if (o.type === 'foreign key' && o.columns.length !== o.references.columns.length) {
    throw new OperationError(label, `option "references.columns": ${o.references.columns.length} columns for ${o.columns.length} local columns`);
  }
  return {
    kind: 'addConstraint',
    label,
    needs: (s) => ({
      tables: [tableName(table, s), ...(o.type === 'foreign key' ? [tableName(o.references.table, s)] : [])],
      indexes: [{ schema: tableName(table, s).schema, name }],
    }),
    validate(ctx) {
      const shape = requireTable(ctx, label, tableName(table, ctx.defaultSchema));
      if (shape.constraints.some((k) => k.name === name)) throw new OperationError(label, `constraint ${name} already exists on ${shape.schema}.${shape.name}`);
      if (o.type !== 'check') for (const c of o.columns) requireColumn(label, shape, c);
      if (o.type === 'foreign key') {
        const ref = requireTable(ctx, label, tableName(o.references.table, ctx.defaultSchema));
        for (const c of o.references.columns) requireColumn(label, ref, c);
      }
      if (o.type === 'unique' && ctx.catalog.indexes.has(`${shape.schema}.${name}`)) {
        throw new OperationError(label, `an index named ${name} already exists in ${shape.schema}`);
      }
    },
    plan(ctx: PlanContext) {
      const t = tableName(table, ctx.defaultSchema);
      const p = emptyOperationPlan();
      const q = quoteIdent(name);
      if (o.type === 'unique') {
        const qi = quoteQualified(t.schema, name);
        p.afterBackfill.push(
          step(`build unique index ${name} concurrently`, `CREATE UNIQUE INDEX CONCURRENTLY ${q} ON ${qt(t)} (${o.columns.map(quoteIdent).join(', ')})`, 'SHARE UPDATE EXCLUSIVE', false, `DROP INDEX CONCURRENTLY IF EXISTS ${qi}`),
        );
        p.contract.push(step(`attach unique constraint ${name}`, `ALTER TABLE ${qt(t)} ADD CONSTRAINT ${q} UNIQUE USING INDEX ${q}`, 'ACCESS EXCLUSIVE'));
        p.abort.push(step(`drop unique index ${name}`, `DROP INDEX CONCURRENTLY IF EXISTS ${qi}`, 'SHARE UPDATE EXCLUSIVE', false));
      } else if (o.type === 'foreign key' && requireTable(ctx, label, t).kind === 'p') {
        // A partitioned referencing table: per-partition NOT VALID + VALIDATE, then attach on the parent.
        const body =
          `FOREIGN KEY (${o.columns.map(quoteIdent).join(', ')}) REFERENCES ${qt(tableName(o.references.table, ctx.defaultSchema))} (${o.references.columns.map(quoteIdent).join(', ')})` +
          `${o.onDelete ? ` ON DELETE ${o.onDelete}` : ''}${o.onUpdate ? ` ON UPDATE ${o.onUpdate}` : ''}`;
        const fk = foreignKeySteps(requireTable(ctx, label, t), name, body);
        p.expand.push(...fk.add);
        p.contract.push(...fk.validate, ...fk.attach);
        p.abort.push(...fk.abort);
      } else {
        const body =
          o.type === 'check'
            ? `CHECK ${exprSql(o.expression)}`
            : `FOREIGN KEY (${o.columns.map(quoteIdent).join(', ')}) REFERENCES ${qt(tableName(o.references.table, ctx.defaultSchema))} (${o.references.columns.map(quoteIdent).join(', ')})` +
              `${o.onDelete ? ` ON DELETE ${o.onDelete}` : ''}${o.onUpdate ? ` ON UPDATE ${o.onUpdate}` : ''}`;
        p.expand.push(step(`add ${o.type} ${name} (not valid)`, `ALTER TABLE ${qt(t)} ADD CONSTRAINT ${q} ${body} NOT VALID`, o.type === 'check' ? 'ACCESS EXCLUSIVE' : 'SHARE ROW EXCLUSIVE'));
        p.contract.push(validateStep(`validate ${o.type} ${name}`, qt(t), name));
        p.abort.push(step(`drop ${o.type} ${name}`, `ALTER TABLE ${qt(t)} DROP CONSTRAINT IF EXISTS ${q}`, 'ACCESS EXCLUSIVE'));
      }
      if (o.type !== 'check') for (const c of o.columns) p.touches.push(touch(t, c));
      else p.touches.push(`${t.schema}.${t.name}.#${name}`);
      // What the constraint reads: another in-flight migration must not rename or drop it underneath.
      const shape = requireTable(ctx, label, t);
      p.reads =
        o.type === 'check'
          ? referencedColumns(expressionText(o.expression), shape.columns.map((c) => c.name)).map((c) => touch(t, c))
          : o.type === 'foreign key'
            ? o.references.columns.map((c) => touch(tableName(o.references.table, ctx.defaultSchema), c))
            : [];
      return p;
    },
  };
}
