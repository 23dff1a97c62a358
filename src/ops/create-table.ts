import { z } from 'zod';
import type { TableShape } from '../db/catalog.js';
import { quoteIdent, quoteQualified } from '../db/identifiers.js';
import { emptyOperationPlan, exprSql, expressionSchema, identSchema, parseOptions, qt, step, tableName, tableRefSchema } from './common.js';
import { checkSchema, referencesSchema, type CheckOption, type ReferencesOptions } from './constraints.js';
import { OperationError } from './errors.js';
import type { Operation } from './operation.js';
import { expressionText, type Expression } from './sql.js';

/** One column of {@link createTable}. */
export interface ColumnDefinition {
  name: string;
  type: string;
  /** Default true (false for primary-key columns). */
  nullable?: boolean;
  default?: Expression;
  primaryKey?: boolean;
  unique?: boolean;
  check?: CheckOption;
  references?: ReferencesOptions;
  /** `GENERATED ALWAYS|BY DEFAULT AS IDENTITY`. */
  identity?: 'always' | 'by default';
}

/** Options of {@link createTable}. */
export interface CreateTableOptions {
  columns: [ColumnDefinition, ...ColumnDefinition[]];
  /** Composite primary key (alternative to `primaryKey: true` on columns). */
  primaryKey?: string[];
}

const columnSchema = z.strictObject({
  name: identSchema,
  type: z.string().min(1),
  nullable: z.boolean().optional(),
  default: expressionSchema.optional(),
  primaryKey: z.boolean().optional(),
  unique: z.boolean().optional(),
  check: checkSchema.optional(),
  references: referencesSchema.optional(),
  identity: z.enum(['always', 'by default']).optional(),
});
const schema = z.strictObject({
  columns: z.array(columnSchema).min(1, 'needs at least one column'),
  primaryKey: z.array(identSchema).min(1).optional(),
});

/**
 * Create a table. Nothing uses it yet, so it is created complete; abort drops it.
 *
 * @example
 * op.createTable('orders', { columns: [
 *   { name: 'id', type: 'bigint', primaryKey: true, identity: 'always' },
 *   { name: 'user_id', type: 'bigint', references: { table: 'users', column: 'id' } },
 * ] })
 */
export function createTable(table: string, options: CreateTableOptions): Operation {
  const label = `op.createTable(${JSON.stringify(table)})`;
  parseOptions(label, tableRefSchema, table);
  const o = parseOptions(label, schema, options) as CreateTableOptions;
  const names = o.columns.map((c) => c.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) throw new OperationError(label, `column "${dup}" is defined twice`);
  for (const k of o.primaryKey ?? []) if (!names.includes(k)) throw new OperationError(label, `primaryKey names "${k}", which is not a column`);
  const pk = o.primaryKey ?? o.columns.filter((c) => c.primaryKey).map((c) => c.name);
  return {
    kind: 'createTable',
    label,
    needs: (s) => ({ tables: [tableName(table, s)] }),
    validate(ctx) {
      const t = tableName(table, ctx.defaultSchema);
      if (ctx.catalog.tables.has(`${t.schema}.${t.name}`)) throw new OperationError(label, `table ${t.schema}.${t.name} already exists`);
    },
    plan(ctx) {
      const t = tableName(table, ctx.defaultSchema);
      const p = emptyOperationPlan();
      const defs = o.columns.map((c) => {
        const parts = [quoteIdent(c.name), c.type];
        if (c.identity) parts.push(`GENERATED ${c.identity.toUpperCase()} AS IDENTITY`);
        if (c.default !== undefined) parts.push(`DEFAULT ${expressionText(c.default)}`);
        if (c.nullable === false && !pk.includes(c.name)) parts.push('NOT NULL');
        if (c.unique) parts.push('UNIQUE');
        if (c.check !== undefined) {
          const ck = typeof c.check === 'object' && 'expression' in c.check ? c.check : { expression: c.check as Expression };
          parts.push(`${ck.name ? `CONSTRAINT ${quoteIdent(ck.name)} ` : ''}CHECK ${exprSql(ck.expression)}`);
        }
        if (c.references) {
          const r = tableName(c.references.table, ctx.defaultSchema);
          parts.push(
            `${c.references.name ? `CONSTRAINT ${quoteIdent(c.references.name)} ` : ''}REFERENCES ${quoteQualified(r.schema, r.name)} (${quoteIdent(c.references.column)})` +
              `${c.references.onDelete ? ` ON DELETE ${c.references.onDelete}` : ''}${c.references.onUpdate ? ` ON UPDATE ${c.references.onUpdate}` : ''}`,
          );
        }
        return parts.join(' ');
      });
      if (pk.length > 0) defs.push(`PRIMARY KEY (${pk.map(quoteIdent).join(', ')})`);
      p.expand.push(step(`create table ${t.name}`, `CREATE TABLE ${qt(t)} (\n  ${defs.join(',\n  ')}\n)`, 'none'));
      p.abort.push(step(`drop table ${t.name}`, `DROP TABLE IF EXISTS ${qt(t)}`, 'ACCESS EXCLUSIVE'));
      p.touches.push(`${t.schema}.${t.name}.*`);
      const shape: TableShape = {
        schema: t.schema,
        name: t.name,
        kind: 'r',
        columns: o.columns.map((c, i) => ({
          name: c.name,
          attnum: i + 1,
          type: c.type,
          notNull: c.nullable === false || pk.includes(c.name),
          ...(c.default !== undefined ? { default: expressionText(c.default) } : {}),
          defaultVolatile: false,
          identity: c.identity ?? null,
          generated: false,
        })),
        primaryKey: pk,
        indexes: [],
        constraints: [],
        referencedBy: [],
        triggers: [],
      };
      p.addsTables = [shape];
      return p;
    },
  };
}
