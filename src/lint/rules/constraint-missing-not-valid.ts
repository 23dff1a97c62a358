import { addedConstraint, columnConstraints } from '../ast.js';
import type { RuleDefinition, RuleHit } from '../types.js';
import { addedColumns, existingTableCmds } from './helpers.js';
import { ALWAYS_ERROR } from './severity.js';

const KIND = { CONSTR_CHECK: 'CHECK', CONSTR_FOREIGN: 'FOREIGN KEY' } as const;

export const constraintMissingNotValid: RuleDefinition = {
  id: 'constraint-missing-not-valid',
  severity: ALWAYS_ERROR,
  why: 'Adding a CHECK or FOREIGN KEY constraint validates every row while holding a lock that blocks writes (on both tables for a foreign key).',
  fix: 'ADD CONSTRAINT ... NOT VALID, then ALTER TABLE ... VALIDATE CONSTRAINT in a separate transaction (it only takes SHARE UPDATE EXCLUSIVE).',
  check(stmt, ctx) {
    const hits: RuleHit[] = [];
    for (const { rel, cmd } of existingTableCmds(stmt, ctx)) {
      const c = addedConstraint(cmd);
      if (!c || (c.contype !== 'CONSTR_CHECK' && c.contype !== 'CONSTR_FOREIGN') || c.skip_validation) continue;
      hits.push({
        message: `${KIND[c.contype]} constraint ${c.conname ? `${c.conname} ` : ''}on ${rel.relname ?? '?'} added without NOT VALID`,
        location: c.location,
      });
    }
    // A constraint written on the new column cannot be NOT VALID: it must become a separate ADD CONSTRAINT.
    for (const { rel, col } of addedColumns(stmt, ctx)) {
      for (const c of columnConstraints(col)) {
        if (c.contype !== 'CONSTR_CHECK' && c.contype !== 'CONSTR_FOREIGN') continue;
        hits.push({
          message: `${KIND[c.contype]} on new column ${col.colname ?? '?'} of ${rel.relname ?? '?'} is validated immediately; add it separately as NOT VALID`,
          location: c.location,
        });
      }
    }
    return hits;
  },
};
