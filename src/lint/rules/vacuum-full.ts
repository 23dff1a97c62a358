import type { RuleDefinition } from '../types.js';
import { ALWAYS_ERROR } from './severity.js';

export const vacuumFull: RuleDefinition = {
  id: 'vacuum-full',
  severity: ALWAYS_ERROR,
  why: 'VACUUM FULL rewrites the table under an ACCESS EXCLUSIVE lock: no reads or writes for the whole copy.',
  fix: 'Plain VACUUM (no lock on reads/writes), or an online repack (pg_repack / pg_squeeze) outside the migration.',
  check(stmt) {
    if (!('VacuumStmt' in stmt) || !stmt.VacuumStmt.is_vacuumcmd) return [];
    const full = (stmt.VacuumStmt.options ?? []).find((o) => 'DefElem' in o && o.DefElem.defname === 'full');
    if (!full || !('DefElem' in full)) return [];
    // VACUUM (FULL false) / (FULL off) / (FULL 0) is a plain vacuum.
    const arg = full.DefElem.arg;
    if (arg && 'String' in arg && /^(false|off|no|0)$/i.test(arg.String.sval ?? '')) return [];
    if (arg && 'Integer' in arg && !arg.Integer.ival) return [];
    if (arg && 'Boolean' in arg && !arg.Boolean.boolval) return [];
    return [{ message: 'VACUUM FULL locks the table for a full rewrite', location: full.DefElem.location }];
  },
};
