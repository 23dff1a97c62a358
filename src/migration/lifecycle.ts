import type pg from 'pg';
import { Kysely, PostgresDialect } from 'kysely';
import type { Config } from '../config.js';
import { quoteIdent } from '../db/identifiers.js';
import { transaction } from '../db/queryable.js';
import { CurtainError, GuardRefusal, UsageError } from '../errors.js';
import { deleteFlag, getFlag, setFlag } from '../flags/store.js';
import type { PhaseFunction } from './define.js';
import { runSteps, type ExecStep, type StepEvent } from './executor.js';
import type { LoadedMigration } from './loader.js';
import { planMigrationFor, runBackfillTasks, type BackfillProgress } from './planning.js';
import type { MigrationEntry, Project } from './project.js';
import { addEvent, forgetMigration, getRecord, setPhase, startRecord, storePlan, type MigrationRecord, type StoredPlan } from './records.js';
import { runContractGuards, type GuardOptions } from './guards.js';
import { assertLintClean } from './lint.js';
import { snapshotWanted, takeAutoSnapshot } from './snapshots.js';

/** Hooks through which the lifecycle reports what it does. */
export interface LifecycleReporter {
  phase?(migration: string, message: string): void;
  step?(migration: string, event: StepEvent): void;
  backfill?(migration: string, progress: BackfillProgress): void;
}

/** What every lifecycle operation needs. */
export interface LifecycleContext {
  config: Config;
  pool: pg.Pool;
  actor: string;
  reporter?: LifecycleReporter;
  /** Backfill batch size (overrides the configuration). */
  batchSize?: number;
  batchDelayMs?: number;
  signal?: AbortSignal;
  /** Lint the SQL of expand and contract before running it (default true). */
  lint?: boolean;
}

/** The outcome of a lifecycle command for one migration. */
export interface TransitionResult {
  migration: string;
  flag: string;
  from: MigrationEntry['phase'];
  to: MigrationRecord['phase'];
  /** Nothing was done because the migration already was there. */
  noop: boolean;
  durationMs: number;
  details?: Record<string, unknown>;
}


/**
 * Expand one migration: build state B next to A (additive steps, dual-write
 * triggers, backfill, verification) and create its flag, off. Resumes an
 * interrupted expand; if expand fails, everything it created is removed.
 *
 * @example
 * await expand(project, project.find('split_name'), ctx);
 */
