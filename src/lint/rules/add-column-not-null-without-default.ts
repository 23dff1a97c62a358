import { columnConstraints } from '../ast.js';
import type { RuleDefinition, RuleHit } from '../types.js';
import { addedColumns, isSerialType } from './helpers.js';
import { ALWAYS_ERROR } from './severity.js';

export const addColumnNotNullWithoutDefault: RuleDefinition = {
  id: 'add-column-not-null-without-default',
  severity: ALWAYS_ERROR,
  why: 'ADD COLUMN ... NOT NULL without a default fails on any table that has rows, and old code inserting without the column breaks.',
  fix: 'Add the column nullable (or with a constant DEFAULT), backfill, add CHECK (col IS NOT NULL) NOT VALID, VALIDATE it, then SET NOT NULL (op.addColumn does this).',
  check(stmt, ctx) {
    const hits: RuleHit[] = [];
    for (const { rel, col } of addedColumns(stmt, ctx)) {
      const cons = columnConstraints(col);
      const notNull = cons.find((c) => c.contype === 'CONSTR_NOTNULL');
      if (!notNull || isSerialType(col)) continue;
      // Identity and generated columns fill themselves; DEFAULT NULL is no default at all.
      const fills = cons.some(
        (c) =>
          c.contype === 'CONSTR_IDENTITY' ||
          c.contype === 'CONSTR_GENERATED' ||
          (c.contype === 'CONSTR_DEFAULT' && !(c.raw_expr && 'A_Const' in c.raw_expr && c.raw_expr.A_Const.isnull)),
      );
      if (fills) continue;
      hits.push({
        message: `column ${col.colname ?? '?'} added to ${rel.relname ?? '?'} as NOT NULL without a default`,
        location: notNull.location ?? col.location,
      });
    }
    return hits;
  },
};
