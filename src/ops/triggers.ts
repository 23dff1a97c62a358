/**
 * The dual-write trigger: one BEFORE INSERT OR UPDATE trigger per (migration,
 * table), covering every sync pair of every operation on that table.
 *
 * For each pair, A (`old`, written by old code) and B (`new`, written by new
 * code) live in the same row. At entry the trigger records, per pair, whether
 * the writer touched the old side and/or the new side — on UPDATE by comparing
 * OLD and NEW, on INSERT by comparing the value with the column's default (a
 * column the writer did not mention holds its default). All flags are taken
 * before any assignment, so one pair's copy never looks like a write to the
 * next pair. Then:
 *
 * - only the old side written → B := up(row)
 * - only the new side written → A := down(row)   (skipped during backfill)
 * - both written → the authoritative side wins; the authority is a constant
 *   baked into the function, and switching regenerates the function
 *   (`CREATE OR REPLACE`) in the flag's transaction
 * - INSERT with neither supplied → derived from the authoritative side.
 *
 * Expressions reference columns by bare name, so the function declares one
 * local variable per referenced column, initialised from NEW (and refreshed
 * after each assignment). `#variable_conflict use_column` resolves a name
 * inside a subquery of an expression to that subquery's column, exactly as
 * SQL scoping does in the backfill's UPDATE. The trigger fires only `UPDATE OF` the
 * involved columns, and the function does no catalog lookup and no dynamic
 * SQL, so an UPDATE of other columns pays nothing and one of these columns a
 * few expression evaluations.
 */
import type { ColumnShape, TableShape } from '../db/catalog.js';
import { quoteIdent, quoteQualified } from '../db/identifiers.js';
import { generatedName } from './common.js';
import type { Authority, SyncPair, TableName } from './operation.js';

/** The GUC the backfill sets (SET LOCAL) so the trigger does not copy its writes back. */
export const BACKFILL_GUC = 'curtain.backfill';

/** SQL and names of one table's dual-write trigger. */
export interface DualWriteTrigger {
  functionName: string;
  triggerName: string;
  /** `CREATE OR REPLACE FUNCTION` with `side` authoritative. */
  functionSql(side: Authority): string;
  createTriggerSql: string;
  dropSql: string;
}

/**
 * Generate the trigger for `pairs` on `table` (shape as it is after expand's DDL).
 *
 * @example
 * const trg = dualWriteTrigger('20240101_split', users, [{ new: 'first_name', up: "split_part(full_name, ' ', 1)", upDeps: ['full_name'], downDeps: [] }]);
 * trg.functionSql('old');
 */