export async function expand(project: Project, entry: MigrationEntry, ctx: LifecycleContext): Promise<TransitionResult> {
  const started = performance.now();
  const migration = await project.load(entry);
  const from = entry.phase;
  if (from !== 'pending' && from !== 'expanding') {
    return { migration: entry.name, flag: migration.flag, from, to: from as MigrationRecord['phase'], noop: true, durationMs: 0 };
  }
  const { config, pool } = ctx;
  const schema = config.schema;
  let plan: StoredPlan;
  if (from === 'pending') {
    await assertFlagFree(ctx, migration);
    plan = storePlan(await planMigrationFor(migration, pool, schema, { fireUserTriggers: ctx.config.backfill.fireUserTriggers }));
    assertNoOverlap(project, entry, plan);
    if (ctx.lint !== false) await assertLintClean(migration, 'expand', plan);
    ctx.reporter?.phase?.(entry.name, 'expanding');
  } else {
    plan = entry.record!.plan;
    ctx.reporter?.phase?.(entry.name, 'resuming an interrupted expand');
  }

  const steps: ExecStep[] = [
    {
      description: 'record the migration and create its flag (off)',
      sql: '-- curtain bookkeeping',
      lock: 'none',
      transactional: true,
      run: async (tx) => {
        await startRecord(tx, schema, {
          name: entry.name,
          checksum: migration.checksum,
          flag: migration.flag,
          kind: migration.kind,
          description: migration.definition.description,
          plan,
          actor: ctx.actor,
        });
        await setFlag(
          tx,
          schema,
          migration.flag,
          { enabled: false, rollout: 100, retired: false, migration: entry.name, description: migration.definition.description ?? null },
          { actor: ctx.actor, reason: `expand ${entry.name}` },
        );
        await addEvent(tx, schema, { migration: entry.name, event: 'expand.start', actor: ctx.actor });
      },
    },
    ...plan.expand.filter((s) => s.transactional),
    ...custom(migration.definition.expand, 'custom expand function'),
    ...plan.expand.filter((s) => !s.transactional),
  ];

  try {
    await runSteps(steps, executorOptions(ctx, entry.name, 'expand'));
    const outOfSync = await runBackfillTasks(plan.backfill, ctx, entry.name);
    if (outOfSync > 0) {
      throw new CurtainError(`verification found ${outOfSync} row(s) where the new columns differ from up(old)`, {
        hint: 'check the up expressions and the triggers; expand was rolled back',
      });
    }
    await runSteps(plan.afterBackfill, executorOptions(ctx, entry.name, 'after-backfill'));
    const durationMs = performance.now() - started;
    await transaction(pool, async (tx) => {
      await setPhase(tx, schema, entry.name, 'expanded', { verification: { outOfSync, checkedAt: new Date().toISOString() } });
      await addEvent(tx, schema, { migration: entry.name, event: 'expand.done', actor: ctx.actor, durationMs, details: { outOfSync } });
    });
    return { migration: entry.name, flag: migration.flag, from, to: 'expanded', noop: false, durationMs };
  } catch (err) {
    if (ctx.signal?.aborted) throw err;
    // Losing the server is not a failed migration: keep what is done; a rerun resumes from the checkpoints.
    if (isConnectionError(err)) {
      throw new CurtainError(`lost the connection to the database during expand of ${entry.name}: ${(err as Error).message}`, {
        hint: `nothing was undone; rerun "migrate expand ${entry.name}" to resume where it stopped`,
        cause: err,
      });
    }
    await undoFailedExpand(entry.name, migration, plan, ctx).catch((cleanupErr) => {
      throw new CurtainError(`expand of ${entry.name} failed (${(err as Error).message}) and cleaning up failed too: ${(cleanupErr as Error).message}`, {
        hint: `run "migrate abort ${entry.name}" to finish the cleanup`,
        cause: err,
      });
    });
    if (err instanceof CurtainError) {
      throw new CurtainError(`expand of ${entry.name} failed: ${err.message}; everything it created was removed`, { hint: err.hint, cause: err });
    }
    throw new CurtainError(`expand of ${entry.name} failed: ${(err as Error).message}; everything it created was removed`, { cause: err });
  }
}

/**
 * Errors that say the connection or server went away (not that the migration
 * is wrong): SQLSTATE class 08, admin shutdown / crash / cannot connect now,
 * and the socket errors pg reports.
 */
export function isConnectionError(err: unknown): boolean {
  for (let e: unknown = err; e; e = (e as { cause?: unknown }).cause) {
    const code = (e as { code?: string }).code ?? '';
    if (code.startsWith('08') || ['57P01', '57P02', '57P03', 'ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT'].includes(code)) return true;
    if (/Connection terminated|terminating connection|the database system is (shutting down|starting up)/i.test((e as Error).message ?? '')) return true;
  }
  return false;
}

/** Remove what a failed expand created, so the database is as before. */
async function undoFailedExpand(name: string, migration: LoadedMigration, plan: StoredPlan, ctx: LifecycleContext): Promise<void> {
  const schema = ctx.config.schema;
  const record = await getRecord(ctx.pool, schema, name);
  if (!record) return; // the first transaction never committed: nothing to undo
  await runSteps(abortSteps(migration, plan), executorOptions(ctx, name, `abort-${Date.now()}`));
  await transaction(ctx.pool, async (tx) => {
    await deleteFlag(tx, schema, migration.flag, { actor: ctx.actor, reason: `expand of ${name} failed` });
    await forgetMigration(tx, schema, name);
  });
}

