import type { RuleDefinition, RuleHit } from '../types.js';
import { existingTableCmds } from './helpers.js';
import { BREAKING } from './severity.js';

export const dropColumn: RuleDefinition = {
  id: 'drop-column',
  severity: BREAKING,
  why: 'Dropping a column loses its data and breaks old code that still reads or writes it while the migration is expanded.',
  fix: 'op.dropColumn: expand keeps the column (filled by a down-trigger for new writers); DROP COLUMN runs in contract after a snapshot.',
  check(stmt, ctx) {
    const hits: RuleHit[] = [];
    for (const { rel, cmd } of existingTableCmds(stmt, ctx)) {
      if (cmd.subtype === 'AT_DropColumn') hits.push({ message: `column ${rel.relname ?? '?'}.${cmd.name ?? '?'} dropped in expand` });
    }
    return hits;
  },
};
