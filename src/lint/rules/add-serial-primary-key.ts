import { columnConstraints } from '../ast.js';
import type { RuleDefinition, RuleHit } from '../types.js';
import { addedColumns, isSerialType } from './helpers.js';
import { ALWAYS_ERROR } from './severity.js';

export const addSerialPrimaryKey: RuleDefinition = {
  id: 'add-serial-primary-key',
  severity: ALWAYS_ERROR,
  why: 'Adding a serial/identity or PRIMARY KEY column to an existing table fills every row and builds the index under an ACCESS EXCLUSIVE lock.',
  fix: 'Add a nullable bigint column, backfill it in batches from a sequence, CREATE UNIQUE INDEX CONCURRENTLY, make it NOT NULL via a validated CHECK, then ADD PRIMARY KEY USING INDEX.',
  check(stmt, ctx) {
    const hits: RuleHit[] = [];
    for (const { rel, col } of addedColumns(stmt, ctx)) {
      const cons = columnConstraints(col);
      const identity = cons.find((c) => c.contype === 'CONSTR_IDENTITY');
      const pk = cons.find((c) => c.contype === 'CONSTR_PRIMARY');
      const what = isSerialType(col) ? 'serial' : identity ? 'identity' : pk ? 'PRIMARY KEY' : undefined;
      if (!what) continue;
      hits.push({
        message: `${what} column ${col.colname ?? '?'} added to existing table ${rel.relname ?? '?'}`,
        location: col.location,
      });
    }
    return hits;
  },
};
