/**
 * One column type change (orders.total integer → bigint) on a table under
 * the workload, done one of two ways, with what the workload went through:
 *
 * - `in-place`: one `ALTER TABLE orders ALTER COLUMN total TYPE bigint`, run
 *   by Kysely's own Migrator (a transaction, no lock_timeout) — what Kysely's
 *   migrator, knex or node-pg-migrate run for such a migration. It rewrites
 *   the table under an ACCESS EXCLUSIVE lock.
 * - `curtain`: createMigrator → expand → switch 50 % → switch 100 % →
 *   contract, with the workload's old- and new-code paths chosen per request
 *   through the flag, and a short dwell after each phase so both paths run.
 *
 * Each approach gets a fresh database with the same table.
 */
import path from 'node:path';
import { createJiti } from 'jiti';
import { Kysely, Migrator, PostgresDialect, type Migration } from 'kysely';
import type { LifecycleReporter } from '../../src/migration/context.js';
import { createMigrator } from '../../src/migration/migrator.js';
import { nowMs, sleep } from './clock.js';
import { createOrders, FLAG, MIGRATION_NAME, migrationProject, NEW_COLUMN } from './orders.js';
import { withDatabase, type BenchDatabase } from './server.js';
import type { BenchContext } from './types.js';
import { analyseWindow, startWorkload, type WindowStats, type WorkloadRun } from './workload.js';

export type Approach = 'in-place' | 'curtain';

export interface ChangeResult {
  approach: Approach;
  rows: number;
  /** Time spent changing the schema (phases only, without the dwell between them), ms. */
  changeMs: number;
  /** From the first statement of the change to its last, dwell included, ms. */
  spanMs: number;
  phases: { name: string; ms: number }[];
  /** The phase during which the longest lock wait began (`after <phase>` when in a dwell), null when none. */
  longestLockWaitPhase: string | null;
  /** Curtain only: DDL attempts that hit the lock timeout and were retried, and the backfill's last rate. */
  lockRetries: number;
  backfillRowsPerSecond?: number;
  /**
   * Curtain only: one uncached load of the migration file, as the loader does
   * it (jiti, module cache off). The file imports curtain's TypeScript
   * source, so this is far slower than importing the built package; every
   * phase pays it at least once.
   */
  migrationLoadMs?: number;
  /** Curtain only: the executor's steps (description, ms, attempts), in order. */
  steps: { description: string; ms: number; attempts: number }[];
  /** Requests before the change started (the quiet baseline). */
  before: WindowStats;
  /** Requests overlapping the change. */
  during: WindowStats;
  /** Distinct errors the workload saw, with counts. */
  errors: Record<string, number>;
}

/** The workload every change runs under (same for both approaches). */
export function workloadShape(ctx: BenchContext) {
  return {
    clients: 6,
    ratePerClient: 50, // 300 requests/s in all: steady, and leaves CPU for the change on a 2-core machine
    statementTimeoutMs: 5_000,
    sampleMs: 20,
    quietMs: ctx.options.quick ? 1_500 : 3_000,
    dwellMs: ctx.options.quick ? 1_000 : 2_000,
  };
}

/**
 * Create the table, start the workload, run the change, stop, analyse.
 *
 * @example
 * const r = await measureChange(ctx, 'curtain', 100_000);
 * r.during.longestLockWaitMs
 */
