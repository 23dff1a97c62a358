import type pg from 'pg';
import { UsageError } from '../../errors.js';
import { getFlag, setFlag } from '../../flags/store.js';
import { targetFlag } from '../../flags/target.js';
import { parseTargeting } from '../../flags/targeting-syntax.js';
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
  /** On for these subjects (`--for user:42,user:7`), before any percentage. */
  for?: readonly string[];
  /** On for contexts meeting every condition (`--where "tenant in (acme)"`), before any percentage. */
  where?: readonly string[];
}

/** What a caller inside curtain (a rollout plan) adds to a switch: its audit reason, and its own record in the flag's transaction. */
export interface SwitchHooks {
  /** The flag audit's reason (default `switch <name>`). */
  reason?: string;
  /** Runs in the transaction that changes the flag; throwing rolls the change back. */
  record?: (tx: pg.PoolClient) => Promise<void>;
  /** Added to the migration event's details (e.g. the rollout step). */
  details?: Record<string, unknown>;
}

/**
 * Switch a migration's flag: on for everyone, on for `percent` of subjects, or
 * back off. The dual-write authority follows the flag in the same transaction.
 */
export async function switchFlag(project: Project, entry: MigrationEntry, options: SwitchOptions, ctx: LifecycleContext, hooks: SwitchHooks = {}): Promise<TransitionResult> {
  const started = performance.now();
  if (options.percent !== undefined && options.off) throw new UsageError('--percent and --off exclude each other');
  const targeting = Boolean(options.for?.length || options.where?.length);
  if (targeting && options.off) throw new UsageError('--for/--where and --off exclude each other');
  // Bad targeting text stops here, before the lock's work and any snapshot.
  if (targeting) parseTargeting({ for: options.for, where: options.where });
  // With targeting and no --percent, only the targeted see the flag (the percentage of a flag that was off stays 0).
  const percent = options.off ? 0 : (options.percent ?? (targeting ? undefined : 100));
  if (percent !== undefined && (!Number.isInteger(percent) || percent < 0 || percent > 100)) throw new UsageError(`--percent must be a whole number from 0 to 100`);
  const on = targeting || (percent ?? 0) > 0;
  const command = on ? 'switch' : 'switch-off';
  const admitted = admit(command, entry, entry.record?.flag);
  if ('noop' in admitted) return admitted.noop;
  const schema = ctx.config.schema;
  const record = entry.record!;
  const migration = await project.load(entry);
  const program = project.program(entry, migration);
  const details: Record<string, unknown> = { percent: percent ?? null, enabled: on, ...(targeting ? { for: options.for ?? [], where: options.where ?? [] } : {}), ...hooks.details };
  const runtime = stepRuntime(ctx, migration, {
    async snapshot() {
      // Turning the flag on is when new code starts writing: keep a way back to this moment.
      const flag = await getFlag(ctx.pool, schema, record.flag);
      if (flag?.enabled || !snapshotWanted('switch', migration, ctx, options.snapshot)) return;
      details.snapshotId = (await takeAutoSnapshot('switch', migration, program, ctx)) ?? null;
    },
    async bookkeeping(action, tx) {
      const meta = { actor: ctx.actor, reason: hooks.reason ?? `switch ${entry.name}` };
      if (targeting) await targetFlag(tx, schema, record.flag, { enabled: true, rollout: percent, for: options.for, where: options.where }, meta);
      else await setFlag(tx, schema, record.flag, { enabled: on, rollout: on ? percent : 100 }, meta);
      await setPhase(tx, schema, entry.name, toStored(admitted.run.to));
      await addEvent(tx, schema, { migration: entry.name, event: action, actor: ctx.actor, details });
      await hooks.record?.(tx);
    },
  });
  // Each switch is its own run: record it under a unique phase name.
  await runProgram(program.phases[command], { ...executorOptions(ctx, entry.name, `switch-${Date.now()}`), runtime });
  return { migration: entry.name, flag: record.flag, from: entry.phase, to: admitted.run.to, noop: false, durationMs: performance.now() - started, details };
}
