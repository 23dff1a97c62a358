/**
 * When a column is replaced by another (renameColumn, alterColumn with a
 * shadow), dropping the old one in contract would drop what is built on it.
 * Everything that can be is rebuilt on the new column after the backfill and
 * swapped in at contract under its original name:
 *
 * - indexes (plain, expression, partial, unique): CREATE INDEX CONCURRENTLY,
 *   renamed (or attached as the unique constraint) after the drop;
 * - CHECK constraints and foreign keys from this table: added NOT VALID,
 *   VALIDATEd at contract (a scan under SHARE UPDATE EXCLUSIVE), renamed;
 * - foreign keys of other tables referencing the column: added NOT VALID on
 *   the new column once its unique index exists, validated, and the old one
 *   dropped in the transaction that drops the old column, so a reference is
 *   enforced by one of them at every moment.
 *
 * Expression and CHECK definitions are rewritten by PostgreSQL at plan time
 * (db/rewrite.ts). What cannot move (a primary-key column, an exclusion
 * constraint) is refused up front with its name.
 */
import { quoteIdent, quoteQualified } from '../db/identifiers.js';
import type { TableShape } from '../db/catalog.js';
import { OperationError } from './errors.js';
import { generatedName, qt, step, validateStep } from './common.js';
import { foreignKeySteps } from './partitioned-fk.js';
import { partitionedIndex } from './partitioned-index.js';
import type { PlanContext, Step } from './operation.js';

/** Steps rebuilding what is built on `from` on `to`. */
export interface RebuiltIndexes {
  afterBackfill: Step[];
  /** VALIDATE scans (own transactions) and drops of other tables' old foreign keys, before the old column goes. */
  contractBefore: Step[];
  /** Run after the old column was dropped. */
  contractAfter: Step[];
  abort: Step[];
  /** Columns of other tables whose foreign keys move: they read the column in flight. */
  reads: string[];
}

/**
 * The key of a column's rewritten definitions in the catalog.
 *
 * @example
 * rewriteKey({ schema: 'public', name: 'users' }, 'email', 'email_address') // 'public.users:email->email_address'
 */
export function rewriteKey(t: { schema: string; name: string }, from: string, to: string): string {
  return `${t.schema}.${t.name}:${from}->${to}`;
}

