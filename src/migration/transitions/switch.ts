import { UsageError } from '../../errors.js';
import { getFlag, setFlag } from '../../flags/store.js';
import { addEvent, setPhase } from '../../store/migrations.js';
import { executorOptions, type LifecycleContext, type TransitionResult } from '../context.js';
import { runProgram } from '../executor.js';
import { toStored } from '../machine.js';
import type { MigrationEntry, Project } from '../project.js';
import { snapshotWanted, takeAutoSnapshot } from '../snapshots.js';
import { admit, stepRuntime } from './common.js';

/** Options of {@link switchFlag}. */
export interface SwitchOptions {
  /** On for this percentage of subjects (default 100). */
  percent?: number;
  /** Back off: the old state is current again. */
  off?: boolean;
  /** Take the automatic snapshot when the flag goes from off to on (default: per configuration). */
  snapshot?: boolean;
}

/**
 * Switch a migration's flag: on for everyone, on for `percent` of subjects, or
 * back off. The dual-write authority follows the flag in the same transaction.
 */
export async function switchFlag(project: Project, entry: MigrationEntry, options: SwitchOptions, ctx: LifecycleContext): Promise<TransitionResult> {
  const started = performance.now();
  if (options.percent !== undefined && options.off) throw new UsageError('--percent and --off exclude each other');
  const percent = options.off ? 0 : (options.percent ?? 100);
  if (!Number.isInteger(percent) || percent < 0 || percent > 100) throw new UsageError(`--percent must be a whole number from 0 to 100`);
  const on = percent > 0;
  const command = on ? 'switch' : 'switch-off';
  const admitted = admit(command, entry, entry.record?.flag);
  if ('noop' in admitted) return admitted.noop;
  const schema = ctx.config.schema;
  const record = entry.record!;
  const migration = await project.load(entry);
  const program = project.program(entry, migration);
  const details: Record<string, unknown> = { percent, enabled: on };
  const runtime = stepRuntime(ctx, migration, {
    async snapshot() {
      // Turning the flag on is when new code starts writing: keep a way back to this moment.
      const flag = await getFlag(ctx.pool, schema, record.flag);
      if (flag?.enabled || !snapshotWanted('switch', migration, ctx, options.snapshot)) return;
      details.snapshotId = (await takeAutoSnapshot('switch', migration, program, ctx)) ?? null;
    },
    async bookkeeping(action, tx) {
      await setFlag(tx, schema, record.flag, { enabled: on, rollout: on ? percent : 100 }, { actor: ctx.actor, reason: `switch ${entry.name}` });
      await setPhase(tx, schema, entry.name, toStored(admitted.run.to));
      await addEvent(tx, schema, { migration: entry.name, event: action, actor: ctx.actor, details });
    },
  });
  // Each switch is its own run: record it under a unique phase name.
  await runProgram(program.phases[command], { ...executorOptions(ctx, entry.name, `switch-${Date.now()}`), runtime });
  return { migration: entry.name, flag: record.flag, from: entry.phase, to: admitted.run.to, noop: false, durationMs: performance.now() - started, details };
}
