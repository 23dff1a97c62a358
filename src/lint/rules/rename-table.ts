import type { Node, RangeVar } from 'libpg-query';
import { qualifiedName } from '../ast.js';
import type { RuleDefinition } from '../types.js';
import { BREAKING } from './severity.js';

export const renameTable: RuleDefinition = {
  id: 'rename-table',
  severity: BREAKING,
  why: 'Old code still queries the old table name while the migration is expanded; renaming (or moving) the table breaks it at once.',
  fix: 'Rename and CREATE VIEW <old name> AS SELECT * FROM <new name> in the same transaction (op.renameTable does this); contract drops the view.',
  check(stmt, ctx) {
    if ('RenameStmt' in stmt) {
      const s = stmt.RenameStmt;
      if (s.renameType !== 'OBJECT_TABLE' || ctx.isNewTable(s.relation?.schemaname, s.relation?.relname ?? '')) return [];
      if (keepsOldName(s.relation, ctx.following())) return [];
      return [{ message: `table ${qualifiedName(s.relation)} renamed to ${s.newname ?? '?'} while old code still uses it` }];
    }
    if ('AlterObjectSchemaStmt' in stmt) {
      const s = stmt.AlterObjectSchemaStmt;
      if (s.objectType !== 'OBJECT_TABLE' || ctx.isNewTable(s.relation?.schemaname, s.relation?.relname ?? '')) return [];
      return [{ message: `table ${qualifiedName(s.relation)} moved to schema ${s.newschema ?? '?'} while old code still uses it` }];
    }
    return [];
  },
};

/** A later CREATE VIEW under the old name keeps old code working (curtain's renameTable does this). */
function keepsOldName(old: RangeVar | undefined, following: readonly Node[]): boolean {
  return following.some((n) => {
    if (!('ViewStmt' in n)) return false;
    const view = n.ViewStmt.view;
    return view?.relname === old?.relname && (!view?.schemaname || !old?.schemaname || view.schemaname === old.schemaname);
  });
}
