/**
 * Rollout plans: a migration's flag advanced step by step (`--plan
 * 1,10,50,100 --every 10m`), watched between steps, and turned back off when
 * a stop condition trips. The plan and its position are persisted
 * (`<schema>.rollouts`), so a killed runner resumes at its step and time;
 * the migrate lock is taken for each change only, never held for the hours
 * in between; one session advisory lock per rollout keeps a second runner
 * out.
 */
import { formatDuration } from '../duration.js';
import { CurtainError, ExitCode, LockBusyError, UsageError } from '../errors.js';
import { getFlag } from '../flags/store.js';
import { trySessionLock, type SessionLock } from '../db/session-lock.js';
import { sleep } from '../db/transaction.js';
import { MAX_REASON_LENGTH } from '../flags/store.js';
import { advanceRollout, endRollout, getRollout, rolloutDue, startRollout, type RolloutRow, type RolloutTargeting } from '../store/rollouts.js';
import type { LifecycleContext, TransitionResult } from './context.js';
import { backfillTasks } from './program.js';
import type { Project } from './project.js';
import { assertCheckPasses, errorBaseline, sampleOutOfSync, stopReason, verifiableTasks, type StopCheckInput } from './rollout-checks.js';
import { describePlan, describeStep, rolloutPlan, samePlan } from './rollout-plan.js';
import { admit } from './transitions/common.js';
import { switchFlag, type SwitchHooks, type SwitchOptions } from './transitions/switch.js';

/** Options of {@link Migrator.rollout}. */
export interface RolloutOptions {
  /** The percentages, increasing, from 1 to 100: `[1, 10, 50, 100]` or `'1,10,50,100'`. */
  plan: string | readonly number[];
  /** Time between steps: `'10m'`, `'2h'`, or milliseconds (at least 1 s). */
  every: string | number;
  /** A query that must keep returning true (one row, first column boolean); run read-only with a statement timeout. */
  check?: string;
  /** First step: on for these subjects only (0 %), then the percentages. */
  for?: readonly string[];
  /** First step: on for contexts meeting every condition only (0 %), then the percentages. */
  where?: readonly string[];
  /** Take the automatic snapshot when the flag goes from off to on (default: per configuration). */
  snapshot?: boolean;
  /** New-path errors needed before its error rate can stop the rollout (default 5). */
  minErrors?: number;
  /** How often the stop conditions are checked while waiting (default every/10, at most 5 s). */
  pollMs?: number;
  /** Statement timeout of `check` and of the verification sample (default 5 s). */
  checkTimeoutMs?: number;
  /** Rows per table the verification samples (default 1000). */
  verifySample?: number;
}

/** How a rollout ended when it ran to its last step. */
export interface RolloutResult {
  migration: string;
  flag: string;
  status: 'completed';
  /** The percentage of each step (0 for the targeting step). */
  steps: number[];
  targeting: RolloutTargeting | null;
  /** Step index this run started from: 0 for a new rollout, more when it resumed one. */
  resumedAt: number | null;
  /** The rollout had completed already with this plan: nothing was done. */
  noop: boolean;
  startedAt: Date;
  durationMs: number;
}

/** A stop condition tripped: the flag is off again and the rollout is `stopped` (exit 3). */
export class RolloutStoppedError extends CurtainError {
  readonly migration: string;
  readonly reason: string;
  constructor(migration: string, where: string, reason: string, flag: string) {
    super(`rollout of ${migration} stopped at ${where}: ${reason}; flag ${flag} is off again`, {
      hint: `the old state is current and nothing was lost; see "migrate status ${migration}" and "migrate flags history ${flag}", fix the cause, then start the plan again`,
      exitCode: ExitCode.refused,
    });
    this.migration = migration;
    this.reason = reason;
  }
}

/** Someone cancelled the rollout (`migrate switch <name> --off`, abort) while it ran (exit 1). */
export class RolloutCancelledError extends CurtainError {
  readonly migration: string;
  constructor(migration: string, why: string) {
    super(`rollout of ${migration} was ${why}`, { hint: `see "migrate status ${migration}"` });
    this.migration = migration;
  }
}

/** What the runner needs from the migrator. */
export interface RolloutEnv {
  ctx(): LifecycleContext;
  /** Run a switch under the migrate lock with a freshly read project, and confirm the phase it reached. */
  switchLocked(fn: (project: Project) => Promise<TransitionResult>): Promise<TransitionResult>;
  project(): Promise<Project>;
}

/**
 * Run (or resume) a rollout plan to its end. Returns when the last step is
 * applied; throws {@link RolloutStoppedError} when a stop condition turned
 * the flag back off, {@link RolloutCancelledError} when someone cancelled it.
 */
