import type pg from 'pg';
import { defaultActor } from '../actor.js';
import { loadConfig, type Config, type UserConfig } from '../config.js';
import { acquireMigrateLock } from '../db/advisory-lock.js';
import { connect, type Database } from '../db/connect.js';
import { ownConnectionErrors } from '../db/pool-errors.js';
import { configuredUrl } from '../db/open.js';
import { CurtainError, UsageError } from '../errors.js';
import { ensureStore } from '../store/store.js';
import { getRecord, stepLog, type StepLogEntry } from '../store/migrations.js';
import type { LifecycleContext, LifecycleReporter, TransitionResult } from './context.js';
import type { GuardOptions } from './guards.js';
import { commandsAhead, isApplied, phaseOf, type Command, type Phase } from './machine.js';
import { programFor } from './planning.js';
import type { ProgramPhase, ProgramStep } from './program.js';
import { Project, type MigrationEntry } from './project.js';
import { abort } from './transitions/abort.js';
import { contract } from './transitions/contract.js';
import { expand } from './transitions/expand.js';
import { switchFlag, type SwitchOptions } from './transitions/switch.js';
import { runRollout, type RolloutOptions, type RolloutResult } from './rollout.js';
import { describePlan } from './rollout-plan.js';
import { endRollout, getRollout } from '../store/rollouts.js';
import { up, type UpOptions } from './up.js';

/** Options of {@link createMigrator}. */
export interface MigratorOptions extends Partial<UserConfig> {
  /** Connection string, unless `pool` is given. */
  connectionString?: string;
  /** An existing pool; the migrator does not end it. */
  pool?: pg.Pool;
  /** Folder the configuration's relative paths resolve against (default: cwd). */
  cwd?: string;
  actor?: string;
  reporter?: LifecycleReporter;
  /** Stop every command at its next step or batch boundary (resumable). */
  signal?: AbortSignal;
}

/** What {@link Migrator.expand} and friends take besides the name. */
export interface RunOptions {
  batchSize?: number;
  batchDelayMs?: number;
  /** Lint the SQL before expand and contract (default true). */
  lint?: boolean;
}

/** One migration's program for the phases still ahead of it: what `migrate plan` prints. */
export interface PlannedMigration {
  name: string;
  phase: Phase;
  flag: string;
  kind: 'schema' | 'code';
  touches: string[];
  /** Functions that may break, objects that go with a dropped column. */
  warnings: string[];
  /** For each command still possible, the steps it runs, in order; `done` marks steps an interrupted run finished. */
  phases: { command: Command; steps: (ProgramStep & { done?: boolean })[] }[];
}

/** The lifecycle as a library: what the CLI does, through the same locked driver. */
export interface Migrator {
  readonly config: Config;
  readonly pool: pg.Pool;
  /** Every migration with its phase. */
  status(): Promise<MigrationEntry[]>;
  /** The programs ahead of one migration, or of every migration that has something ahead. */
  plan(name?: string): Promise<PlannedMigration[]>;
  /** Expand one migration, or every pending (and interrupted) one. All target files are loaded before anything changes. */
  expand(name?: string, options?: RunOptions): Promise<TransitionResult[]>;
  /**
   * Turn a migration's flag on (for `percent` of subjects) or `off`. While a
   * rollout plan runs, only `off` is accepted: it cancels the rollout.
   */
  switch(name: string, options?: SwitchOptions): Promise<TransitionResult>;
  /**
   * Advance a migration's flag along a plan (`[1, 10, 50, 100]`, one step
   * `every`), checking the stop conditions between steps; resumes a running
   * rollout of the same plan. Takes the migrate lock for each step only.
   * Throws {@link RolloutStoppedError} (exit 3) when a condition turned the flag back off.
   *
   * @example
   * await migrator.rollout('rename_email', { plan: [1, 10, 50, 100], every: '10m', check: 'SELECT count(*) = 0 FROM alarms' });
   */
  rollout(name: string, options: RolloutOptions): Promise<RolloutResult>;
  /** Contract one switched migration, or every switched (and interrupted) one, after its guards pass. */
  contract(name?: string, options?: GuardOptions & RunOptions): Promise<TransitionResult[]>;
  /** Expand, switch and contract every migration up to `name` in one go, for a database without live traffic (dev, CI). */
  up(name?: string, options?: UpOptions & RunOptions): Promise<TransitionResult[]>;
  /** Undo an expand. */
  abort(name: string): Promise<TransitionResult>;
  /** The steps the executor recorded for a migration, in the order they ran. */
  log(name: string): Promise<StepLogEntry[]>;
  close(): Promise<void>;
}

