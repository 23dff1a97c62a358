import type { Node, RangeVar } from 'libpg-query';
import { kindOf } from '../ast.js';
import type { RuleDefinition } from '../types.js';
import { ALWAYS_WARNING } from './severity.js';

/** The existing relation a DDL statement must lock, or undefined when it takes no such lock. */
function lockedRelation(stmt: Node): RangeVar | null | undefined {
  if ('AlterTableStmt' in stmt) return stmt.AlterTableStmt.relation;
  if ('RenameStmt' in stmt) return stmt.RenameStmt.relation ?? null;
  if ('IndexStmt' in stmt) return stmt.IndexStmt.relation;
  if ('CreateTrigStmt' in stmt) return stmt.CreateTrigStmt.relation;
  if ('ReindexStmt' in stmt) return stmt.ReindexStmt.relation ?? null;
  if ('ClusterStmt' in stmt) return stmt.ClusterStmt.relation ?? null;
  if ('AlterObjectSchemaStmt' in stmt) return stmt.AlterObjectSchemaStmt.relation ?? null;
  if ('RuleStmt' in stmt) return stmt.RuleStmt.relation;
  if ('TruncateStmt' in stmt) {
    const first = stmt.TruncateStmt.relations?.[0];
    return first && 'RangeVar' in first ? first.RangeVar : null;
  }
  // null: locks something, but not one relation we can name (DROP lists, ALTER TYPE...).
  if ('DropStmt' in stmt || 'AlterEnumStmt' in stmt || 'AlterDomainStmt' in stmt || 'LockStmt' in stmt) return null;
  return undefined;
}

export const requireLockTimeout: RuleDefinition = {
  id: 'require-lock-timeout',
  severity: ALWAYS_WARNING,
  why: 'DDL waiting for a lock makes every later query on the table queue behind it; without lock_timeout that wait has no bound.',
  fix: "SET lock_timeout = '1s' (or SET LOCAL inside a transaction) before the DDL, and retry on timeout; curtain's executor does this for its own steps.",
  check(stmt, ctx) {
    if (ctx.generated || ctx.lockTimeoutSet) return [];
    const rel = lockedRelation(stmt);
    if (rel === undefined) return [];
    if (rel && ctx.isNewTable(rel.schemaname, rel.relname ?? '')) return [];
    // One finding per SQL string: a single SET at the top fixes them all.
    if (!ctx.once('require-lock-timeout')) return [];
    return [{ message: `${kindOf(stmt)?.replace(/Stmt$/, '') ?? 'DDL'} runs without a lock_timeout set earlier in this SQL` }];
  },
};