/**
 * Switch a migration's flag: on for everyone, on for `percent` of subjects, or
 * back off. The dual-write authority follows the flag in the same transaction.
 *
 * @example
 * await switchFlag(project, project.find('split_name'), { percent: 25 }, ctx);
 */
export async function switchFlag(
  project: Project,
  entry: MigrationEntry,
  options: { percent?: number; off?: boolean; snapshot?: boolean },
  ctx: LifecycleContext,
): Promise<TransitionResult> {
  const started = performance.now();
  if (entry.phase !== 'expanded' && entry.phase !== 'switched') {
    throw new UsageError(`${entry.name} is ${entry.phase}; switch needs an expanded migration`, hint(entry));
  }
  if (options.percent !== undefined && options.off) throw new UsageError('--percent and --off exclude each other');
  const record = entry.record!;
  const percent = options.off ? 0 : (options.percent ?? 100);
  if (!Number.isInteger(percent) || percent < 0 || percent > 100) throw new UsageError(`--percent must be a whole number from 0 to 100`);
  const on = !options.off && percent > 0;
  const details: Record<string, unknown> = { percent: on ? percent : 0, enabled: on };
  const flag = await getFlag(ctx.pool, project.config.schema, record.flag);
  if (on && !flag?.enabled) {
    // Turning the flag on is when new code starts writing: keep a way back to this moment.
    const migration = await project.load(entry);
    if (snapshotWanted('switch', migration, ctx, options.snapshot)) {
      details.snapshotId = (await takeAutoSnapshot('switch', migration, record.plan, ctx)) ?? null;
    }
  }
  const authority = on ? record.plan.authority.new : record.plan.authority.old;
  const steps: ExecStep[] = [
    ...authority,
    {
      description: on ? `turn flag ${record.flag} on for ${percent}%` : `turn flag ${record.flag} off`,
      sql: '-- curtain bookkeeping',
      lock: 'none',
      transactional: true,
      run: async (tx) => {
        await setFlag(tx, project.config.schema, record.flag, { enabled: on, rollout: on ? percent : 100 }, { actor: ctx.actor, reason: `switch ${entry.name}` });
        await setPhase(tx, project.config.schema, entry.name, on ? 'switched' : 'expanded');
        await addEvent(tx, project.config.schema, { migration: entry.name, event: on ? 'switch.on' : 'switch.off', actor: ctx.actor, details });
      },
    },
  ];
  // Each switch is its own step sequence: record it under a unique phase name.
  await runSteps(steps, executorOptions(ctx, entry.name, `switch-${Date.now()}`));
  return {
    migration: entry.name,
    flag: record.flag,
    from: entry.phase,
    to: on ? 'switched' : 'expanded',
    noop: false,
    durationMs: performance.now() - started,
    details,
  };
}

/**
 * Contract a switched migration: check the guards, take a snapshot of what is
 * about to be dropped, run the destructive steps, lock the flag on.
 *
 * @example
 * await contract(project, project.find('split_name'), { force: [] }, ctx);
 */
