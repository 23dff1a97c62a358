import type { RuleDefinition } from '../types.js';
import { ALWAYS_ERROR } from './severity.js';

export const dropIndexNonConcurrently: RuleDefinition = {
  id: 'drop-index-non-concurrently',
  severity: ALWAYS_ERROR,
  why: "DROP INDEX without CONCURRENTLY takes an ACCESS EXCLUSIVE lock on the index's table, queueing all reads and writes behind it.",
  fix: 'DROP INDEX CONCURRENTLY, outside a transaction block.',
  check(stmt) {
    if (!('DropStmt' in stmt)) return [];
    const s = stmt.DropStmt;
    if (s.removeType !== 'OBJECT_INDEX' || s.concurrent) return [];
    return [{ message: 'index dropped without CONCURRENTLY' }];
  },
};