export function dualWriteTrigger(migration: string, table: TableShape, pairs: SyncPair[]): DualWriteTrigger {
  const t: TableName = { schema: table.schema, name: table.name };
  const functionName = generatedName('_curtain_dw', migration, table.name);
  const triggerName = generatedName('_curtain_dw', migration);
  const fn = quoteQualified(t.schema, functionName);
  const qtable = quoteQualified(t.schema, t.name);
  const column = (name: string): ColumnShape | undefined => table.columns.find((c) => c.name === name);

  // Columns expressions read: declared as variables.
  const vars: string[] = [];
  const addVar = (c: string) => {
    if (!vars.includes(c)) vars.push(c);
  };
  for (const p of pairs) {
    p.upDeps.forEach(addVar);
    p.downDeps.forEach(addVar);
    if (p.old && p.up) addVar(p.old);
    if (p.new && p.down) addVar(p.new);
  }
  const watched: string[] = [];
  for (const p of pairs) {
    for (const c of [p.old, p.new, ...p.upDeps, ...p.downDeps]) {
      if (c !== undefined && !watched.includes(c) && !column(c)?.generated) watched.push(c);
    }
  }

  // Pairs that read a column another pair writes run after it (when there is no cycle).
  const ordered = order(pairs);
  const sides = ordered.map((p) => ({
    oldCols: uniq([p.old, ...p.upDeps]).filter((c) => !column(c)?.generated),
    newCols: uniq([p.new, ...p.downDeps]).filter((c) => !column(c)?.generated),
  }));
  // On INSERT, only a representation's own columns tell which side the writer is on: a shared
  // column an expression reads (the primary key, say) is supplied by every writer.
  const representation = new Set(pairs.flatMap((p) => [p.old, p.new]).filter((c): c is string => c !== undefined));
  const own = (cols: string[]) => cols.filter((c) => representation.has(c));
  // Columns the trigger itself may assign: a later pair must see those as changed, but as
  // derived (weaker than what the writer wrote), so a copy never overrides the writer.
  const assigned = uniq(ordered.flatMap((p) => [p.up !== undefined ? p.new : undefined, p.down !== undefined ? p.old : undefined]));
  const derivedVar = (c: string) => `_curtain_d${assigned.indexOf(c)}`;
  const derivedTest = (cols: string[]) => {
    const ds = cols.filter((c) => assigned.includes(c)).map(derivedVar);
    return ds.length === 0 ? undefined : ds.join(' OR ');
  };

  const assign = (col: string, expr: string) =>
    `NEW.${quoteIdent(col)} := (${expr}); ${derivedVar(col)} := true;${vars.includes(col) ? ` ${quoteIdent(col)} := NEW.${quoteIdent(col)};` : ''}`;

  const body = (side: Authority): string => {
    const lines: string[] = [];
    lines.push('#variable_conflict use_column');
    lines.push('DECLARE');
    for (const v of vars) lines.push(`  ${quoteIdent(v)} ${qtable}.${quoteIdent(v)}%TYPE := NEW.${quoteIdent(v)};`);
    ordered.forEach((_, i) => lines.push(`  _curtain_o${i} boolean; _curtain_n${i} boolean;`));
    assigned.forEach((c) => lines.push(`  ${derivedVar(c)} boolean := false;`));
    lines.push('BEGIN');
    // What the writer did, taken before any assignment.
    lines.push("  IF TG_OP = 'INSERT' THEN");
    sides.forEach((s, i) => {
      const o = suppliedTest(own(s.oldCols), column);
      const n = suppliedTest(own(s.newCols), column);
      // A side whose columns all have unpredictable defaults counts as supplied unless the other side is.
      lines.push(`    _curtain_n${i} := ${n ?? 'false'};`);
      lines.push(`    _curtain_o${i} := ${o ?? `NOT _curtain_n${i}`};`);
    });
    lines.push('  ELSE');
    sides.forEach((s, i) => {
      lines.push(`    _curtain_o${i} := ${changedTest(s.oldCols)};`);
      lines.push(`    _curtain_n${i} := ${changedTest(s.newCols)};`);
    });
    lines.push('  END IF;');
    ordered.forEach((p, i) => {
      const o = `_curtain_o${i}`;
      const n = `_curtain_n${i}`;
      const up = p.new !== undefined && p.up !== undefined ? assign(p.new, p.up) : 'NULL;';
      const down = p.old !== undefined && p.down !== undefined ? assign(p.old, p.down) : 'NULL;';
      const winner = side === 'old' ? up : down;
      const od = derivedTest(sides[i]!.oldCols);
      const nd = derivedTest(sides[i]!.newCols);
      lines.push(`  -- ${describe(p)}`);
      lines.push(`  IF ${o} AND NOT ${n} THEN ${up}`);
      // The backfill writes the new side; copying it back could change the old side (lossy down).
      lines.push(`  ELSIF ${n} AND NOT ${o} THEN IF current_setting('${BACKFILL_GUC}', true) IS DISTINCT FROM 'on' THEN ${down} END IF;`);
      lines.push(`  ELSIF ${o} THEN ${winner}`);
      if (od !== undefined && nd !== undefined) {
        lines.push(`  ELSIF (${od}) AND NOT (${nd}) THEN ${up}`);
        lines.push(`  ELSIF (${nd}) AND NOT (${od}) THEN ${down}`);
        lines.push(`  ELSIF ${od} THEN ${winner}`);
      } else if (od !== undefined) {
        lines.push(`  ELSIF ${od} THEN ${up}`);
      } else if (nd !== undefined) {
        lines.push(`  ELSIF ${nd} THEN ${down}`);
      }
      if (side === 'old') {
        lines.push(`  ELSIF TG_OP = 'INSERT' THEN ${up}`);
      } else if (p.new !== undefined) {
        lines.push(`  ELSIF TG_OP = 'INSERT' THEN IF NEW.${quoteIdent(p.new)} IS NOT NULL THEN ${down} ELSE ${up} END IF;`);
      } else {
        lines.push(`  ELSIF TG_OP = 'INSERT' THEN ${down}`);
      }
      lines.push('  END IF;');
    });
    lines.push('  RETURN NEW;');
    lines.push('END');
    return lines.join('\n');
  };

  return {
    functionName,
    triggerName,
    functionSql: (side) => {
      const text = body(side);
      // A dollar-quote tag that user expressions cannot close early.
      let tag = '$curtain$';
      for (let i = 1; text.includes(tag); i++) tag = `$curtain${i}$`;
      return `CREATE OR REPLACE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS ${tag}\n${text}\n${tag}`;
    },
    createTriggerSql:
      `CREATE TRIGGER ${quoteIdent(triggerName)} BEFORE INSERT OR UPDATE OF ${watched.map(quoteIdent).join(', ')} ON ${qtable}` +
      // The backfill writes B = up(A) itself and the function would do nothing for it: the WHEN clause, evaluated
      // without entering PL/pgSQL, saves a function call per backfilled row (about a third of the backfill's time).
      ` FOR EACH ROW WHEN (current_setting('${BACKFILL_GUC}', true) IS DISTINCT FROM 'on') EXECUTE FUNCTION ${fn}();\n` +
      // Writers running as replica (logical replication apply, tools that skip triggers that way) are dual-written too.
      `ALTER TABLE ${qtable} ENABLE ALWAYS TRIGGER ${quoteIdent(triggerName)}`,
    dropSql: `DROP TRIGGER IF EXISTS ${quoteIdent(triggerName)} ON ${qtable};\nDROP FUNCTION IF EXISTS ${fn}()`,
  };
}

