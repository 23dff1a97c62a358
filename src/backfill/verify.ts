import { quoteQualified } from '../db/identifiers.js';
import type { Queryable } from '../db/queryable.js';
import type { BackfillTask } from '../ops/operation.js';

/** What verification found. */
export interface VerifyResult {
  table: string;
  /** Rows where the new side differs from up(old side); expand must fail if > 0. */
  outOfSync: number;
  /** Per leaf partition holding such rows (`schema.partition`), for a partitioned table. */
  partitions?: { partition: string; outOfSync: number }[];
}

/**
 * Count rows whose new side is out of sync with the old one. Over a
 * partitioned table the count covers every partition (those created or
 * attached since the backfill too), and names the partitions that hold them.
 *
 * @example
 * const { outOfSync } = await verifyBackfill(pool, plan.backfill[0]);
 * if (outOfSync > 0) throw new Error('backfill incomplete');
 */
export async function verifyBackfill(q: Queryable, task: BackfillTask, predicate = task.outOfSync): Promise<VerifyResult> {
  const t = quoteQualified(task.table.schema, task.table.name);
  // tableoid names the leaf partition a row lives in (the table itself when not partitioned).
  const { rows } = await q.query<{ part: string; n: string }>(
    `SELECT format('%s.%s', n.nspname, c.relname) AS part, x.n
       FROM (SELECT tableoid, count(*)::bigint AS n FROM ${t} WHERE (${predicate}) GROUP BY tableoid) x
       JOIN pg_class c ON c.oid = x.tableoid JOIN pg_namespace n ON n.oid = c.relnamespace ORDER BY 1`,
  );
  const table = `${task.table.schema}.${task.table.name}`;
  const outOfSync = rows.reduce((s, r) => s + Number(r.n), 0);
  const partitions = rows.filter((r) => r.part !== table).map((r) => ({ partition: r.part, outOfSync: Number(r.n) }));
  return { table, outOfSync, ...(partitions.length > 0 ? { partitions } : {}) };
}

/**
 * `1200 in shop.payment_2024, 3 in shop.payment_old` (or just the count): where the rows are.
 *
 * @example
 * describeOutOfSync(await verifyBackfill(pool, task))
 */
export function describeOutOfSync(r: VerifyResult): string {
  if (!r.partitions) return `${r.outOfSync} in ${r.table}`;
  return `${r.partitions.map((p) => `${p.outOfSync} in partition ${p.partition}`).join(', ')} of ${r.table}`;
}
