/**
 * The benchmark migration's plan, applied piecewise: the backfill and
 * trigger benchmarks need expand's DDL (new column + dual-write trigger)
 * without the rest of the lifecycle.
 */
import type pg from 'pg';
import { transaction } from '../../src/db/queryable.js';
import { ensureStore } from '../../src/store/store.js';
import { op, planMigration, sql } from '../../src/ops/index.js';
import type { MigrationPlan } from '../../src/ops/operation.js';
import { FLAG, NEW_COLUMN } from './orders.js';

export const CURTAIN_SCHEMA = 'curtain';
export const PLAN_MIGRATION = 'bench_total_bigint';

/**
 * Plan `op.alterColumn('orders', 'total', { name: 'total_big', type: 'bigint', ... })` against the live table.
 *
 * @example
 * const plan = await planOrdersChange(pool);
 */
export async function planOrdersChange(pool: pg.Pool): Promise<MigrationPlan> {
  await ensureStore(pool, CURTAIN_SCHEMA);
  const operation = op.alterColumn('orders', 'total', { name: NEW_COLUMN, type: 'bigint', up: sql`total::bigint`, down: sql`total_big::integer` });
  return planMigration([operation], { db: pool, migration: PLAN_MIGRATION, flag: FLAG, schema: CURTAIN_SCHEMA });
}

/** Run expand's DDL (new column, NOT VALID check, dual-write function and trigger) in one transaction, as expand does. */
export async function applyExpandDdl(pool: pg.Pool, plan: MigrationPlan): Promise<void> {
  await transaction(pool, async (client) => {
    for (const step of plan.expand) {
      if (!step.transactional) throw new Error(`unexpected non-transactional expand step: ${step.description}`);
      await client.query(step.sql);
    }
  });
}

/** The user (non-internal) triggers on `orders`: the dual-write trigger once expand's DDL ran. */
export async function ordersTriggers(pool: pg.Pool): Promise<string[]> {
  const { rows } = await pool.query<{ tgname: string }>(`SELECT tgname FROM pg_trigger WHERE tgrelid = 'orders'::regclass AND NOT tgisinternal`);
  return rows.map((r) => r.tgname);
}
