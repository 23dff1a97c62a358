/**
 * A partitioned table is backfilled partition by partition: each leaf
 * partition is walked on its own key (or ctid pages), with a checkpoint row of
 * its own (`table_name` = the partition), so a killed backfill resumes at the
 * partition and key where it stopped, and a partition attached later is seen
 * as one with no checkpoint. Updating a partition directly fires the same
 * triggers as updating through the parent: PostgreSQL clones row triggers
 * (curtain's dual-write trigger, with its `ENABLE ALWAYS`, and the user's) onto
 * every partition, including partitions created or attached later.
 */
import { quoteIdent, quoteQualified } from '../db/identifiers.js';
import type { Queryable } from '../db/queryable.js';
import { CurtainError } from '../errors.js';
import type { BackfillTask, TableName } from '../ops/operation.js';
import { BACKFILL_GUC } from '../ops/triggers.js';

/**
 * The tables a backfill walks: the leaf partitions of a partitioned table (in
 * name order), or the table itself. A foreign-table partition cannot be
 * walked and is refused, naming it.
 *
 * @example
 * await backfillLeaves(pool, { schema: 'shop', name: 'payment' })
 * // [{ schema: 'shop', name: 'payment_2024' }, { schema: 'shop', name: 'payment_2025' }]
 */
export async function backfillLeaves(q: Queryable, table: TableName): Promise<TableName[]> {
  // pg_partition_tree lists nothing for a table that is not partitioned.
  const { rows } = await q.query<{ schema: string; name: string; relkind: string }>(
    `SELECT n.nspname AS schema, c.relname AS name, c.relkind::text AS relkind
       FROM pg_partition_tree($1::regclass) t JOIN pg_class c ON c.oid = t.relid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE t.isleaf AND c.relkind <> 'p'
      ORDER BY n.nspname, c.relname`,
    [quoteQualified(table.schema, table.name)],
  );
  const partitioned = await q.query<{ p: boolean }>(`SELECT relkind = 'p' AS p FROM pg_class WHERE oid = $1::regclass`, [quoteQualified(table.schema, table.name)]);
  if (!partitioned.rows[0]?.p) return [table];
  const foreign = rows.filter((r) => r.relkind === 'f');
  if (foreign.length > 0) {
    throw new CurtainError(`cannot backfill ${table.schema}.${table.name}: partition ${foreign.map((r) => `${r.schema}.${r.name}`).join(', ')} is a foreign table`, {
      hint: 'backfill the foreign partition on its own server, or detach it for the migration',
    });
  }
  return rows.map((r) => ({ schema: r.schema, name: r.name }));
}

/** The task, aimed at one partition (its expressions name columns only, so they fit every partition). */
export function onPartition(task: BackfillTask, partition: TableName): BackfillTask {
  return { ...task, table: partition };
}

/** A partition whose rows no backfill of the migration has walked, and how many of them are out of sync. */
export interface UncoveredPartition {
  /** `schema.partition` */
  partition: string;
  /** `schema.table`: the partitioned table it belongs to. */
  table: string;
  outOfSync: number;
  /** The statement that fills it (in one transaction that tells the dual-write trigger it is a backfill). */
  fill: string;
}

/**
 * Leaf partitions of the tasks' partitioned tables that have no finished
 * checkpoint of `migration` (created or attached after its backfill passed)
 * and hold rows out of sync. A partition created with `PARTITION OF` after
 * expand has its rows written through the dual-write trigger, so it is in
 * sync and not listed; a table attached with `ATTACH PARTITION` brings rows
 * the backfill never saw.
 *
 * @example
 * await uncoveredPartitions(pool, 'curtain', '20240101_amount', tasks)
 * // [{ partition: 'shop.payment_old', table: 'shop.payment', outOfSync: 1200 }]
 */
export async function uncoveredPartitions(q: Queryable, schema: string, migration: string, tasks: BackfillTask[]): Promise<UncoveredPartition[]> {
  const out: UncoveredPartition[] = [];
  for (const task of tasks) {
    const leaves = await backfillLeaves(q, task.table);
    if (leaves.length === 1 && leaves[0] === task.table) continue;
    const { rows } = await q.query<{ table_name: string }>(
      `SELECT table_name FROM ${quoteIdent(schema)}.backfill_checkpoints WHERE migration = $1 AND done`,
      [migration],
    );
    const covered = new Set(rows.map((r) => r.table_name));
    for (const leaf of leaves) {
      const name = `${leaf.schema}.${leaf.name}`;
      if (covered.has(name)) continue;
      const n = await q.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${quoteQualified(leaf.schema, leaf.name)} WHERE (${task.outOfSync})`);
      const outOfSync = n.rows[0]?.n ?? 0;
      if (outOfSync === 0) continue;
      const set = Object.entries(task.set).map(([col, expr]) => `${quoteIdent(col)} = ${expr}`).join(', ');
      const fill = `BEGIN; SET LOCAL ${BACKFILL_GUC} = 'on'; UPDATE ${quoteQualified(leaf.schema, leaf.name)} SET ${set} WHERE (${task.outOfSync}); COMMIT;`;
      out.push({ partition: name, table: `${task.table.schema}.${task.table.name}`, outOfSync, fill });
    }
  }
  return out;
}