export async function measureChange(ctx: BenchContext, approach: Approach, rows: number): Promise<ChangeResult> {
  return withDatabase(ctx.server, `zd_${approach}`, async (db) => {
    const shape = workloadShape(ctx);
    const setup = db.pool();
    ctx.log(`  ${approach}, ${rows.toLocaleString('en-US')} rows: creating the table`);
    await createOrders(setup, rows);
    const project = approach === 'curtain' ? await migrationProject() : undefined;
    let lockRetries = 0;
    let backfillRowsPerSecond: number | undefined;
    const steps: ChangeResult['steps'] = [];
    const reporter: LifecycleReporter = {
      step: (_m, e) => {
        if (e.type === 'retry') lockRetries++;
        if (e.type === 'done') steps.push({ description: e.step.description, ms: Math.round(e.durationMs), attempts: e.attempts });
      },
      backfill: (_m, p) => {
        backfillRowsPerSecond = p.rowsPerSecond;
      },
    };
    const migrationLoadMs = project ? await timeMigrationLoad(path.join(project.dir, 'migrations', `${MIGRATION_NAME}.ts`)) : undefined;
    const migrator = project
      ? await createMigrator({ connectionString: db.url, cwd: project.dir, migrationsDir: 'migrations', actor: 'bench', reporter })
      : undefined;
    try {
      const workload = await startWorkload({
        url: db.url,
        clients: shape.clients,
        ratePerClient: shape.ratePerClient,
        maxId: rows,
        statementTimeoutMs: shape.statementTimeoutMs,
        sampleMs: shape.sampleMs,
        seed: 7,
        ...(approach === 'curtain' ? { flag: FLAG, newColumn: NEW_COLUMN } : {}),
      });
      let run: WorkloadRun;
      const phases: { name: string; ms: number; from: number; to: number }[] = [];
      const quietFrom = nowMs();
      await sleep(shape.quietMs);
      const changeStart = nowMs();
      let changeEnd = changeStart;
      try {
        const phase = async (name: string, fn: () => Promise<unknown>) => {
          ctx.log(`  ${approach}: ${name}`);
          const t0 = nowMs();
          await fn();
          changeEnd = nowMs();
          phases.push({ name, ms: changeEnd - t0, from: t0, to: changeEnd });
        };
        if (migrator) {
          await phase('expand', () => migrator.expand(MIGRATION_NAME));
          await sleep(shape.dwellMs);
          await phase('switch 50%', () => migrator.switch(MIGRATION_NAME, { percent: 50 }));
          await sleep(shape.dwellMs);
          await phase('switch 100%', () => migrator.switch(MIGRATION_NAME, { percent: 100 }));
          await sleep(shape.dwellMs);
          await phase('contract', () => migrator.contract(MIGRATION_NAME, { waitMs: 60_000 }));
        } else {
          await phase('ALTER TABLE ... TYPE bigint (Kysely Migrator)', () => alterInPlace(db));
        }
        await sleep(shape.dwellMs);
      } finally {
        run = await workload.stop();
      }
      const during = analyseWindow(run, changeStart, changeEnd);
      return {
        approach,
        rows,
        changeMs: phases.reduce((s, p) => s + p.ms, 0),
        spanMs: changeEnd - changeStart,
        phases: phases.map((p) => ({ name: p.name, ms: p.ms })),
        longestLockWaitPhase: phaseAt(phases, during.longestLockWaitAt),
        lockRetries,
        steps,
        ...(migrationLoadMs !== undefined ? { migrationLoadMs } : {}),
        ...(backfillRowsPerSecond !== undefined ? { backfillRowsPerSecond } : {}),
        before: analyseWindow(run, quietFrom + 300, changeStart - 1),
        during,
        errors: run.errors,
      };
    } finally {
      await migrator?.close();
      await project?.remove();
    }
  });
}

function phaseAt(phases: { name: string; from: number; to: number }[], at: number | null): string | null {
  if (at === null) return null;
  const within = phases.find((p) => at >= p.from && at <= p.to);
  if (within) return within.name;
  const before = phases.filter((p) => p.to < at).pop();
  return before ? `after ${before.name}` : 'before the change';
}

async function timeMigrationLoad(file: string): Promise<number> {
  const t0 = performance.now();
  await createJiti(import.meta.url, { moduleCache: false }).import(file);
  return performance.now() - t0;
}

/** The baseline: Kysely's Migrator running one migration with a plain ALTER TABLE ... TYPE. */
async function alterInPlace(db: BenchDatabase): Promise<void> {
  const kysely = new Kysely<unknown>({ dialect: new PostgresDialect({ pool: db.pool({ max: 2 }) }) });
  const migration: Migration = {
    async up(k) {
      await k.schema.alterTable('orders').alterColumn('total', (c) => c.setDataType('bigint')).execute();
    },
  };
  const migrator = new Migrator({ db: kysely, provider: { getMigrations: async () => ({ [MIGRATION_NAME]: migration }) } });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error;
  if (results?.[0]?.status !== 'Success') throw new Error(`Kysely migration did not succeed: ${JSON.stringify(results)}`);
}
