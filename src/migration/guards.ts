import { formatDuration } from '../duration.js';
import { GuardRefusal, UsageError } from '../errors.js';
import { quoteQualified } from '../db/identifiers.js';
import { findFlagReferences } from '../flags/references.js';
import { getFlag } from '../flags/store.js';
import { flagUsage } from '../flags/usage.js';
import type { LifecycleContext } from './context.js';
import { backfillTasks, type Program } from './program.js';
import type { LoadedMigration } from './loader.js';
import type { MigrationEntry, Project } from './project.js';

/** The contract guards, by the name `--force` takes. */
export const CONTRACT_GUARDS = ['flag-fully-on', 'soak', 'no-false-evaluations', 'snapshot', 'verification', 'code-references'] as const;
export type ContractGuard = (typeof CONTRACT_GUARDS)[number];

export interface GuardOptions {
  /** Guards to override; each is recorded in the migration's history. */
  force?: string[];
  /** Take the pre-contract snapshot (default: per configuration); false skips it, recorded as a forced guard. */
  takeSnapshot?: boolean;
  /** Custom hook that takes the pre-contract snapshot and returns its id. */
  snapshot?: () => Promise<string | undefined>;
  /** Hook for the telemetry guard: how many false evaluations live clients reported within the window. */
  falseEvaluations?: (flag: string, windowMs: number) => Promise<{ clients: number; falseCount: number } | undefined>;
  /** Hook for code migrations: references to the flag still in the source tree. */
  codeReferences?: (flag: string) => Promise<string[]>;
}

/**
 * Check every contract guard in order; the first that fails refuses with its
 * name (exit 3) unless forced. Returns what was checked, for the history.
 * (The snapshot guard is the contract program's snapshot step.)
 */
export async function runContractGuards(
  project: Project,
  entry: MigrationEntry,
  migration: LoadedMigration,
  program: Program,
  options: GuardOptions,
  ctx: LifecycleContext,
): Promise<{ passed: string[]; forced: string[] }> {
  const falseEvaluations =
    options.falseEvaluations ??
    (async (flag: string, windowMs: number) => {
      const usage = (await flagUsage(ctx.pool, ctx.config.schema, flag, { windowMs }))[0];
      return usage && { clients: usage.liveClients, falseCount: usage.falseCount };
    });
  const codeReferences =
    options.codeReferences ??
    (async (flag: string) => (await findFlagReferences(ctx.config.root, ctx.config.flags.sourceGlobs, flag)).map((r) => `${r.file}:${r.line}: ${r.text.trim()}`));
  const force = new Set(options.force ?? []);
  for (const name of force) {
    if (!(CONTRACT_GUARDS as readonly string[]).includes(name)) {
      throw new UsageError(`unknown guard "${name}" for --force`, `guards: ${CONTRACT_GUARDS.join(', ')}`);
    }
  }
  const passed: string[] = [];
  const forced: string[] = [];
  const check = (guard: ContractGuard, ok: boolean, why: string, hint?: string) => {
    if (ok) passed.push(guard);
    else if (force.has(guard)) forced.push(guard);
    else throw new GuardRefusal(guard, why, hint ?? `fix it, or override with --force ${guard}`);
  };
  const record = entry.record!;
  const flag = await getFlag(ctx.pool, ctx.config.schema, record.flag);
  const fullyOn = Boolean(flag && flag.enabled && flag.rollout === 100);
  check(
    'flag-fully-on',
    fullyOn,
    !flag ? `flag ${record.flag} does not exist` : !flag.enabled ? `flag ${record.flag} is off` : `flag ${record.flag} is on for only ${flag.rollout}%`,
    `run "migrate switch ${entry.name}" (100%) first`,
  );
  const minSoak = ctx.config.contract.minSoakMs;
  const soakedMs = flag?.fullyOnSince ? Date.now() - flag.fullyOnSince.getTime() : 0;
  check(
    'soak',
    minSoak === 0 || soakedMs >= minSoak,
    `flag ${record.flag} has been fully on for ${formatDuration(soakedMs)}; contract.minSoak is ${formatDuration(minSoak)}`,
    `wait ${formatDuration(Math.max(0, minSoak - soakedMs))} more, or --force soak`,
  );
  // Telemetry comes in one-minute windows: only windows that began after the
  // flag went fully on can prove that no client still takes the old path.
  const since = flag?.fullyOnSince ? Math.ceil(flag.fullyOnSince.getTime() / 60_000) * 60_000 : undefined;
  const windowMs = since === undefined ? 0 : Date.now() - since;
  if (windowMs > 0) {
    const usage = await falseEvaluations(record.flag, windowMs);
    check(
      'no-false-evaluations',
      !usage || usage.falseCount === 0,
      `${usage?.falseCount} evaluation(s) of ${record.flag} returned false since it went fully on (${usage?.clients} live client(s) reporting): some code still takes the old path`,
      'make sure every instance runs code that reads the flag, then retry',
    );
  }
  // Re-verify now, not just at expand: a writer bypassing the trigger may have made a derived
  // column (a renamed or shadow column) diverge. Columns new code writes itself may differ.
  let outOfSync = record.verification?.outOfSync ?? 0;
  for (const task of backfillTasks(program)) {
    if (task.recheck === undefined) continue;
    const { rows } = await ctx.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ${quoteQualified(task.table.schema, task.table.name)} WHERE ${task.recheck}`,
    );
    outOfSync += rows[0]?.n ?? 0;
  }
  check(
    'verification',
    outOfSync === 0,
    `${outOfSync} row(s) where the new side no longer equals up(old side)`,
    'find the writer that bypasses the dual-write trigger (or a lossy up/down pair), fix the rows, then retry',
  );
  if (migration.kind === 'code') {
    const refs = await codeReferences(record.flag);
    check(
      'code-references',
      refs.length === 0,
      `the source still references flag ${record.flag}, so the old code path may still exist:\n  ${refs.slice(0, 20).join('\n  ')}`,
      'remove the flag check and the old path, then contract',
    );
  }
  void project;
  return { passed, forced };
}
