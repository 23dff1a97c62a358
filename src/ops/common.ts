/**
 * Small helpers every operation shares: option parsing with readable errors,
 * catalog lookups with specific messages, step construction, generated names.
 */
import { z } from 'zod';
import { tableKey, type ColumnShape, type TableShape } from '../db/catalog.js';
import { boundedIdent, parseTableRef, quoteIdent, quoteQualified } from '../db/identifiers.js';
import { OperationError } from './errors.js';
import { referencedColumns } from './expression.js';
import type { LockMode, OperationPlan, PlanContext, Step, TableName } from './operation.js';
import { expressionText, isSqlExpression, type Expression } from './sql.js';

/** A SQL expression: the `sql` tag or a non-empty string. */
export const expressionSchema = z.union([
  z.string().min(1, 'must not be empty'),
  z.custom<Expression>((v) => isSqlExpression(v), { message: 'must be a string or a sql`...` fragment' }),
]);

/** An identifier given by the user: non-empty, at most 63 bytes. */
export const identSchema = z
  .string()
  .min(1, 'must not be empty')
  .refine((s) => Buffer.byteLength(s) <= 63, 'must be at most 63 bytes (PostgreSQL truncates longer names)');

/** A table reference: `table` or `schema.table`. */
export const tableRefSchema = z.string().regex(/^[^.]+(\.[^.]+)?$/, 'must be "table" or "schema.table"');

/** A type name as written in SQL (`text`, `numeric(10,2)`, `timestamptz`). */
export const typeSchema = z.string().min(1, 'must not be empty');

/**
 * Validate `value` against `schema`; on failure throw one OperationError that
 * names the operation and the option.
 *
 * @example
 * parseOptions('op.addColumn("users")', schema, { name: 'x', type: 1 });
 * // throws: op.addColumn("users"): option "type": Invalid input: expected string, received number
 */
export function parseOptions<T>(label: string, schema: z.ZodType<T>, value: unknown): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const parts = r.error.issues.map((i) => {
    const path = i.path.map(String).join('.');
    return path ? `option "${path}": ${i.message}` : i.message;
  });
  throw new OperationError(label, parts.join('; '));
}

/** Resolve a user table reference. */
export function tableName(ref: string, defaultSchema: string): TableName {
  return parseTableRef(ref, defaultSchema);
}

/** The quoted, qualified name of a table. */
export function qt(t: TableName): string {
  return quoteQualified(t.schema, t.name);
}

/** The table's shape, or an OperationError saying it does not exist. */
export function requireTable(ctx: PlanContext, label: string, t: TableName): TableShape {
  const shape = ctx.catalog.tables.get(tableKey(t));
  if (!shape) throw new OperationError(label, `table ${t.schema}.${t.name} does not exist`);
  if (shape.kind !== 'r' && shape.kind !== 'p') {
    throw new OperationError(label, `${t.schema}.${t.name} is not a table (relkind ${shape.kind})`);
  }
  return shape;
}

/** The column, or an OperationError naming table and column. */
export function requireColumn(label: string, table: TableShape, column: string): ColumnShape {
  const c = table.columns.find((x) => x.name === column);
  if (!c) {
    throw new OperationError(
      label,
      `column "${column}" does not exist in ${table.schema}.${table.name} (columns: ${table.columns.map((x) => x.name).join(', ')})`,
    );
  }
  return c;
}

/** Refuse a column name already present. */
export function requireNoColumn(label: string, table: TableShape, column: string): void {
  if (table.columns.some((x) => x.name === column)) {
    throw new OperationError(label, `column "${column}" already exists in ${table.schema}.${table.name}`);
  }
}

/** One step. */
export function step(description: string, sql: string, lock: LockMode, transactional = true, cleanup?: string): Step {
  return { description, sql, lock, transactional, ...(cleanup === undefined ? {} : { cleanup }) };
}

/**
 * VALIDATE CONSTRAINT scans the table but only takes SHARE UPDATE EXCLUSIVE
 * (reads and writes go on): it runs in its own transaction so no exclusive
 * lock of a neighbouring step is held during the scan.
 *
 * @example
 * validateStep('validate check orders_total_positive', 'orders', 'orders_total_positive')
 */
export function validateStep(description: string, table: string, constraint: string): Step {
  return { ...step(description, `ALTER TABLE ${table} VALIDATE CONSTRAINT ${quoteIdent(constraint)}`, 'SHARE UPDATE EXCLUSIVE'), ownTransaction: true };
}

/** An operation's plan with nothing in it yet. */
export function emptyOperationPlan(): OperationPlan {
  return { expand: [], afterBackfill: [], contract: [], abort: [], sync: [], backfill: [], touches: [], affectedTables: [] };
}

/** `schema.table.column` as used in `touches`. */
export function touch(t: TableName, column: string): string {
  return `${t.schema}.${t.name}.${column}`;
}

/** A name for an object curtain creates, bounded to 63 bytes with a stable hash. */
export function generatedName(...parts: string[]): string {
  return boundedIdent(parts.join('_'));
}

/** Expression text, trimmed and parenthesised for safe embedding. */
export function exprSql(e: Expression): string {
  return `(${expressionText(e).trim()})`;
}

// Built-in functions whose result changes per call: a default using them cannot be re-evaluated to compare.
const VOLATILE = /\b(nextval|random|gen_random_uuid|uuidv4|uuidv7|uuid_generate_\w+|clock_timestamp|timeofday|statement_timestamp|txid_current|pg_current_xact_id|setseed)\s*\(/i;

/** Heuristic volatility of a user-written default (catalog defaults use the exact test in catalog.ts). */
export function looksVolatile(expr: string): boolean {
  return VOLATILE.test(expr);
}

/** A shallow copy of a table shape with one more column (for later operations of the same migration). */
export function withColumn(t: TableShape, c: { name: string; type: string; default?: string; notNull: boolean }): TableShape {
  const col: ColumnShape = {
    name: c.name,
    attnum: -1,
    type: c.type,
    notNull: c.notNull,
    ...(c.default === undefined ? {} : { default: c.default }),
    defaultVolatile: c.default !== undefined && looksVolatile(c.default),
    identity: null,
    generated: false,
  };
  return { ...t, columns: [...t.columns, col] };
}

/**
 * Refuse expressions reading generated columns: their value is computed after
 * BEFORE triggers run, so the dual-write trigger would see a stale one.
 *
 * @example
 * rejectGeneratedReads('op.addColumn("users", "x")', users, 'up', 'upper(email)');
 */
export function rejectGeneratedReads(label: string, table: TableShape, option: string, expr: Expression | undefined): void {
  if (expr === undefined) return;
  for (const d of referencedColumns(expressionText(expr), table.columns.map((c) => c.name))) {
    if (table.columns.find((c) => c.name === d)?.generated) {
      throw new OperationError(label, `"${option}" reads generated column "${d}", whose value is not available in a BEFORE trigger`);
    }
  }
}