/**
 * Drive migrations from code (tests, deploy scripts). Each call takes the
 * database-wide migrate lock, like the CLI, which is a thin shell over this.
 *
 * @example
 * const migrator = await createMigrator({ connectionString: process.env.DATABASE_URL, migrationsDir: 'migrations' });
 * await migrator.expand();
 * await migrator.switch('split_name', { percent: 10 });
 * await migrator.close();
 */
export async function createMigrator(options: MigratorOptions = {}): Promise<Migrator> {
  const { connectionString, pool: givenPool, cwd, actor, reporter, signal, ...overrides } = options;
  const config = await loadConfig({ cwd, overrides });
  let database: Database | undefined;
  let pool = givenPool;
  if (!pool) {
    const url = configuredUrl(config, connectionString)?.url;
    if (!url) throw new UsageError('createMigrator needs connectionString, pool, or DATABASE_URL');
    database = await connect(url);
    pool = database.pool;
  } else {
    // A pool handed in: an idle connection the server ends must not crash the process.
    ownConnectionErrors(pool);
  }
  await ensureStore(pool, config.schema);
  return openMigrator({ config, pool, actor, reporter, signal, close: () => database?.close() });
}

/**
 * A migrator over an open pool and a loaded configuration (the CLI's way in).
 *
 * @example
 * const migrator = openMigrator({ config, pool, reporter });
 */