export async function contract(
  project: Project,
  entry: MigrationEntry,
  options: GuardOptions,
  ctx: LifecycleContext,
): Promise<TransitionResult> {
  const started = performance.now();
  const schema = ctx.config.schema;
  if (entry.phase === 'contracted') {
    return { migration: entry.name, flag: entry.record!.flag, from: 'contracted', to: 'contracted', noop: true, durationMs: 0 };
  }
  if (entry.phase !== 'switched' && entry.phase !== 'contracting') {
    if (entry.phase === 'expanded' && entry.record) {
      throw new GuardRefusal('flag-fully-on', `flag ${entry.record.flag} is off`, `run "migrate switch ${entry.name}" first`);
    }
    throw new UsageError(`${entry.name} is ${entry.phase}; contract needs a switched migration`, hint(entry));
  }
  const migration = await project.load(entry);
  const record = entry.record!;
  let guardDetails: Record<string, unknown> = {};
  if (entry.phase === 'switched') {
    if (ctx.lint !== false) await assertLintClean(migration, 'contract', record.plan);
    const snapshot =
      options.snapshot ??
      (snapshotWanted('contract', migration, ctx, options.takeSnapshot) ? () => takeAutoSnapshot('contract', migration, record.plan, ctx) : undefined);
    guardDetails = await runContractGuards(project, entry, migration, { ...options, snapshot }, ctx);
    await transaction(ctx.pool, async (tx) => {
      await setPhase(tx, schema, entry.name, 'contracting');
      await addEvent(tx, schema, { migration: entry.name, event: 'contract.start', actor: ctx.actor, details: guardDetails });
    });
  } else {
    ctx.reporter?.phase?.(entry.name, 'resuming an interrupted contract');
  }
  const steps: ExecStep[] = [
    ...record.plan.contract,
    ...custom(migration.definition.contract, 'custom contract function'),
    {
      description: `lock flag ${record.flag} on`,
      sql: '-- curtain bookkeeping',
      lock: 'none',
      transactional: true,
      run: async (tx) => {
        await setFlag(tx, schema, record.flag, { enabled: true, rollout: 100, retired: true }, { actor: ctx.actor, reason: `contract ${entry.name}` });
        await setPhase(tx, schema, entry.name, 'contracted');
        await addEvent(tx, schema, {
          migration: entry.name,
          event: 'contract.done',
          actor: ctx.actor,
          durationMs: performance.now() - started,
        });
      },
    },
  ];
  await runSteps(steps, executorOptions(ctx, entry.name, 'contract'));
  return {
    migration: entry.name,
    flag: record.flag,
    from: entry.phase,
    to: 'contracted',
    noop: false,
    durationMs: performance.now() - started,
    details: guardDetails,
  };
}

/**
 * Undo an expand (before contract): drop B and the triggers, delete the flag.
 * The schema afterwards is the schema before expand.
 *
 * @example
 * await abort(project, project.find('split_name'), ctx);
 */
export async function abort(project: Project, entry: MigrationEntry, ctx: LifecycleContext): Promise<TransitionResult> {
  const started = performance.now();
  const schema = ctx.config.schema;
  if (entry.phase === 'contracted' || entry.phase === 'contracting') {
    throw new UsageError(`${entry.name} is ${entry.phase}; abort is only possible before contract`, 'restore the contract snapshot instead (migrate snapshot list)');
  }
  if (entry.phase === 'pending') {
    throw new UsageError(`${entry.name} is not expanded; there is nothing to abort`);
  }
  const migration = await project.load(entry);
  const record = entry.record!;
  if (entry.phase !== 'aborting') {
    await transaction(ctx.pool, async (tx) => {
      await setPhase(tx, schema, entry.name, 'aborting');
      await addEvent(tx, schema, { migration: entry.name, event: 'abort.start', actor: ctx.actor, details: { from: entry.phase } });
    });
  }
  const steps: ExecStep[] = [
    ...abortSteps(migration, record.plan),
    {
      description: `delete flag ${record.flag}`,
      sql: '-- curtain bookkeeping',
      lock: 'none',
      transactional: true,
      run: async (tx) => {
        if (await getFlag(tx, schema, record.flag)) await deleteFlag(tx, schema, record.flag, { actor: ctx.actor, reason: `abort ${entry.name}` });
        await setPhase(tx, schema, entry.name, 'aborted');
        await tx.query(`DELETE FROM ${quoteIdent(schema)}.backfill_checkpoints WHERE migration = $1`, [entry.name]);
        await addEvent(tx, schema, { migration: entry.name, event: 'abort.done', actor: ctx.actor, durationMs: performance.now() - started });
      },
    },
  ];
  await runSteps(steps, executorOptions(ctx, entry.name, `abort-${record.createdAt.getTime()}`));
  // A later expand of the same file starts from scratch.
  await ctx.pool.query(`DELETE FROM ${quoteIdent(schema)}.steps WHERE migration = $1 AND phase IN ('expand', 'after-backfill', 'contract')`, [
    entry.name,
  ]);
  return { migration: entry.name, flag: record.flag, from: entry.phase, to: 'aborted', noop: false, durationMs: performance.now() - started };
}

