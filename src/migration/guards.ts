import { formatDuration } from '../duration.js';
import { GuardRefusal, UsageError } from '../errors.js';
import { describeOutOfSync, verifyBackfill } from '../backfill/verify.js';
import { uncoveredPartitions } from '../backfill/partitions.js';
import { findFlagReferences } from '../flags/references.js';
import { getFlag } from '../flags/store.js';
import { telemetryEvidence } from '../flags/evidence.js';
import { sleep } from '../db/transaction.js';
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
  /** When the telemetry has too little evidence yet, wait up to this long for it instead of refusing. */
  waitMs?: number;
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
): Promise<{ passed: string[]; forced: string[]; skipped: string[] }> {
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
  // Guards with nothing to observe (no flags client reports to this database): neither passed nor forced.
  const skipped: string[] = [];
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
  // Telemetry decides on evidence, never on an empty window (see src/flags/evidence.ts).
  if (flag && fullyOn) {
    const deadline = Date.now() + (options.waitMs ?? 0);
    let evidence = await telemetryEvidence(ctx.pool, ctx.config.schema, flag);
    while (evidence.verdict === 'wait' && Date.now() < deadline && !ctx.signal?.aborted) {
      ctx.reporter?.phase?.(entry.name, `waiting for telemetry: ${evidence.why}`);
      await sleep(Math.min(1_000, Math.max(100, deadline - Date.now())), ctx.signal);
      evidence = await telemetryEvidence(ctx.pool, ctx.config.schema, flag);
    }
    if (evidence.verdict === 'no-clients') skipped.push('no-false-evaluations');
    else if (evidence.verdict === 'wait') {
      check(
        'no-false-evaluations',
        false,
        `too little evidence yet: ${evidence.why}`,
        `wait ${formatDuration(evidence.waitMs)} and retry, or rerun with --wait`,
      );
    } else {
      check('no-false-evaluations', evidence.verdict === 'pass', evidence.why, 'make sure every instance runs code that reads the flag, then retry');
    }
  }
  // Re-verify now, not just at expand: a writer bypassing the trigger may have made a derived
  // column (a renamed or shadow column) diverge. Columns new code writes itself may differ.
  let outOfSync = record.verification?.outOfSync ?? 0;
  const where: string[] = [];
  for (const task of backfillTasks(program)) {
    if (task.recheck === undefined) continue;
    const r = await verifyBackfill(ctx.pool, task, task.recheck);
    outOfSync += r.outOfSync;
    if (r.outOfSync > 0) where.push(describeOutOfSync(r));
  }
  check(
    'verification',
    outOfSync === 0,
    `${outOfSync} row(s) where the new side no longer equals up(old side)${where.length > 0 ? ` (${where.join('; ')})` : ''}`,
    'find the writer that bypasses the dual-write trigger (or a lossy up/down pair), fix the rows, then retry',
  );
  // A partition attached after the backfill passed holds rows it never walked (one created with
  // PARTITION OF got its rows through the dual-write trigger and is in sync).
  const uncovered = await uncoveredPartitions(ctx.pool, ctx.config.schema, entry.name, backfillTasks(program));
  check(
    'verification',
    uncovered.length === 0,
    `partition${uncovered.length === 1 ? '' : 's'} attached after the backfill of ${entry.name} hold${uncovered.length === 1 ? 's' : ''} rows it never filled: ${uncovered
      .map((u) => `${u.partition} of ${u.table} (${u.outOfSync} row${u.outOfSync === 1 ? '' : 's'} out of sync)`)
      .join(', ')}`,
    `fill ${uncovered.length === 1 ? 'it' : 'them'}, then retry:\n  ${uncovered.map((u) => u.fill).join('\n  ')}\n` +
      '(or fill a table before attaching it). If new code wrote those values on purpose (a column it writes itself), --force verification',
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
  return { passed, forced, skipped };
}
