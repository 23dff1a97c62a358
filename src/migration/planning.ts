import type pg from 'pg';
import { runBackfill, verifyBackfill } from '../backfill/index.js';
import { assertBackfillSkipsUserTriggers } from '../backfill/user-triggers.js';
import type { BackfillProgress } from '../backfill/index.js';
import { quoteQualified } from '../db/identifiers.js';
import { CurtainError, MigrationFileError } from '../errors.js';
import { emptyPlan, type BackfillTask, type MigrationPlan, type Operation } from '../ops/operation.js';
import { planMigration } from '../ops/plan.js';
import type { LifecycleContext } from './lifecycle.js';
import type { LoadedMigration } from './loader.js';

export type { BackfillProgress };

/**
 * Plan a migration against the live catalog: what each phase will run.
 * Impossible requests (unknown table, column already there, ...) fail here,
 * before anything runs, with the migration file named.
 *
 * @example
 * const plan = await planMigrationFor(migration, pool, 'curtain');
 */
export async function planMigrationFor(
  migration: LoadedMigration,
  pool: pg.Pool,
  schema: string,
  options: { fireUserTriggers?: boolean } = {},
): Promise<MigrationPlan> {
  const operations = (migration.definition.operations ?? []) as readonly Operation[];
  if (operations.length === 0) return emptyPlan();
  let plan: MigrationPlan;
  try {
    plan = await planMigration(operations, { db: pool, migration: migration.name, flag: migration.flag, schema });
  } catch (err) {
    if (err instanceof CurtainError) {
      throw new MigrationFileError(migration.path, err.message, err.hint);
    }
    throw err;
  }
  await checkUpExpressions(plan, pool, migration);
  await assertBackfillSkipsUserTriggers(pool, plan.backfill.map((b) => ({ table: b.table, columns: Object.keys(b.set) })), { ...options, migration: migration.name });
  return plan;
}

/**
 * Let PostgreSQL check every `up` expression against the live table before
 * anything runs (EXPLAIN: nothing is executed), so an unknown column or a type
 * error is reported at once rather than half-way through a backfill.
 */
async function checkUpExpressions(plan: MigrationPlan, pool: pg.Pool, migration: LoadedMigration): Promise<void> {
  const added = new Set(plan.backfill.flatMap((t) => Object.keys(t.set).map((c) => `${t.table.schema}.${t.table.name}.${c}`)));
  for (const task of plan.backfill) {
    for (const [column, expression] of Object.entries(task.set)) {
      // An expression reading a column this same migration adds can only be checked once it exists.
      if ([...added].some((a) => a.startsWith(`${task.table.schema}.${task.table.name}.`) && expression.includes(a.split('.').pop()!))) continue;
      try {
        await pool.query(`EXPLAIN SELECT ${expression} FROM ${quoteQualified(task.table.schema, task.table.name)} LIMIT 0`);
      } catch (err) {
        throw new MigrationFileError(
          migration.path,
          `the expression that fills ${task.table.name}.${column} is invalid: ${(err as Error).message}`,
          `it is evaluated on each row of ${task.table.schema}.${task.table.name}: use that table's columns by name`,
        );
      }
    }
  }
}

/**
 * Backfill every task in keyset batches (resuming from checkpoints), then
 * verify: the number of rows whose new side differs from up(old side).
 */
export async function runBackfillTasks(tasks: BackfillTask[], ctx: LifecycleContext, migration: string): Promise<number> {
  let outOfSync = 0;
  for (const task of tasks) {
    await runBackfill(ctx.pool, task, {
      schema: ctx.config.schema,
      migration,
      batchSize: ctx.batchSize ?? ctx.config.backfill.batchSize,
      batchDelayMs: ctx.batchDelayMs ?? ctx.config.backfill.batchDelayMs,
      targetBatchMs: ctx.config.backfill.targetBatchTimeMs,
      lockTimeoutMs: ctx.config.lockTimeoutMs,
      signal: ctx.signal,
      onProgress: (p) => ctx.reporter?.backfill?.(migration, p),
    });
    if (ctx.signal?.aborted) throw new CurtainError(`backfill of ${migration} was interrupted; rerun expand to resume`);
  }
  for (const task of tasks) outOfSync += (await verifyBackfill(ctx.pool, task)).outOfSync;
  return outOfSync;
}
