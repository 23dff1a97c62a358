import { transaction } from '../../db/transaction.js';
import { CurtainError, GuardRefusal, UsageError } from '../../errors.js';
import { deleteFlag, getFlag, setFlag } from '../../flags/store.js';
import { addEvent, clearSteps, forgetMigration, getRecord, setPhase, startRecord } from '../../store/migrations.js';
import { executorOptions, type LifecycleContext, type TransitionResult } from '../context.js';
import { InterruptedError, runProgram } from '../executor.js';
import { assertLintClean } from '../lint.js';
import type { LoadedMigration } from '../loader.js';
import { toStored } from '../machine.js';
import { programFor } from '../planning.js';
import type { Program } from '../program.js';
import type { MigrationEntry, Project } from '../project.js';
import { admit, isConnectionError, stepRuntime } from './common.js';

/**
 * Expand one migration: build state B next to A (additive steps, dual-write
 * triggers, backfill, verification) and create its flag, off. Resumes an
 * interrupted expand; if the migration itself fails (a bad expression, a
 * verification mismatch), everything it created is removed.
 */
export async function expand(project: Project, entry: MigrationEntry, ctx: LifecycleContext): Promise<TransitionResult> {
  const started = performance.now();
  const migration = await project.load(entry);
  const admitted = admit('expand', entry, migration.flag);
  if ('noop' in admitted) return admitted.noop;
  const { config, pool } = ctx;
  const schema = config.schema;
  let program: Program;
  if (!admitted.run.resumes) {
    await assertFlagFree(ctx, migration);
    program = await programFor(migration, pool, schema, { fireUserTriggers: config.backfill.fireUserTriggers });
    assertNoOverlap(project, entry, program);
    if (ctx.lint !== false) await assertLintClean(migration, 'expand', program);
    // A fresh expand starts a new lifecycle: step records of an earlier one (expanded, then aborted) would make
    // this lifecycle's abort or contract skip steps as "already done". (Abort's last group records itself after
    // its own cleanup, so this is where they go.)
    await clearSteps(pool, schema, entry.name, ['expand', 'contract', 'abort']);
    ctx.reporter?.phase?.(entry.name, 'expanding (building the new state)');
  } else {
    program = project.program(entry, migration);
    ctx.reporter?.phase?.(entry.name, 'resuming an interrupted expand');
  }

  const runtime = stepRuntime(ctx, migration, {
    async bookkeeping(action, tx) {
      if (action === 'expand.start') {
        await startRecord(tx, schema, {
          name: entry.name,
          checksum: migration.checksum,
          flag: migration.flag,
          kind: migration.kind,
          description: migration.definition.description,
          plan: program,
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
      } else if (action === 'expand.done') {
        const durationMs = performance.now() - started;
        await setPhase(tx, schema, entry.name, toStored(admitted.run.to), {
          verification: { outOfSync: 0, checkedAt: new Date().toISOString() },
        });
        await addEvent(tx, schema, { migration: entry.name, event: 'expand.done', actor: ctx.actor, durationMs, details: { outOfSync: 0 } });
      }
    },
  });

  try {
    await runProgram(program.phases.expand, { ...executorOptions(ctx, entry.name, 'expand'), runtime });
    return { migration: entry.name, flag: migration.flag, from: entry.phase, to: admitted.run.to, noop: false, durationMs: performance.now() - started };
  } catch (err) {
    if (keepsProgress(err, ctx)) throw resumable(err, entry.name);
    await undoFailedExpand(entry.name, migration, program, ctx).catch((cleanupErr) => {
      throw new CurtainError(`expand of ${entry.name} failed (${(err as Error).message}) and cleaning up failed too: ${(cleanupErr as Error).message}`, {
        hint: `run "migrate abort ${entry.name}" to finish the cleanup`,
        cause: err,
      });
    });
    const e = err as Error & { hint?: string };
    throw new CurtainError(`expand of ${entry.name} failed: ${e.message}; everything it created was removed`, {
      hint: err instanceof CurtainError ? err.hint : undefined,
      cause: err,
    });
  }
}

/**
 * Failures that say nothing against the migration itself: the connection went
 * away, the command was asked to stop, another process took the lock. What is
 * done stays done; a rerun resumes from the checkpoints.
 */
function keepsProgress(err: unknown, ctx: LifecycleContext): boolean {
  if (ctx.signal?.aborted || err instanceof InterruptedError) return true;
  if (isConnectionError(err)) return true;
  return err instanceof CurtainError && err.resumable;
}

function resumable(err: unknown, name: string): unknown {
  // Ours already says what happened and how to resume (a lost lock, a paused backfill, an interruption).
  if (err instanceof CurtainError && (err.resumable || err instanceof InterruptedError || !isConnectionError(err))) return err;
  return new CurtainError(`lost the connection to the database during expand of ${name}: ${(err as Error).message}`, {
    hint: `nothing was undone; rerun "migrate expand ${name}" to resume where it stopped`,
    cause: err,
  });
}

/** Remove what a failed expand created, so the database is as before. */
async function undoFailedExpand(name: string, migration: LoadedMigration, program: Program, ctx: LifecycleContext): Promise<void> {
  const schema = ctx.config.schema;
  const record = await getRecord(ctx.pool, schema, name);
  if (!record) return; // the first transaction never committed: nothing to undo
  const undo = program.phases.abort.filter((s) => s.kind === 'sql' || s.kind === 'custom');
  await runProgram(undo, { ...executorOptions(ctx, name, `undo-${Date.now()}`), runtime: stepRuntime(ctx, migration, {}) });
  await transaction(ctx.pool, async (tx) => {
    await deleteFlag(tx, schema, migration.flag, { actor: ctx.actor, reason: `expand of ${name} failed` });
    await forgetMigration(tx, schema, name);
  });
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
function assertNoOverlap(project: Project, entry: MigrationEntry, program: Program): void {
  // What this migration changes or builds objects over, against what the others change (and the reverse).
  const mine = new Set([...program.touches, ...program.reads]);
  const changing = new Set(program.touches);
  for (const other of project.inFlight()) {
    if (other.name === entry.name || !other.record) continue;
    const shared = [
      ...other.record.touches.filter((t) => mine.has(t) || overlapsTable(t, mine)),
      ...((other.record.plan as { reads?: string[] }).reads ?? []).filter((t) => changing.has(t) || overlapsTable(t, changing)),
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
