import { simpleType } from '../ast.js';
import { parseTypeString } from '../type-change.js';
import type { RuleDefinition, RuleHit } from '../types.js';
import { existingTableCmds } from './helpers.js';
import { ALWAYS_ERROR } from './severity.js';

export const varcharNarrowing: RuleDefinition = {
  id: 'varchar-narrowing',
  severity: ALWAYS_ERROR,
  why: 'Lowering (or adding) a varchar length limit checks every row and rewrites the table under an ACCESS EXCLUSIVE lock, and fails if any value is longer.',
  fix: 'Keep the wider type and add CHECK (char_length(col) <= n) NOT VALID, then VALIDATE CONSTRAINT; or op.alterColumn with a shadow column.',
  check(stmt, ctx) {
    const hits: RuleHit[] = [];
    for (const { rel, cmd } of existingTableCmds(stmt, ctx)) {
      if (cmd.subtype !== 'AT_AlterColumnType' || !cmd.def || !('ColumnDef' in cmd.def) || !cmd.name) continue;
      const target = simpleType(cmd.def.ColumnDef.typeName);
      const limit = target?.mods[0];
      if (target?.name !== 'varchar' || limit === undefined) continue;
      const table = rel.schemaname ? `${rel.schemaname}.${rel.relname ?? ''}` : (rel.relname ?? '');
      const known = ctx.catalog?.columnType(table, cmd.name);
      const from = known === undefined ? undefined : parseTypeString(known);
      const where = `${rel.relname ?? '?'}.${cmd.name}`;
      const location = cmd.def.ColumnDef.typeName?.location;
      if (!from) {
        hits.push({
          message: `cannot tell whether varchar(${limit}) narrows ${where}: its current type is unknown (pass a catalog)`,
          location,
          severity: 'warning',
        });
      } else if (from.name === 'text' || (from.name === 'varchar' && (from.mods[0] === undefined || from.mods[0] > limit))) {
        hits.push({ message: `${where} narrows from ${known ?? ''} to varchar(${limit})`, location });
      }
    }
    return hits;
  },
};
