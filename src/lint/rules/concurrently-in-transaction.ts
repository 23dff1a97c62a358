import { isConcurrent } from '../ast.js';
import type { RuleDefinition } from '../types.js';
import { ALWAYS_ERROR } from './severity.js';

export const concurrentlyInTransaction: RuleDefinition = {
  id: 'concurrently-in-transaction',
  severity: ALWAYS_ERROR,
  why: 'PostgreSQL refuses CONCURRENTLY inside a transaction block, so the migration fails at this statement.',
  fix: 'Run the CONCURRENTLY statement on its own, outside BEGIN ... COMMIT (mark the step non-transactional).',
  check(stmt, ctx) {
    if (!ctx.inTransaction || !isConcurrent(stmt)) return [];
    return [{ message: 'CONCURRENTLY cannot run inside a transaction block' }];
  },
};