/** Refuse what cannot move from `column` to a new column; return the rebuild steps. */
export function rebuildIndexes(ctx: PlanContext, label: string, table: TableShape, from: string, to: string): RebuiltIndexes {
  const t = { schema: table.schema, name: table.name };
  const out: RebuiltIndexes = { afterBackfill: [], contractBefore: [], contractAfter: [], abort: [], reads: [] };
  const rewrites = ctx.catalog.rewrites?.get(rewriteKey(t, from, to));
  const rewritten = (key: string, what: string): string => {
    const r = rewrites?.get(key);
    if (r === undefined) {
      throw new OperationError(label, `column "${from}" is used by ${what}, which can only be moved to the new column when planned against the database`);
    }
    if (r instanceof Error) throw new OperationError(label, `column "${from}" is used by ${what}, which does not fit the new column: ${r.message}`);
    return r;
  };
  if (table.primaryKey.includes(from)) {
    throw new OperationError(label, `column "${from}" is part of the primary key of ${table.schema}.${table.name}; curtain cannot replace a primary-key column online`, 'add a new table or key with createTable/addColumn instead');
  }
  const taken = new Set(table.constraints.map((k) => k.name));
  const tmpName = (base: string) => generatedName('_curtain_k', ctx.migration, base);
  for (const k of table.constraints) {
    if (!k.columns.includes(from)) continue;
    if (k.type === 'exclusion') {
      throw new OperationError(
        label,
        `column "${from}" is used by exclusion constraint ${k.name} (${k.definition}); PostgreSQL cannot build an exclusion constraint without blocking writes for the whole build, so curtain does not move it`,
        'drop the constraint first (op.sql), and add it back on the new column in a maintenance window',
      );
    }
    if (k.type === 'check') {
      const def = rewritten(`check:${k.name}`, `check constraint ${k.name} (${k.definition})`);
      moveConstraint(k.name, qt(t), `${def}`, 'ACCESS EXCLUSIVE');
    } else if (k.type === 'foreign key') {
      const cols = k.columns.map((c) => quoteIdent(c === from ? to : c)).join(', ');
      const rest = k.definition.slice(k.definition.indexOf(' REFERENCES '));
      const definition = `FOREIGN KEY (${cols})${rest.replace(/ NOT VALID$/, '')}`;
      if (table.kind === 'p') movePartitionedForeignKey(k.name, definition);
      else moveConstraint(k.name, qt(t), definition, 'SHARE ROW EXCLUSIVE');
    }
  }
  const indexSteps: Step[] = [];
  for (const i of table.indexes) {
    if (!i.uses.includes(from) && !i.columns.includes(from)) continue;
    const tmp = generatedName('_curtain_ix', ctx.migration, i.name);
    const q = quoteQualified(t.schema, tmp);
    let body: string;
    if (i.simple) {
      body = `(${i.columns.map((c) => quoteIdent(c === from ? to : (c as string))).join(', ')})`;
    } else if (i.constraint) {
      // Exclusion constraints were refused above; a unique constraint's index with INCLUDE or DESC lands here.
      throw new OperationError(label, `column "${from}" is used by index ${i.name} of constraint ${i.constraint} (${i.definition}), which curtain cannot re-attach to a rebuilt index`);
    } else {
      body = rewritten(`index:${i.name}`, `index ${i.name} (${i.definition})`);
    }
    if (table.kind === 'p') {
      // No CONCURRENTLY on a partitioned table: ON ONLY the parent, each partition's concurrently, attached.
      if (i.constraint) {
        throw new OperationError(label, `column "${from}" is used by ${i.constraint} of partitioned table ${t.schema}.${t.name}; PostgreSQL cannot attach a unique constraint to an existing index of a partitioned table`, 'drop the constraint first (op.sql), and add it back on the new column');
      }
      const parted = partitionedIndex(label, table, tmp, body.replace(/^ONLY /, ''), { unique: i.unique, columns: i.columns.map((c) => (c === from ? to : (c as string))) });
      indexSteps.push(...parted.expand);
      out.abort.push(...parted.abort);
      out.contractAfter.push(step(`give the rebuilt index its name ${i.name}`, `ALTER INDEX ${q} RENAME TO ${quoteIdent(i.name)}`, 'ACCESS EXCLUSIVE'));
      continue;
    }
    indexSteps.push(
      step(
        `rebuild index ${i.name} on ${to} concurrently`,
        `CREATE ${i.unique ? 'UNIQUE ' : ''}INDEX CONCURRENTLY ${quoteIdent(tmp)} ON ${qt(t)} ${body}`,
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
  // Indexes first: a moved foreign key of another table needs the rebuilt unique index.
  out.afterBackfill.unshift(...indexSteps);
  for (const k of table.referencedBy) {
    if (!k.columns.includes(from)) continue;
    const other = k.references!;
    const head = k.definition.slice(0, k.definition.indexOf(' REFERENCES '));
    const afterRef = k.definition.slice(k.definition.indexOf(' REFERENCES ') + ' REFERENCES '.length);
    const rest = afterRef.slice(afterRef.indexOf(')') + 1).replace(/ NOT VALID$/, '');
    const cols = k.columns.map((c) => quoteIdent(c === from ? to : c)).join(', ');
    const tmp = tmpName(k.name);
    out.afterBackfill.push(
      step(
        `add foreign key ${k.name} of ${other} on ${to} (not valid)`,
        `ALTER TABLE ${other} ADD CONSTRAINT ${quoteIdent(tmp)} ${head} REFERENCES ${qt(t)} (${cols})${rest} NOT VALID`,
        'SHARE ROW EXCLUSIVE',
      ),
    );
    out.contractBefore.push(
      validateStep(`validate foreign key ${k.name} of ${other} on ${to}`, other, tmp),
      step(`drop the old foreign key ${k.name} of ${other}`, `ALTER TABLE ${other} DROP CONSTRAINT ${quoteIdent(k.name)}`, 'SHARE ROW EXCLUSIVE'),
    );
    out.contractAfter.push(step(`give foreign key ${k.name} of ${other} its name back`, `ALTER TABLE ${other} RENAME CONSTRAINT ${quoteIdent(tmp)} TO ${quoteIdent(k.name)}`, 'ACCESS EXCLUSIVE'));
    out.abort.unshift(step(`drop foreign key ${tmp} of ${other}`, `ALTER TABLE ${other} DROP CONSTRAINT IF EXISTS ${quoteIdent(tmp)}`, 'SHARE ROW EXCLUSIVE'));
    out.reads.push(`${other}.*`);
  }
  return out;

  /** A foreign key of a partitioned table: NOT VALID per partition, VALIDATEd, then attached on the parent (see partitioned-fk.ts). */
  function movePartitionedForeignKey(name: string, definition: string): void {
    let tmp = tmpName(name);
    for (let n = 1; taken.has(tmp); n++) tmp = tmpName(`${name}_${n}`);
    taken.add(tmp);
    const fk = foreignKeySteps(table, tmp, definition);
    out.afterBackfill.push(...fk.add);
    out.contractBefore.push(...fk.validate, ...fk.attach);
    out.contractAfter.push(step(`give foreign key ${name} its name back`, `ALTER TABLE ${qt(t)} RENAME CONSTRAINT ${quoteIdent(tmp)} TO ${quoteIdent(name)}`, 'ACCESS EXCLUSIVE'));
    out.abort.push(...fk.abort);
  }

  function moveConstraint(name: string, on: string, definition: string, lock: 'ACCESS EXCLUSIVE' | 'SHARE ROW EXCLUSIVE'): void {
    let tmp = tmpName(name);
    for (let n = 1; taken.has(tmp); n++) tmp = tmpName(`${name}_${n}`);
    taken.add(tmp);
    // After the backfill: a NOT VALID constraint still checks every later write of a row, and rows not yet
    // backfilled hold NULL in the new column.
    out.afterBackfill.push(step(`rebuild constraint ${name} on ${to} (not valid)`, `ALTER TABLE ${on} ADD CONSTRAINT ${quoteIdent(tmp)} ${definition} NOT VALID`, lock));
    out.contractBefore.push(validateStep(`validate rebuilt constraint ${name}`, on, tmp));
    out.contractAfter.push(step(`give constraint ${name} its name back`, `ALTER TABLE ${on} RENAME CONSTRAINT ${quoteIdent(tmp)} TO ${quoteIdent(name)}`, 'ACCESS EXCLUSIVE'));
    out.abort.push(step(`drop rebuilt constraint ${tmp}`, `ALTER TABLE ${on} DROP CONSTRAINT IF EXISTS ${quoteIdent(tmp)}`, lock));
  }
}
