import { quoteQualified } from '../db/identifiers.js';
import type { Queryable } from '../db/queryable.js';
import type { BackfillTask } from '../ops/operation.js';

/** What verification found. */
export interface VerifyResult {
  table: string;
  /** Rows where the new side differs from up(old side); expand must fail if > 0. */
  outOfSync: number;
}

/**
 * Count rows whose new side is out of sync with the old one.
 *
 * @example
 * const { outOfSync } = await verifyBackfill(pool, plan.backfill[0]);
 * if (outOfSync > 0) throw new Error('backfill incomplete');
 */
export async function verifyBackfill(q: Queryable, task: BackfillTask): Promise<VerifyResult> {
  const t = quoteQualified(task.table.schema, task.table.name);
  const { rows } = await q.query(`SELECT count(*)::bigint AS n FROM ${t} WHERE (${task.outOfSync})`);
  return { table: `${task.table.schema}.${task.table.name}`, outOfSync: Number(rows[0].n) };
}
