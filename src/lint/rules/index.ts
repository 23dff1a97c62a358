import type { RuleDefinition } from '../types.js';
import { addColumnNotNullWithoutDefault } from './add-column-not-null-without-default.js';
import { addColumnVolatileDefault } from './add-column-volatile-default.js';
import { addSerialPrimaryKey } from './add-serial-primary-key.js';
import { addStoredGeneratedColumn } from './add-stored-generated-column.js';
import { alterColumnType } from './alter-column-type.js';
import { cluster } from './cluster.js';
import { concurrentlyInTransaction } from './concurrently-in-transaction.js';
import { constraintMissingNotValid } from './constraint-missing-not-valid.js';
import { createIndexNonConcurrently } from './create-index-non-concurrently.js';
import { destructiveStatement } from './destructive-statement.js';
import { dropColumn } from './drop-column.js';
import { dropIndexNonConcurrently } from './drop-index-non-concurrently.js';
import { dropTable } from './drop-table.js';
import { suppressionWithoutReason, syntaxError, unknownSuppressionRule, unusedSuppression } from './meta.js';
import { reindexNonConcurrently } from './reindex-non-concurrently.js';
import { renameColumn } from './rename-column.js';
import { renameTable } from './rename-table.js';
import { requireLockTimeout } from './require-lock-timeout.js';
import { setNotNullWithoutCheck } from './set-not-null-without-check.js';
import { truncate } from './truncate.js';
import { uniqueConstraintWithoutIndex } from './unique-constraint-without-index.js';
import { vacuumFull } from './vacuum-full.js';
import { varcharNarrowing } from './varchar-narrowing.js';

/**
 * Every rule, in the order findings for one statement are reported and the README lists them.
 *
 * @example
 * rules.filter((r) => r.severity.expand === 'error').map((r) => r.id);
 */
export const rules: readonly RuleDefinition[] = [
  createIndexNonConcurrently,
  dropIndexNonConcurrently,
  reindexNonConcurrently,
  concurrentlyInTransaction,
  addColumnVolatileDefault,
  addColumnNotNullWithoutDefault,
  addSerialPrimaryKey,
  addStoredGeneratedColumn,
  setNotNullWithoutCheck,
  alterColumnType,
  varcharNarrowing,
  constraintMissingNotValid,
  uniqueConstraintWithoutIndex,
  renameColumn,
  renameTable,
  dropColumn,
  dropTable,
  truncate,
  destructiveStatement,
  vacuumFull,
  cluster,
  requireLockTimeout,
  syntaxError,
  suppressionWithoutReason,
  unknownSuppressionRule,
  unusedSuppression,
];

/**
 * The rule with this id, if any.
 *
 * @example
 * ruleById('drop-column')?.severity.contract // 'off'
 */
export function ruleById(id: string): RuleDefinition | undefined {
  return rules.find((r) => r.id === id);
}