/** Stable order where a pair comes after the pairs assigning columns it reads; cycles keep the given order. */
function order(pairs: SyncPair[]): SyncPair[] {
  const writes = (p: SyncPair) => [p.up !== undefined ? p.new : undefined, p.down !== undefined ? p.old : undefined].filter((c): c is string => c !== undefined);
  const reads = (p: SyncPair) => [p.old, p.new, ...p.upDeps, ...p.downDeps].filter((c): c is string => c !== undefined);
  const left = [...pairs];
  const out: SyncPair[] = [];
  while (left.length > 0) {
    const ready = left.findIndex((p) => !left.some((q) => q !== p && writes(q).some((c) => reads(p).includes(c) && !writes(p).includes(c))));
    out.push(...left.splice(ready === -1 ? 0 : ready, 1));
  }
  return out;
}

function uniq(xs: (string | undefined)[]): string[] {
  const out: string[] = [];
  for (const x of xs) if (x !== undefined && !out.includes(x)) out.push(x);
  return out;
}

function changedTest(cols: string[]): string {
  if (cols.length === 0) return 'false';
  return cols.map((c) => `NEW.${quoteIdent(c)} IS DISTINCT FROM OLD.${quoteIdent(c)}`).join(' OR ');
}

/**
 * "The writer supplied this side": some column differs from what it would
 * hold if the INSERT had not mentioned it (its default, else NULL). Columns
 * whose default cannot be re-evaluated (volatile, identity) tell nothing;
 * `undefined` when no column of the side can tell.
 */
function suppliedTest(cols: string[], column: (n: string) => ColumnShape | undefined): string | undefined {
  const tests: string[] = [];
  for (const c of cols) {
    const shape = column(c);
    if (shape?.identity || shape?.defaultVolatile) continue;
    tests.push(`NEW.${quoteIdent(c)} IS DISTINCT FROM ${shape?.default === undefined ? 'NULL' : `(${shape.default})`}`);
  }
  return tests.length === 0 ? undefined : tests.join(' OR ');
}

function describe(p: SyncPair): string {
  const parts: string[] = [];
  if (p.new && p.up) parts.push(`${p.new} := up`);
  if (p.old && p.down) parts.push(`${p.old} := down`);
  return (parts.join(', ') || 'sync').replace(/\n/g, ' ');
}
