import type { RuleDefinition } from '../types.js';
import { BREAKING } from './severity.js';

export const renameColumn: RuleDefinition = {
  id: 'rename-column',
  severity: BREAKING,
  why: 'Old code still reads and writes the old column name while the migration is expanded; renaming it breaks that code at once.',
  fix: 'op.renameColumn: expand adds the new column kept in sync by triggers; the old one is dropped in contract.',
  check(stmt, ctx) {
    if (!('RenameStmt' in stmt)) return [];
    const s = stmt.RenameStmt;
    if (s.renameType !== 'OBJECT_COLUMN' || ctx.isNewTable(s.relation?.schemaname, s.relation?.relname ?? '')) return [];
    return [{ message: `column ${s.relation?.relname ?? '?'}.${s.subname ?? '?'} renamed to ${s.newname ?? '?'} while old code still uses it` }];
  },
};
