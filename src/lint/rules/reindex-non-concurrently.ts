import { isConcurrent, qualifiedName } from '../ast.js';
import type { RuleDefinition } from '../types.js';
import { ALWAYS_ERROR } from './severity.js';

export const reindexNonConcurrently: RuleDefinition = {
  id: 'reindex-non-concurrently',
  severity: ALWAYS_ERROR,
  why: 'REINDEX without CONCURRENTLY blocks writes to the table (and reads that use the index) until the rebuild ends.',
  fix: 'REINDEX ... CONCURRENTLY (PostgreSQL 12+), outside a transaction block.',
  check(stmt) {
    if (!('ReindexStmt' in stmt) || isConcurrent(stmt)) return [];
    const s = stmt.ReindexStmt;
    const target = s.relation ? qualifiedName(s.relation) : s.name;
    return [{ message: `REINDEX ${target ? `${target} ` : ''}without CONCURRENTLY` }];
  },
};
