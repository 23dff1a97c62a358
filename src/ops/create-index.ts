import { z } from 'zod';
import { quoteIdent, quoteQualified } from '../db/identifiers.js';
import { emptyOperationPlan, exprSql, expressionSchema, generatedName, identSchema, parseOptions, qt, requireColumn, requireTable, step, tableName, tableRefSchema, touch } from './common.js';
import { referencedColumns } from './expression.js';
import { partitionedIndex } from './partitioned-index.js';
import { OperationError } from './errors.js';
import type { Operation } from './operation.js';
import { expressionText, type Expression } from './sql.js';

/** Options of {@link createIndex}. */
export interface CreateIndexOptions {
  columns: [string, ...string[]];
  /** Default `<table>_<columns>_idx`. */
  name?: string;
  unique?: boolean;
  method?: 'btree' | 'hash' | 'gist' | 'gin' | 'brin' | 'spgist';
  /** Partial index predicate. */
  where?: Expression;
  include?: string[];
}

const schema = z.strictObject({
  columns: z.array(identSchema).min(1, 'needs at least one column'),
  name: identSchema.optional(),
  unique: z.boolean().optional(),
  method: z.enum(['btree', 'hash', 'gist', 'gin', 'brin', 'spgist']).optional(),
  where: expressionSchema.optional(),
  include: z.array(identSchema).optional(),
});

/**
 * Build an index CONCURRENTLY (outside a transaction; a failed attempt's
 * INVALID index is dropped before a retry). Abort drops it concurrently.
 *
 * @example
 * op.createIndex('orders', { columns: ['user_id'] })
 */
export function createIndex(table: string, options: CreateIndexOptions): Operation {
  const label0 = `op.createIndex(${JSON.stringify(table)})`;
  parseOptions(label0, tableRefSchema, table);
  const o = parseOptions(label0, schema, options) as CreateIndexOptions;
  const base = tableName(table, 'public').name;
  const name = o.name ?? generatedName(base, ...o.columns, 'idx');
  const label = `op.createIndex(${JSON.stringify(table)}, ${JSON.stringify(name)})`;
  return {
    kind: 'createIndex',
    label,
    needs: (s) => ({ tables: [tableName(table, s)], indexes: [{ schema: tableName(table, s).schema, name }] }),
    validate(ctx) {
      const t = tableName(table, ctx.defaultSchema);
      const shape = requireTable(ctx, label, t);
      for (const c of [...o.columns, ...(o.include ?? [])]) requireColumn(label, shape, c);
      if (ctx.catalog.indexes.has(`${t.schema}.${name}`)) throw new OperationError(label, `index ${t.schema}.${name} already exists`);
    },
    plan(ctx) {
      const t = tableName(table, ctx.defaultSchema);
      const p = emptyOperationPlan();
      const q = quoteQualified(t.schema, name);
      const using = o.method && o.method !== 'btree' ? ` USING ${o.method}` : '';
      const include = o.include?.length ? ` INCLUDE (${o.include.map(quoteIdent).join(', ')})` : '';
      const where = o.where !== undefined ? ` WHERE ${exprSql(o.where)}` : '';
      const shape = requireTable(ctx, label, t);
      if (shape.kind === 'p') {
        const steps = partitionedIndex(label, shape, name, `${using.trim()}${using ? ' ' : ''}(${o.columns.map(quoteIdent).join(', ')})${include}${where}`, {
          unique: o.unique === true,
          columns: o.columns,
        });
        p.expand.push(...steps.expand);
        p.abort.push(...steps.abort);
        p.reads = o.columns.map((c) => touch(t, c));
        return p;
      }
      p.expand.push(
        step(
          `create index ${name} concurrently`,
          `CREATE ${o.unique ? 'UNIQUE ' : ''}INDEX CONCURRENTLY ${quoteIdent(name)} ON ${qt(t)}${using} (${o.columns.map(quoteIdent).join(', ')})${include}${where}`,
          'SHARE UPDATE EXCLUSIVE',
          false,
          `DROP INDEX CONCURRENTLY IF EXISTS ${q}`,
        ),
      );
      // The index reads these columns: another in-flight migration must not rename or drop them underneath.
      const inWhere = o.where !== undefined ? referencedColumns(expressionText(o.where), shape.columns.map((c) => c.name)) : [];
      p.reads = [...new Set([...o.columns, ...(o.include ?? []), ...inWhere])].map((c) => touch(t, c));
      p.abort.push(step(`drop index ${name} concurrently`, `DROP INDEX CONCURRENTLY IF EXISTS ${q}`, 'SHARE UPDATE EXCLUSIVE', false));
      return p;
    },
  };
}
