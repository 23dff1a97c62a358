import { qualifiedName } from '../ast.js';
import type { RuleDefinition } from '../types.js';
import { ALWAYS_ERROR } from './severity.js';

export const createIndexNonConcurrently: RuleDefinition = {
  id: 'create-index-non-concurrently',
  severity: ALWAYS_ERROR,
  why: 'CREATE INDEX without CONCURRENTLY holds a SHARE lock that blocks every write to the table for the whole build.',
  fix: 'CREATE INDEX CONCURRENTLY, outside a transaction block (op.createIndex does this).',
  check(stmt, ctx) {
    if (!('IndexStmt' in stmt)) return [];
    const s = stmt.IndexStmt;
    if (s.concurrent || ctx.isNewTable(s.relation?.schemaname, s.relation?.relname ?? '')) return [];
    // ON ONLY a partitioned table builds nothing: the partitions' indexes are built CONCURRENTLY and attached.
    if (s.relation && !s.relation.inh) return [];
    return [{ message: `index ${s.idxname ?? '(unnamed)'} on ${qualifiedName(s.relation)} is built without CONCURRENTLY` }];
  },
};
