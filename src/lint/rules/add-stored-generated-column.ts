import { columnConstraints } from '../ast.js';
import type { RuleDefinition, RuleHit } from '../types.js';
import { addedColumns } from './helpers.js';
import { ALWAYS_ERROR } from './severity.js';

export const addStoredGeneratedColumn: RuleDefinition = {
  id: 'add-stored-generated-column',
  severity: ALWAYS_ERROR,
  why: 'A STORED generated column is computed for every existing row: a full table rewrite under an ACCESS EXCLUSIVE lock.',
  fix: 'Add a plain nullable column kept in sync by a trigger and backfilled in batches (op.addColumn with `up`).',
  check(stmt, ctx) {
    const hits: RuleHit[] = [];
    for (const { rel, col } of addedColumns(stmt, ctx)) {
      const gen = columnConstraints(col).find((c) => c.contype === 'CONSTR_GENERATED');
      if (gen) {
        hits.push({
          message: `generated column ${col.colname ?? '?'} added to ${rel.relname ?? '?'} rewrites the table`,
          location: gen.location ?? col.location,
        });
      }
    }
    return hits;
  },
};