export function openMigrator(o: {
  config: Config;
  pool: pg.Pool;
  actor?: string;
  reporter?: LifecycleReporter;
  signal?: AbortSignal;
  close?: () => Promise<void> | undefined;
}): Migrator {
  const { config, pool } = o;
  const ctx = (extra: RunOptions = {}): LifecycleContext => ({
    config,
    pool,
    actor: o.actor ?? defaultActor(),
    reporter: o.reporter,
    signal: o.signal,
    fence,
    ...extra,
  });
  let fence: LifecycleContext['fence'];
  const locked = async <T>(command: string, fn: (project: Project) => Promise<T>): Promise<T> => {
    const lock = await acquireMigrateLock(pool, config.schema, { command, waitMs: config.lockWaitMs, signal: o.signal });
    // Every transaction that records progress proves the lock is still ours (a lost lock stops at the next boundary).
    fence = (tx) => lock.assertHeld(tx, 'nothing after the last recorded step ran');
    try {
      const project = await Project.open(config, pool);
      project.assertUnchanged();
      return await fn(project);
    } finally {
      fence = undefined;
      await lock.release();
    }
  };
  /** A transition reports only the phase the database really reached: anything else is an error, never a success. */
  const confirmed = async (command: string, result: TransitionResult): Promise<TransitionResult> => {
    if (result.noop) return result;
    const record = await getRecord(pool, config.schema, result.migration);
    const reached = record ? phaseOf(record.phase) : 'pending';
    if (reached !== result.to) {
      throw new CurtainError(`${command} of ${result.migration} should have left it ${result.to}, but the database says ${reached}`, {
        hint: `run "migrate status ${result.migration}" and rerun the command that its next column names`,
      });
    }
    return result;
  };
  /** Run `command` on each target in turn, each against a freshly read project (the previous one changed it). */
  const each = async (project: Project, targets: MigrationEntry[], run: (p: Project, e: MigrationEntry) => Promise<TransitionResult>) => {
    // Load every target first: a broken file refuses the whole set before anything changes.
    for (const t of targets) if (t.file) await project.load(t);
    const results: TransitionResult[] = [];
    for (const t of targets) {
      const fresh = await Project.open(config, pool);
      results.push(await run(fresh, fresh.find(t.name)));
    }
    return results;
  };
  return {
    config,
    pool,
    async status() {
      return (await Project.open(config, pool)).entries;
    },
    async plan(name) {
      const project = await Project.open(config, pool);
      project.assertUnchanged();
      const entries = name ? [project.find(name)] : project.entries.filter((e) => e.file && commandsAhead(e.phase).length > 0);
      const plans: PlannedMigration[] = [];
      for (const entry of entries) {
        const migration = await project.load(entry);
        const program = entry.record && isApplied(entry.phase) ? project.program(entry, migration) : await programFor(migration, pool, config.schema, { fireUserTriggers: config.backfill.fireUserTriggers });
        const log = entry.record ? await stepLog(pool, config.schema, entry.name) : [];
        const done = (phase: string, index: number) => log.some((l) => l.phase === phase && l.index === index);
        plans.push({
          name: entry.name,
          phase: entry.phase,
          flag: migration.flag,
          kind: migration.kind,
          touches: program.touches,
          warnings: program.warnings,
          phases: commandsAhead(entry.phase).map((command) => ({
            command,
            steps: program.phases[command as ProgramPhase].map((s, i) => (done(command, i) && isApplied(entry.phase) ? { ...s, done: true } : s)),
          })),
        });
      }
      return plans;
    },
    async expand(name, opts = {}) {
      return locked('expand', (project) =>
        each(project, name ? [project.find(name)] : project.targets('expand'), async (p, e) => confirmed('expand', await expand(p, e, ctx(opts)))),
      );
    },
    async switch(name, opts = {}) {
      return locked('switch', async (project) => {
        const entry = project.find(name);
        const running = await getRollout(pool, config.schema, entry.name);
        if (running?.status !== 'running') return confirmed('switch', await switchFlag(project, entry, opts, ctx()));
        if (!opts.off) {
          throw new UsageError(
            `a rollout of ${entry.name} is running (${describePlan(running)}, at step ${running.step + 1}/${running.steps.length})`,
            `cancel it first with "migrate switch ${entry.name} --off"`,
          );
        }
        // --off cancels the rollout in the transaction that turns the flag off: its runner cannot apply another step.
        const c = ctx();
        const why = `cancelled by ${c.actor}`;
        const result = await switchFlag(project, entry, opts, c, {
          reason: `switch ${entry.name} --off: rollout cancelled at step ${running.step + 1}/${running.steps.length}`,
          details: { rollout: { cancelled: true } },
          record: (tx) => endRollout(tx, config.schema, entry.name, 'cancelled', why).then(() => {}),
        });
        if (result.noop) await endRollout(pool, config.schema, entry.name, 'cancelled', why);
        return { ...(await confirmed('switch', result)), details: { ...result.details, rolloutCancelled: true } };
      });
    },
    async rollout(name, opts) {
      return runRollout({ ctx: () => ctx(), switchLocked: (fn) => locked('switch', async (project) => confirmed('switch', await fn(project))), project: () => Project.open(config, pool) }, name, opts);
    },
    async contract(name, opts = {}) {
      const { batchSize, batchDelayMs, lint, ...guards } = opts;
      return locked('contract', (project) =>
        each(project, name ? [project.find(name)] : project.targets('contract'), async (p, e) =>
          confirmed('contract', await contract(p, e, guards, ctx({ batchSize, batchDelayMs, lint }))),
        ),
      );
    },
    async up(name, opts = {}) {
      const { yes, ...run } = opts;
      return locked('up', () => up(ctx(run), name, { yes }));
    },
    async abort(name) {
      return locked('abort', async (project) => {
        const result = await confirmed('abort', await abort(project, project.find(name), ctx()));
        // A rollout of an aborted migration has nothing left to advance.
        await endRollout(pool, config.schema, result.migration, 'cancelled', 'the migration was aborted');
        return result;
      });
    },
    async log(name) {
      const project = await Project.open(config, pool);
      return stepLog(pool, config.schema, project.find(name).name);
    },
    async close() {
      await o.close?.();
    },
  };
}
