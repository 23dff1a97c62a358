/**
 * Run planners' output through the real executor, as the lifecycle does:
 * the plan becomes the program (same order, own transactions, cleanup,
 * lock_timeout), with the backfill and its verification for real and the
 * lifecycle's own bookkeeping (records, flags, guards, snapshots) left out.
 * Also: snapshot the catalog so abort can be compared with the state before expand.
 */
import type pg from 'pg';
import { runBackfill } from '../../../src/backfill/run.js';
import { verifyBackfill } from '../../../src/backfill/verify.js';
import { runProgram, type StepRuntime } from '../../../src/migration/executor.js';
import { buildProgram, type Program, type ProgramPhase, type ProgramStep } from '../../../src/migration/program.js';
import type { Authority, MigrationPlan, Step } from '../../../src/ops/operation.js';
import { ensureStore } from '../../../src/store/store.js';

export const CURTAIN = 'curtain';

let runs = 0;

/** The program a migration with this plan (and no custom functions) runs. */
export function programOf(plan: MigrationPlan): Program {
  return buildProgram({ ...plan, authority: { old: plan.authority('old'), new: plan.authority('new') } }, { custom: {}, kind: 'schema' });
}

function runtime(pool: pg.Pool, migration: string): StepRuntime {
  return {
    async inTransaction() {},
    async alone(step) {
      if (step.kind === 'backfill') await runBackfill(pool, step.task, { schema: CURTAIN, migration, batchSize: 7 });
      if (step.kind === 'verify') {
        for (const task of step.tasks) {
          const v = await verifyBackfill(pool, task);
          if (v.outOfSync !== 0) throw new Error(`${v.outOfSync} rows out of sync in ${v.table}`);
        }
      }
    },
  };
}

/** Run steps through the executor, in the order given (each run recorded under a phase name of its own). */
export async function runSteps(pool: pg.Pool, steps: ProgramStep[], migration = 'test'): Promise<void> {
  await ensureStore(pool, CURTAIN);
  await runProgram(steps, {
    pool,
    schema: CURTAIN,
    migration,
    phase: `run-${process.pid}-${++runs}`,
    lockTimeoutMs: 1000,
    retries: 10,
    runtime: runtime(pool, migration),
  });
}

/** Plain planner steps through the executor (e.g. only expand's DDL). */
export async function applySteps(pool: pg.Pool, steps: Step[]): Promise<void> {
  await runSteps(pool, steps.map((s) => ({ ...s, kind: 'sql' as const })));
}

async function phase(pool: pg.Pool, plan: MigrationPlan, name: ProgramPhase, migration?: string): Promise<void> {
  await runSteps(pool, programOf(plan).phases[name], migration);
}

/** expand's program: DDL, custom work, backfill, verification, steps after the backfill. */
export async function expand(pool: pg.Pool, plan: MigrationPlan, migration: string): Promise<void> {
  await phase(pool, plan, 'expand', migration);
}

/** Flip the authority (what switch and switch --off do in the flag's transaction). */
export async function authority(pool: pg.Pool, plan: MigrationPlan, side: Authority): Promise<void> {
  await phase(pool, plan, side === 'new' ? 'switch' : 'switch-off');
}

/** contract's program: VALIDATE, rehearsal, the destructive steps. */
export async function contract(pool: pg.Pool, plan: MigrationPlan): Promise<void> {
  await phase(pool, plan, 'contract');
}

/** abort's program: the undo steps in reverse order. */
export async function abort(pool: pg.Pool, plan: MigrationPlan): Promise<void> {
  await phase(pool, plan, 'abort');
}

/**
 * Everything abort must restore, in a comparable form: columns (type,
 * nullability, default, identity, generated), constraints, indexes,
 * triggers, functions and views of the given schema.
 */
export async function catalogSnapshot(pool: pg.Pool, schema = 'public'): Promise<Record<string, unknown[]>> {
  const q = async (sql: string) => (await pool.query(sql, [schema])).rows;
  return {
    relations: await q(`SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                         WHERE n.nspname = $1 ORDER BY 1`),
    columns: await q(`SELECT c.relname, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull,
                             pg_get_expr(d.adbin, d.adrelid) AS def, a.attidentity, a.attgenerated
                        FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
                        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
                       WHERE n.nspname = $1 AND a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r','v','p')
                       ORDER BY c.relname, a.attname`),
    constraints: await q(`SELECT c.relname, k.conname, pg_get_constraintdef(k.oid) AS def, k.convalidated
                            FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
                           WHERE n.nspname = $1 ORDER BY 1, 2`),
    indexes: await q(`SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = $1 ORDER BY 1`),
    triggers: await q(`SELECT c.relname, t.tgname, pg_get_triggerdef(t.oid) AS def FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
                         JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND NOT t.tgisinternal ORDER BY 1, 2`),
    functions: await q(`SELECT p.proname, md5(pg_get_functiondef(p.oid)) AS def FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                          WHERE n.nspname = $1 ORDER BY 1`),
    views: await q(`SELECT viewname, definition FROM pg_views WHERE schemaname = $1 ORDER BY 1`),
  };
}