function abortSteps(migration: LoadedMigration, plan: StoredPlan): ExecStep[] {
  return [...custom(migration.definition.abort, 'custom abort function'), ...plan.abort];
}

/** Wrap a migration's custom function as a transactional step with a Kysely bound to the step's client. */
function custom(fn: PhaseFunction | undefined, description: string): ExecStep[] {
  if (!fn) return [];
  return [
    {
      description,
      sql: '-- custom function',
      lock: 'ACCESS EXCLUSIVE',
      transactional: true,
      run: async (tx) => {
        const db = kyselyOn(tx);
        await fn({ db, query: async (text, values) => ({ rows: (await tx.query(text, values)).rows }) });
      },
    },
  ];
}

/** A Kysely instance that runs every query on one client (inside its transaction). */
function kyselyOn(client: pg.PoolClient): Kysely<any> {
  const pool = {
    connect: async () => ({ query: (...args: unknown[]) => (client.query as (...a: unknown[]) => unknown)(...args), release: () => {} }),
    end: async () => {},
  };
  return new Kysely<any>({ dialect: new PostgresDialect({ pool: pool as unknown as pg.Pool }) });
}

function executorOptions(ctx: LifecycleContext, migration: string, phase: string) {
  return {
    pool: ctx.pool,
    schema: ctx.config.schema,
    migration,
    phase,
    lockTimeoutMs: ctx.config.lockTimeoutMs,
    retries: ctx.config.lockRetries,
    onEvent: (e: StepEvent) => ctx.reporter?.step?.(migration, e),
  };
}

async function assertFlagFree(ctx: LifecycleContext, migration: LoadedMigration): Promise<void> {
  const existing = await getFlag(ctx.pool, ctx.config.schema, migration.flag);
  if (existing && existing.migration !== migration.name) {
    throw new UsageError(
      `flag ${migration.flag} already exists${existing.migration ? ` and belongs to ${existing.migration}` : ''}`,
      'give this migration its own flag with flag: "..."',
    );
  }
}

/** Two in-flight migrations must not change the same column: the second is refused, naming the first. */
function assertNoOverlap(project: Project, entry: MigrationEntry, plan: StoredPlan): void {
  // What this migration changes or builds objects over, against what the others change (and the reverse).
  const mine = new Set([...plan.touches, ...(plan.reads ?? [])]);
  const changing = new Set(plan.touches);
  for (const other of project.inFlight()) {
    if (other.name === entry.name || !other.record) continue;
    const shared = [
      ...other.record.touches.filter((t) => mine.has(t) || overlapsTable(t, mine)),
      ...(other.record.plan.reads ?? []).filter((t) => changing.has(t) || overlapsTable(t, changing)),
    ];
    if (shared.length > 0) {
      throw new GuardRefusal(
        'no-overlap',
        `${entry.name} touches ${shared.join(', ')}, which ${other.name} (${other.phase}) is already changing`,
        `contract or abort ${other.name} first`,
      );
    }
  }
}

// "schema.table.*" claims a whole table (create/drop/rename table).
function overlapsTable(touch: string, mine: Set<string>): boolean {
  const table = touch.split('.').slice(0, 2).join('.');
  if (touch.endsWith('.*')) return [...mine].some((m) => m.startsWith(`${table}.`));
  return mine.has(`${table}.*`);
}

function hint(entry: MigrationEntry): string {
  switch (entry.phase) {
    case 'pending':
      return `run "migrate expand ${entry.name}" first`;
    case 'expanding':
      return `rerun "migrate expand ${entry.name}" to finish it`;
    case 'contracting':
      return `rerun "migrate contract ${entry.name}" to finish it`;
    case 'aborting':
      return `rerun "migrate abort ${entry.name}" to finish it`;
    default:
      return 'see "migrate status"';
  }
}