export async function runRollout(env: RolloutEnv, name: string, options: RolloutOptions): Promise<RolloutResult> {
  const t0 = performance.now();
  const ctx = env.ctx();
  const { pool } = ctx;
  const schema = ctx.config.schema;
  const plan = rolloutPlan(options);
  const pollMs = Math.max(10, options.pollMs ?? Math.min(plan.everyMs / 10, 5_000));
  const checkTimeoutMs = options.checkTimeoutMs ?? 5_000;
  const project = await env.project();
  project.assertUnchanged();
  const entry = project.find(name);
  const report = (message: string) => ctx.reporter?.phase?.(entry.name, message);
  const n = plan.steps.length;
  const stepText = (i: number) => `step ${i + 1}/${n} (${describeStep(plan, i)})`;

  // Another plan is a mistake whether or not its runner is alive: say so first.
  const assertSamePlan = (existing: RolloutRow | undefined) => {
    if (existing?.status === 'running' && !samePlan(existing, plan)) {
      throw new UsageError(
        `a rollout of ${entry.name} is running with another plan: ${describePlan(existing)} (at step ${existing.step + 1}/${existing.steps.length}, ${describeStep(existing, existing.step)})`,
        `rerun that plan to resume it, or cancel it with "migrate switch ${entry.name} --off" first`,
      );
    }
  };
  assertSamePlan(await getRollout(pool, schema, entry.name));
  const attempt = await trySessionLock(pool, `curtain.rollout:${schema}:${entry.name}`, `rollout ${entry.name}`);
  if ('holder' in attempt) {
    throw new CurtainError(`another process is running the rollout of ${entry.name} (${attempt.holder})`, {
      hint: `let it run (see "migrate status"), or cancel the rollout with "migrate switch ${entry.name} --off"`,
      exitCode: ExitCode.lockBusy,
    });
  }
  const runner: SessionLock = attempt;
  try {
    const existing = await getRollout(pool, schema, entry.name);
    assertSamePlan(existing);
    if (existing?.status === 'completed' && samePlan(existing, plan)) {
      const flag = await getFlag(pool, schema, existing.flag);
      if (flag?.enabled && flag.rollout === plan.steps[n - 1]) {
        report(`the rollout ${describePlan(plan)} completed already`);
        return result(existing, null, true);
      }
    }
    const resuming = existing?.status === 'running';
    if (!resuming) admit('switch', entry, entry.record?.flag);
    // The derived pairs to re-verify between steps (renamed and shadow columns).
    const migration = await project.load(entry);
    const tasks = entry.record ? verifiableTasks(backfillTasks(project.program(entry, migration))) : [];
    const verifySample = options.verifySample ?? 1_000;

    let row: RolloutRow;
    let resumedAt: number | null = null;
    if (resuming) {
      row = existing!;
      resumedAt = row.step;
      report(`resuming the rollout at ${stepText(row.step)}, started ${row.startedAt.toISOString()}`);
    } else {
      // Preflight: a broken --check refuses here, before anything changes.
      if (plan.check) await assertCheckPasses(pool, plan.check, checkTimeoutMs);
      const baseline = tasks.length > 0 ? await sampleOutOfSync(pool, tasks, verifySample, checkTimeoutMs) : null;
      const flag = entry.record!.flag;
      const errors = await errorBaseline(pool, schema, flag);
      await applyStep(0, {
        migration: entry.name,
        flag,
        steps: plan.steps,
        targeting: plan.targeting,
        everyMs: plan.everyMs,
        check: plan.check,
        verifyBaseline: baseline,
        errorBaseline: errors,
        actor: ctx.actor,
      });
      row = (await getRollout(pool, schema, entry.name))!;
      resumedAt = 0;
    }

    const checks: StopCheckInput = {
      pool,
      schema,
      flag: row.flag,
      startedAt: row.startedAt,
      errorBaseline: row.errorBaseline,
      minErrors: options.minErrors ?? 5,
      check: row.check,
      checkTimeoutMs,
      verify: tasks.length > 0 && row.verifyBaseline !== null ? { tasks, sample: verifySample, baseline: row.verifyBaseline } : null,
    };
    while (row.status === 'running') {
      await waitUntilDue(row, checks);
      try {
        await applyStep(row.step + 1);
      } catch (err) {
        // Another migrate (an expand of another migration) holds the lock: keep watching, retry.
        if (!(err instanceof LockBusyError)) throw err;
        report(`step ${row.step + 2}/${n} waits for the migrate lock (${err.holder})`);
      }
      row = (await getRollout(pool, schema, entry.name))!;
    }
    if (row.status !== 'completed') throw new RolloutCancelledError(entry.name, `${row.status}: ${row.stopReason ?? 'no reason recorded'}`);
    report(`rollout completed: ${plan.steps.map((_, i) => describeStep(plan, i)).join(' → ')}`);
    return result(row, resumedAt, false);
  } finally {
    await runner.release();
  }

  function result(row: RolloutRow, resumedAt: number | null, noop: boolean): RolloutResult {
    return { migration: entry.name, flag: row.flag, status: 'completed', steps: row.steps, targeting: row.targeting, resumedAt, noop, startedAt: row.startedAt, durationMs: performance.now() - t0 };
  }

  /** Apply step `index` under the migrate lock; the flag change and the rollout row commit together. */
  async function applyStep(index: number, start?: Parameters<typeof startRollout>[2]): Promise<void> {
    const last = index === n - 1;
    const targetingStep = index === 0 && plan.targeting !== null;
    const switchOptions: SwitchOptions = targetingStep
      ? { for: plan.targeting!.for, where: plan.targeting!.where, percent: 0, snapshot: options.snapshot }
      : { percent: plan.steps[index], snapshot: options.snapshot };
    const hooks: SwitchHooks = {
      reason: `rollout step ${index + 1}/${n}: ${describeStep(plan, index)}`.slice(0, MAX_REASON_LENGTH),
      details: { rollout: { step: index + 1, of: n } },
      async record(tx) {
        if (start) return startRollout(tx, schema, start);
        const current = await getRollout(tx, schema, entry.name, { forUpdate: true });
        if (current?.status !== 'running' || current.step !== index - 1) {
          throw new RolloutCancelledError(entry.name, current ? `${current.status}: ${current.stopReason ?? 'no reason recorded'}` : 'removed');
        }
        await advanceRollout(tx, schema, entry.name, index, last);
      },
    };
    await env.switchLocked((p) => switchFlag(p, p.find(entry.name), switchOptions, env.ctx(), hooks));
    report(`${stepText(index)} applied${last ? '' : `; next: ${describeStep(plan, index + 1)} in ${formatDuration(plan.everyMs)}`}`);
  }

  /** Wait for the next step's time, checking the stop conditions every `pollMs`. */
  async function waitUntilDue(row: RolloutRow, checks: StopCheckInput): Promise<void> {
    for (;;) {
      if (ctx.signal?.aborted) {
        throw new CurtainError(`rollout of ${entry.name} interrupted at ${stepText(row.step)}; the flag stays where it is`, {
          hint: `rerun "migrate switch ${entry.name} ${describePlan(plan)}" to resume, or "migrate switch ${entry.name} --off" to cancel`,
          resumable: true,
        });
      }
      if (runner.lost) {
        throw new CurtainError(`rollout of ${entry.name} lost its runner lock (${runner.lost}) at ${stepText(row.step)}`, {
          hint: `rerun the same command to resume`,
          exitCode: ExitCode.lockBusy,
          resumable: true,
        });
      }
      const due = await rolloutDue(pool, schema, entry.name);
      if (due?.row.status !== 'running') {
        throw new RolloutCancelledError(entry.name, due ? `${due.row.status}: ${due.row.stopReason ?? 'no reason recorded'}` : 'removed');
      }
      const why = await stopReason(checks);
      if (why) await stop(due.row, why);
      if (due.dueInMs <= 0) return;
      await sleep(Math.min(pollMs, due.dueInMs), ctx.signal);
    }
  }

  /** Turn the flag off through the normal switch-off, record why, and throw. */
  async function stop(row: RolloutRow, why: string): Promise<never> {
    const where = stepText(row.step);
    report(`stopping at ${where}: ${why}`);
    const reason = `rollout stopped at ${where}: ${why}`.slice(0, MAX_REASON_LENGTH);
    const hooks: SwitchHooks = { reason, details: { rollout: { stopped: why } }, record: (tx) => endRollout(tx, schema, entry.name, 'stopped', why).then(() => {}) };
    for (;;) {
      try {
        const r = await env.switchLocked((p) => switchFlag(p, p.find(entry.name), { off: true }, env.ctx(), hooks));
        // Already off (switched back by hand): the record alone.
        if (r.noop) await endRollout(pool, schema, entry.name, 'stopped', why);
        break;
      } catch (err) {
        if (!(err instanceof LockBusyError)) throw err;
        report(`waiting for the migrate lock to stop the rollout (${err.holder})`);
      }
    }
    throw new RolloutStoppedError(entry.name, where, why, row.flag);
  }
}

