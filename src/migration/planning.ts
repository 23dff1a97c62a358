import type pg from 'pg';
import { assertBackfillSkipsUserTriggers } from '../backfill/user-triggers.js';
import { quoteQualified } from '../db/identifiers.js';
import { CurtainError, MigrationFileError } from '../errors.js';
import { emptyPlan, type MigrationPlan, type Operation } from '../ops/operation.js';
import { planMigration } from '../ops/plan.js';
import type { LoadedMigration } from './loader.js';
import { buildProgram, type Program, type ProgramOptions } from './program.js';


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

/** Which custom functions a migration has, and its kind: what its program is built from besides the plan. */
export function programOptionsOf(migration: LoadedMigration): ProgramOptions {
  const d = migration.definition;
  return { custom: { expand: Boolean(d.expand), contract: Boolean(d.contract), abort: Boolean(d.abort) }, kind: migration.kind };
}

/**
 * Plan a migration against the live catalog and turn the plan into its
 * program: every phase's steps in the order they will run.
 *
 * @example
 * const program = await programFor(migration, pool, 'curtain');
 * program.phases.expand.map((s) => s.description);
 */
export async function programFor(migration: LoadedMigration, pool: pg.Pool, schema: string, options: { fireUserTriggers?: boolean } = {}): Promise<Program> {
  const plan = await planMigrationFor(migration, pool, schema, options);
  return buildProgram({ ...plan, authority: { old: plan.authority('old'), new: plan.authority('new') } }, programOptionsOf(migration));
}
