/**
 * When a column is replaced by another (renameColumn, alterColumn with a
 * shadow), dropping the old one in contract would drop its indexes and unique
 * constraints too. We rebuild each on the new column CONCURRENTLY after the
 * backfill and, in contract, give it the original name back. Objects we
 * cannot rebuild faithfully are refused up front with their names.
 */
import { quoteIdent, quoteQualified } from '../db/identifiers.js';
import type { TableShape } from '../db/catalog.js';
import { OperationError } from './errors.js';
import { generatedName, qt, step } from './common.js';
import type { PlanContext, Step } from './operation.js';

/** Steps rebuilding `from`'s indexes on `to`. */
export interface RebuiltIndexes {
  afterBackfill: Step[];
  /** Run after the old column was dropped. */
  contractAfter: Step[];
  abort: Step[];
}

/** Refuse what cannot move from `column` to a new column; return the index rebuilds. */
export function rebuildIndexes(ctx: PlanContext, label: string, table: TableShape, from: string, to: string): RebuiltIndexes {
  const t = { schema: table.schema, name: table.name };
  const out: RebuiltIndexes = { afterBackfill: [], contractAfter: [], abort: [] };
  if (table.primaryKey.includes(from)) {
    throw new OperationError(label, `column "${from}" is part of the primary key of ${table.schema}.${table.name}; curtain cannot replace a primary-key column online`, 'add a new table or key with createTable/addColumn instead');
  }
  for (const k of table.constraints) {
    if (!k.columns.includes(from)) continue;
    if (k.type === 'check' || k.type === 'foreign key' || k.type === 'exclusion') {
      throw new OperationError(label, `column "${from}" is used by ${k.type} constraint ${k.name} (${k.definition}), which curtain cannot move to the new column yet`, 'drop the constraint first (op.sql), then re-add it with the column options');
    }
  }
  for (const k of table.referencedBy) {
    if (k.columns.includes(from)) {
      throw new OperationError(label, `column "${from}" is referenced by foreign key ${k.name} of ${k.references}; curtain cannot move it`);
    }
  }
  for (const i of table.indexes) {
    if (!i.uses.includes(from) && !i.columns.includes(from)) continue;
    if (!i.simple) {
      throw new OperationError(label, `column "${from}" is used by index ${i.name} (${i.definition}), which curtain cannot rebuild on the new column (only plain btree indexes)`);
    }
    if (!i.columns.includes(from)) continue;
    const tmp = generatedName('_curtain_ix', ctx.migration, i.name);
    const cols = i.columns.map((c) => quoteIdent(c === from ? to : (c as string))).join(', ');
    const q = quoteQualified(t.schema, tmp);
    out.afterBackfill.push(
      step(
        `rebuild index ${i.name} on ${to} concurrently`,
        `CREATE ${i.unique ? 'UNIQUE ' : ''}INDEX CONCURRENTLY ${quoteIdent(tmp)} ON ${qt(t)} (${cols})`,
        'SHARE UPDATE EXCLUSIVE',
        false,
        `DROP INDEX CONCURRENTLY IF EXISTS ${q}`,
      ),
    );
    out.abort.push(step(`drop rebuilt index ${tmp}`, `DROP INDEX CONCURRENTLY IF EXISTS ${q}`, 'SHARE UPDATE EXCLUSIVE', false));
    out.contractAfter.push(
      i.constraint
        ? step(`attach ${i.constraint} to the rebuilt index`, `ALTER TABLE ${qt(t)} ADD CONSTRAINT ${quoteIdent(i.constraint)} UNIQUE USING INDEX ${quoteIdent(tmp)}`, 'ACCESS EXCLUSIVE')
        : step(`give the rebuilt index its name ${i.name}`, `ALTER INDEX ${q} RENAME TO ${quoteIdent(i.name)}`, 'ACCESS EXCLUSIVE'),
    );
  }
  return out;
}
