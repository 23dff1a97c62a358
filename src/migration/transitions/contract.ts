import { transaction } from '../../db/transaction.js';
import { CurtainError, ExitCode, GuardRefusal } from '../../errors.js';
import { setFlag } from '../../flags/store.js';
import { addEvent, clearSteps, getRecord, lastEvent, setPhase } from '../../store/migrations.js';
import { executorOptions, type LifecycleContext, type TransitionResult } from '../context.js';
import { runContractGuards, type GuardOptions } from '../guards.js';
import { assertLintClean } from '../lint.js';
import { isInterrupted, phaseOf, toStored } from '../machine.js';
import type { ProgramStep, RehearseStep } from '../program.js';
import type { MigrationEntry, Project } from '../project.js';
import { snapshotWanted, takeAutoSnapshot } from '../snapshots.js';
import { admit, isConnectionError, stepRuntime } from './common.js';
import { runProgram } from '../executor.js';

/**
 * Contract a switched migration in two halves. The preflight runs everything
 * that can fail without destroying anything (the guards, VALIDATE of every
 * NOT VALID constraint, a rolled-back rehearsal of every destructive
 * statement, the snapshot): a failure there leaves the migration switched
 * with nothing changed. The destructive half starts in the transaction that
 * marks the migration contracting and is resumable: rerun contract after
 * fixing the cause. A failure there names the snapshot to restore.
 */
export async function contract(project: Project, entry: MigrationEntry, options: GuardOptions, ctx: LifecycleContext): Promise<TransitionResult> {
  const started = performance.now();
  const schema = ctx.config.schema;
  const admitted = admit('contract', entry, entry.record?.flag);
  if ('noop' in admitted) return admitted.noop;
  const migration = await project.load(entry);
  const record = entry.record!;
  const program = project.program(entry, migration);
  const steps = program.phases.contract;
  const details: Record<string, unknown> = {};
  if (!admitted.run.resumes) {
    if (ctx.lint !== false) await assertLintClean(migration, 'contract', program);
    // A preflight that failed earlier starts over: the guards and the rehearsal must see today's database.
    await clearSteps(ctx.pool, schema, entry.name, ['contract']);
  } else {
    ctx.reporter?.phase?.(entry.name, 'resuming an interrupted contract');
  }

  const runtime = stepRuntime(ctx, migration, {
    async guards() {
      Object.assign(details, await runContractGuards(project, entry, migration, program, options, ctx));
    },
    rehearse: (step) => rehearse(steps, step, entry.name, ctx),
    async snapshot() {
      const forced = (details.forced as string[] | undefined) ?? [];
      const take = options.snapshot ?? (snapshotWanted('contract', migration, ctx, options.takeSnapshot) ? () => takeAutoSnapshot('contract', migration, program, ctx) : undefined);
      if (migration.kind === 'code') return;
      if (!take) {
        details.forced = [...forced, 'snapshot'];
        return;
      }
      try {
        details.snapshotId = (await take()) ?? null;
        details.passed = [...((details.passed as string[] | undefined) ?? []), 'snapshot'];
      } catch (err) {
        if (!(options.force ?? []).includes('snapshot')) {
          throw new GuardRefusal('snapshot', `could not take the pre-contract snapshot: ${(err as Error).message}`, 'fix it, or override with --force snapshot');
        }
        details.forced = [...forced, 'snapshot'];
      }
    },
    async bookkeeping(action, tx) {
      if (action === 'contract.start') {
        await setPhase(tx, schema, entry.name, toStored(admitted.run.during ?? admitted.run.to));
        await addEvent(tx, schema, { migration: entry.name, event: 'contract.start', actor: ctx.actor, details });
      } else if (action === 'contract.done') {
        await setFlag(tx, schema, record.flag, { enabled: true, rollout: 100, retired: true }, { actor: ctx.actor, reason: `contract ${entry.name}` });
        await setPhase(tx, schema, entry.name, toStored(admitted.run.to));
        await addEvent(tx, schema, { migration: entry.name, event: 'contract.done', actor: ctx.actor, durationMs: performance.now() - started });
      }
    },
  });

  try {
    await runProgram(steps, { ...executorOptions(ctx, entry.name, 'contract'), runtime });
  } catch (err) {
    throw await explainFailure(err, entry, ctx);
  }
  return { migration: entry.name, flag: record.flag, from: entry.phase, to: admitted.run.to, noop: false, durationMs: performance.now() - started, details };
}

