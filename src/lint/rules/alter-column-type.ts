import { formatType, simpleType } from '../ast.js';
import { isSafeTypeChange, isStringType, parseTypeString } from '../type-change.js';
import type { RuleDefinition, RuleHit } from '../types.js';
import { existingTableCmds } from './helpers.js';
import { ALWAYS_ERROR } from './severity.js';

export const alterColumnType: RuleDefinition = {
  id: 'alter-column-type',
  severity: ALWAYS_ERROR,
  why: 'Changing a column type rewrites the table (and its indexes) under an ACCESS EXCLUSIVE lock, and old code still expects the old type.',
  fix: 'op.alterColumn: a shadow column of the new type kept in sync by triggers, backfilled, swapped in contract. Only widening varchar/numeric or varchar → text is safe in place.',
  check(stmt, ctx) {
    const hits: RuleHit[] = [];
    for (const { rel, cmd } of existingTableCmds(stmt, ctx)) {
      if (cmd.subtype !== 'AT_AlterColumnType' || !cmd.def || !('ColumnDef' in cmd.def)) continue;
      const target = simpleType(cmd.def.ColumnDef.typeName);
      if (!target || !cmd.name) continue;
      const table = rel.schemaname ? `${rel.schemaname}.${rel.relname ?? ''}` : (rel.relname ?? '');
      const known = ctx.catalog?.columnType(table, cmd.name);
      const from = known === undefined ? undefined : parseTypeString(known);
      const where = `${rel.relname ?? '?'}.${cmd.name}`;
      const location = cmd.def.ColumnDef.typeName?.location;
      // varchar(n) targets are judged by varchar-narrowing when the old type is unknown or text-like.
      if (target.name === 'varchar' && target.mods.length > 0 && (!from || isStringType(from))) continue;
      if (!from) {
        if (isStringType(target)) {
          hits.push({
            message: `cannot verify that ${where} → ${formatType(target)} is a safe widening (old type unknown); it rewrites the table unless the column is already varchar/text`,
            location,
            severity: 'warning',
          });
        } else {
          hits.push({ message: `${where} changes type to ${formatType(target)}, which rewrites the table`, location });
        }
        continue;
      }
      if (!isSafeTypeChange(from, target)) {
        hits.push({ message: `${where} changes type ${formatType(from)} → ${formatType(target)}, which rewrites the table`, location });
      }
    }
    return hits;
  },
};
