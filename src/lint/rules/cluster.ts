import { qualifiedName } from '../ast.js';
import type { RuleDefinition } from '../types.js';
import { ALWAYS_ERROR } from './severity.js';

export const cluster: RuleDefinition = {
  id: 'cluster',
  severity: ALWAYS_ERROR,
  why: 'CLUSTER rewrites the table in index order under an ACCESS EXCLUSIVE lock: no reads or writes until it ends.',
  fix: 'An online repack (pg_repack --order-by) outside the migration, or live with the physical order.',
  check(stmt) {
    if (!('ClusterStmt' in stmt)) return [];
    const rel = stmt.ClusterStmt.relation;
    return [{ message: rel ? `CLUSTER ${qualifiedName(rel)} locks the table for a full rewrite` : 'CLUSTER locks every clustered table for a full rewrite' }];
  },
};
