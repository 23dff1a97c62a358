import { qualifiedName } from '../ast.js';
import type { RuleDefinition } from '../types.js';

export const truncate: RuleDefinition = {
  id: 'truncate',
  // Never routine: even in contract or abort it deletes rows a snapshot may not cover.
  severity: { expand: 'error', contract: 'warning', abort: 'warning', any: 'warning' },
  why: 'TRUNCATE deletes every row under an ACCESS EXCLUSIVE lock; old code still relies on that data while the migration is expanded.',
  fix: 'Leave data removal to contract (after its snapshot), or DELETE in batches with a WHERE clause.',
  check(stmt, ctx) {
    if (!('TruncateStmt' in stmt)) return [];
    const names: string[] = [];
    for (const r of stmt.TruncateStmt.relations ?? []) {
      if ('RangeVar' in r && !ctx.isNewTable(r.RangeVar.schemaname, r.RangeVar.relname ?? '')) names.push(qualifiedName(r.RangeVar));
    }
    return names.length ? [{ message: `TRUNCATE ${names.join(', ')}` }] : [];
  },
};
