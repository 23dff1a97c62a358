import { columnConstraints, walk } from '../ast.js';
import type { RuleDefinition, RuleHit } from '../types.js';
import { addedColumns } from './helpers.js';
import { ALWAYS_ERROR } from './severity.js';

/**
 * Built-in (and common extension) functions marked VOLATILE. now(),
 * CURRENT_TIMESTAMP and other STABLE defaults are evaluated once and stored
 * in the catalog since PostgreSQL 11, so they are fine.
 */
export const VOLATILE_FUNCTIONS: ReadonlySet<string> = new Set([
  'random',
  'random_normal',
  'setseed',
  'clock_timestamp',
  'timeofday',
  'gen_random_uuid',
  'uuidv4',
  'uuidv7',
  'uuid_generate_v1',
  'uuid_generate_v1mc',
  'uuid_generate_v4',
  'gen_random_bytes',
  'nextval',
  'currval',
  'lastval',
  'setval',
  'txid_current',
  'pg_current_xact_id',
]);

export const addColumnVolatileDefault: RuleDefinition = {
  id: 'add-column-volatile-default',
  severity: ALWAYS_ERROR,
  why: 'A volatile default is computed per row, so ADD COLUMN rewrites the whole table under an ACCESS EXCLUSIVE lock.',
  fix: 'Add the column without a default (or with a constant one), backfill in batches (op.addColumn with `up`), then SET DEFAULT for new rows.',
  check(stmt, ctx) {
    const hits: RuleHit[] = [];
    for (const { rel, col } of addedColumns(stmt, ctx)) {
      for (const c of columnConstraints(col)) {
        if (c.contype !== 'CONSTR_DEFAULT') continue;
        walk(c.raw_expr, (kind, body) => {
          if (kind !== 'FuncCall') return;
          const parts = (body.funcname as Array<{ String?: { sval?: string } }> | undefined) ?? [];
          const name = (parts[parts.length - 1]?.String?.sval ?? '').toLowerCase();
          if (!VOLATILE_FUNCTIONS.has(name)) return;
          hits.push({
            message: `column ${col.colname ?? '?'} added to ${rel.relname ?? '?'} with volatile default ${name}() rewrites the table`,
            location: typeof body.location === 'number' ? body.location : c.location,
          });
        });
      }
    }
    return hits;
  },
};
