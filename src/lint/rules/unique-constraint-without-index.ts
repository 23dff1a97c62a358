import { addedConstraint, columnConstraints } from '../ast.js';
import type { RuleDefinition, RuleHit } from '../types.js';
import { addedColumns, existingTableCmds } from './helpers.js';
import { ALWAYS_ERROR } from './severity.js';

export const uniqueConstraintWithoutIndex: RuleDefinition = {
  id: 'unique-constraint-without-index',
  severity: ALWAYS_ERROR,
  why: 'ADD UNIQUE / PRIMARY KEY / EXCLUDE builds its index while holding an ACCESS EXCLUSIVE lock: no reads or writes until it is done.',
  fix: 'CREATE UNIQUE INDEX CONCURRENTLY first, then ADD CONSTRAINT ... UNIQUE USING INDEX (or PRIMARY KEY USING INDEX); EXCLUDE has no such form: enforce it on a new table or in a maintenance window.',
  check(stmt, ctx) {
    const hits: RuleHit[] = [];
    for (const { rel, cmd } of existingTableCmds(stmt, ctx)) {
      const c = addedConstraint(cmd);
      if (c?.contype === 'CONSTR_EXCLUSION') {
        hits.push({ message: `EXCLUDE constraint on ${rel.relname ?? '?'} builds its index under an ACCESS EXCLUSIVE lock (it has no USING INDEX form)`, location: c.location });
        continue;
      }
      if (!c || (c.contype !== 'CONSTR_UNIQUE' && c.contype !== 'CONSTR_PRIMARY') || c.indexname) continue;
      const kind = c.contype === 'CONSTR_UNIQUE' ? 'UNIQUE' : 'PRIMARY KEY';
      hits.push({ message: `${kind} constraint on ${rel.relname ?? '?'} added without USING INDEX`, location: c.location });
    }
    // PRIMARY KEY on a new column is add-serial-primary-key's finding.
    for (const { rel, col } of addedColumns(stmt, ctx)) {
      const u = columnConstraints(col).find((c) => c.contype === 'CONSTR_UNIQUE');
      if (u) hits.push({ message: `UNIQUE column ${col.colname ?? '?'} added to ${rel.relname ?? '?'} builds its index under lock`, location: u.location });
    }
    return hits;
  },
};
