import { stringValue } from '../ast.js';
import type { RuleDefinition } from '../types.js';
import { BREAKING } from './severity.js';

export const dropTable: RuleDefinition = {
  id: 'drop-table',
  severity: BREAKING,
  why: 'Dropping a table loses its data and breaks old code that still uses it while the migration is expanded.',
  fix: 'op.dropTable: the table stays while old code may use it; contract drops it after taking a snapshot.',
  check(stmt, ctx) {
    if (!('DropStmt' in stmt) || stmt.DropStmt.removeType !== 'OBJECT_TABLE') return [];
    const names: string[] = [];
    for (const o of stmt.DropStmt.objects ?? []) {
      const parts = 'List' in o ? (o.List.items ?? []).map((i) => stringValue(i) ?? '?') : [];
      const table = parts[parts.length - 1] ?? '?';
      if (!ctx.isNewTable(parts.length > 1 ? parts[0] : undefined, table)) names.push(parts.join('.'));
    }
    return names.length ? [{ message: `table ${names.join(', ')} dropped in expand` }] : [];
  },
};
