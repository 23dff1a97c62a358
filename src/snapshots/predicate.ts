import { parse } from 'libpg-query';
import { quoteIdent } from '../db/identifiers.js';
import type { Queryable } from '../db/queryable.js';
import { CurtainError, UsageError } from '../errors.js';

/**
 * The `--where` predicate of a row-granular restore.
 *
 * It is SQL the operator writes over the table's columns (`status =
 * 'refunded' AND updated_at >= '2026-11-30 10:00'`), evaluated both on the
 * snapshot's copy and on the live table, each under the table's own name as
 * alias (so `orders.status` works too). Before anything changes it must be
 * one boolean expression (no `;` smuggling a second statement: checked with
 * PostgreSQL's own parser) that PostgreSQL accepts on both relations
 * (checked with EXPLAIN: names, types, functions), or the restore stops with
 * PostgreSQL's message.
 */

/**
 * Check the predicate's shape without a database.
 *
 * @example
 * await checkPredicateShape("status = 'refunded'"); // ok
 * await checkPredicateShape("true; DROP TABLE orders"); // throws UsageError
 */
export async function checkPredicateShape(predicate: string): Promise<string> {
  const p = predicate.trim();
  if (p === '') throw new UsageError('--where is empty', `give a condition on the table's columns, e.g. --where "status = 'refunded'"`);
  let stmts: unknown[] = [];
  try {
    stmts = ((await parse(`SELECT 1 FROM t WHERE (${p})`)) as { stmts?: unknown[] }).stmts ?? [];
  } catch (err) {
    throw new UsageError(`--where is not a valid SQL condition: ${(err as Error).message}`, `e.g. --where "status = 'refunded' AND id > 100"`);
  }
  if (stmts.length !== 1) throw new UsageError('--where must be one condition, not several statements', `e.g. --where "status = 'refunded'"`);
  return p;
}

/**
 * Ask PostgreSQL to plan the predicate against each relation (live table
 * and snapshot copy), aliased as `alias`. Nothing runs; errors name the side.
 *
 * @example
 * await checkPredicateOn(tx, "status = 'refunded'", [{ relation: '"public"."orders"', alias: 'orders', what: 'public.orders now' }]);
 */
export async function checkPredicateOn(
  tx: Queryable,
  predicate: string,
  relations: { relation: string; alias: string; what: string }[],
): Promise<void> {
  for (const r of relations) {
    try {
      // A savepoint, so a rejected predicate leaves the transaction usable for the error path.
      await tx.query('SAVEPOINT curtain_where');
      await tx.query(`EXPLAIN SELECT 1 FROM ${r.relation} AS ${quoteIdent(r.alias)} WHERE (${predicate})`);
      await tx.query('RELEASE SAVEPOINT curtain_where');
    } catch (err) {
      await tx.query('ROLLBACK TO SAVEPOINT curtain_where').catch(() => {});
      throw new CurtainError(`--where does not work on ${r.what}: ${(err as Error).message}`, {
        hint: 'write the condition over the table\'s columns as they are both in the snapshot and now; nothing was changed',
        exitCode: 2,
        cause: err,
      });
    }
  }
}