/**
 * Run every destructive statement in one transaction that is always rolled
 * back: whatever PostgreSQL would refuse (a view or function using a dropped
 * column, a constraint already gone, a publication) is found now, before the
 * snapshot and before anything is destroyed. Statements that cannot run in a
 * transaction are not rehearsed.
 */
async function rehearse(steps: ProgramStep[], step: RehearseStep, name: string, ctx: LifecycleContext): Promise<void> {
  const problems: string[] = [];
  const rolledBack = new Error('rehearsal rolled back');
  try {
    await transaction(
      ctx.pool,
      async (tx) => {
        problems.length = 0;
        for (const index of step.steps) {
          const s = steps[index];
          if (!s || s.kind !== 'sql' || !s.transactional) continue;
          await tx.query('SAVEPOINT curtain_rehearsal');
          try {
            await tx.query(s.sql);
            await tx.query('RELEASE SAVEPOINT curtain_rehearsal');
          } catch (err) {
            const e = err as Error & { code?: string; detail?: string };
            if (e.code === '55P03' || e.code === '40P01') throw err; // the transaction helper retries
            await tx.query('ROLLBACK TO SAVEPOINT curtain_rehearsal');
            problems.push(`step ${index + 1} (${s.description}): ${e.message}${e.code ? ` [SQLSTATE ${e.code}]` : ''}${e.detail ? `\n    ${e.detail.replace(/\n/g, '\n    ')}` : ''}`);
          }
        }
        throw rolledBack;
      },
      { settings: { lock_timeout: ctx.config.lockTimeoutMs }, retries: ctx.config.lockRetries },
    );
  } catch (err) {
    if (err !== rolledBack) throw err;
  }
  if (problems.length > 0) {
    throw new GuardRefusal(
      'preflight',
      `contract of ${name} would fail; nothing was dropped:\n  ${problems.join('\n  ')}`,
      `drop or replace the objects named above (e.g. in a migration of their own, or with op.sql({ onContract })), then rerun "migrate contract ${name}"`,
    );
  }
}

/**
 * Say where a failed contract left the migration and the way back: still
 * switched with nothing dropped, or contracting with the snapshot to restore.
 */
async function explainFailure(err: unknown, entry: MigrationEntry, ctx: LifecycleContext): Promise<unknown> {
  if (isConnectionError(err)) {
    return new CurtainError(`lost the connection to the database during contract of ${entry.name}: ${(err as Error).message}`, {
      hint: `rerun "migrate contract ${entry.name}" to resume where it stopped`,
      cause: err,
    });
  }
  const record = await getRecord(ctx.pool, ctx.config.schema, entry.name).catch(() => undefined);
  if (!record) return err;
  const base = err as Error & { hint?: string; exitCode?: CurtainError['exitCode'] };
  const exitCode = err instanceof CurtainError ? err.exitCode : ExitCode.error;
  const phase = phaseOf(record.phase);
  // Still where contract started (switched): the preflight stopped it. Interrupted (contracting): the destructive half had begun.
  if (!isInterrupted(phase)) {
    if (err instanceof GuardRefusal) return err;
    return new CurtainError(`contract of ${entry.name} stopped before anything was dropped: ${base.message}`, {
      hint: `${base.hint ? `${base.hint}; ` : ''}the migration is still ${phase}: fix the cause, then rerun "migrate contract ${entry.name}"`,
      exitCode,
      cause: err,
    });
  }
  const start = await lastEvent(ctx.pool, ctx.config.schema, entry.name, 'contract.start');
  const snapshotId = start?.details.snapshotId as string | null | undefined;
  const way = snapshotId
    ? `to go back instead, restore the pre-contract snapshot: migrate snapshot restore ${snapshotId}`
    : 'no pre-contract snapshot was taken, so there is no automatic way back';
  return new CurtainError(`contract of ${entry.name} stopped in its destructive half: ${base.message}`, {
    hint: `fix the cause and rerun "migrate contract ${entry.name}" to finish it; ${way}`,
    exitCode,
    cause: err,
  });
}

