/**
 * The operations a migration lists, as one builder:
 *
 * ```ts
 * operations: [
 *   op.addColumn('users', { name: 'first_name', type: 'text', up: sql`split_part(full_name, ' ', 1)` }),
 *   op.renameColumn('users', 'email', 'email_address'),
 * ]
 * ```
 */
import { addColumn } from './add-column.js';
import { addConstraint } from './add-constraint.js';
import { alterColumn } from './alter-column.js';
import { createIndex } from './create-index.js';
import { createTable } from './create-table.js';
import { dropColumn } from './drop-column.js';
import { dropIndex } from './drop-index.js';
import { dropTable } from './drop-table.js';
import { rawSql } from './raw-sql.js';
import { renameColumn } from './rename-column.js';
import { renameTable } from './rename-table.js';
import { replaceView } from './replace-view.js';
import { OperationError } from './errors.js';

const operations = {
  createTable,
  dropTable,
  renameTable,
  addColumn,
  dropColumn,
  renameColumn,
  alterColumn,
  createIndex,
  dropIndex,
  addConstraint,
  replaceView,
  sql: rawSql,
} as const;

// Properties tools probe on any object (promises, JSON, inspectors, test matchers) are not typos.
const PROBES = new Set(['then', 'toJSON', 'inspect', 'constructor', 'nodeType', '$$typeof', 'asymmetricMatch', '__esModule', 'default']);

/**
 * Every operation, e.g. `op.addColumn(...)`. A misspelt operation in a
 * migration file is a clear error naming the known ones, not "is not a function".
 */
export const op: typeof operations = new Proxy(operations, {
  get(target, prop, receiver) {
    if (typeof prop === 'symbol' || prop in target || PROBES.has(prop)) return Reflect.get(target, prop, receiver);
    throw new OperationError(`op.${prop}`, `unknown operation; the operations are ${Object.keys(target).map((k) => `op.${k}`).join(', ')}`);
  },
});

export { sql, type Expression, type SqlExpression } from './sql.js';
export { planMigration, planFromCatalog, type PlanMigrationContext } from './plan.js';
export { OperationError } from './errors.js';
export { dualWriteTrigger, BACKFILL_GUC } from './triggers.js';
export type { AddColumnOptions } from './add-column.js';
export type { AddConstraintOptions } from './add-constraint.js';
export type { AlterColumnOptions } from './alter-column.js';
export type { CreateIndexOptions } from './create-index.js';
export type { ColumnDefinition, CreateTableOptions } from './create-table.js';
export type { DropColumnOptions } from './drop-column.js';
export type { SqlOperationOptions } from './raw-sql.js';
export type { ReplaceViewOptions } from './replace-view.js';
export type { CheckOption, ReferencesOptions, ReferentialAction } from './constraints.js';
export type * from './operation.js';
