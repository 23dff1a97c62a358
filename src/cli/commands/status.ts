import type { Command } from 'commander';
import { formatDuration } from '../../duration.js';
import { findFlagReferences } from '../../flags/references.js';
import { listFlags, type FlagRow } from '../../flags/store.js';
import { commandsFrom, isApplied, isInterrupted, TERMINAL, type Phase } from '../../migration/machine.js';
import { backfillSummaries } from '../../store/checkpoints.js';
import { listEvents, stepLog } from '../../store/migrations.js';
import { Project, type MigrationEntry } from '../../migration/project.js';
import { lastDriftCheck } from '../../migration/drift.js';
import { withContext, type CommandContext } from '../context.js';

export function register(program: Command): void {
  program
    .command('status [name]')
    .description('every migration with its phase, flag state and backfill progress; with a name, its timeline')
    .action(async (name: string | undefined, _opts: unknown, command: Command) => {
      await withContext(command, async (ctx) => {
        const project = await Project.open(ctx.config, ctx.database.pool);
        if (name) await timeline(ctx, project.find(name));
        else await overview(ctx, project);
        const changed = project.entries.find((e) => e.changed);
        if (changed) project.assertUnchanged();
      });
    });
}

async function overview(ctx: CommandContext, project: Project): Promise<void> {
  const flags = new Map((await listFlags(ctx.database.pool, ctx.config.schema)).map((f) => [f.key, f]));
  const progress = new Map((await backfillSummaries(ctx.database.pool, ctx.config.schema)).map((s) => [s.migration, s]));
  const items = project.entries.map((e) => {
    const flagKey = e.record?.flag;
    const flag = flagKey ? flags.get(flagKey) : undefined;
    const cp = progress.get(e.name);
    return {
      name: e.name,
      phase: e.phase,
      kind: e.record?.kind ?? null,
      flag: flagKey ?? null,
      flagState: flag ? flagState(flag) : null,
      backfill: cp ? { rowsDone: cp.rowsDone, rowsTotal: cp.rowsTotal, done: cp.done } : null,
      // The commands that move it from here (none only at the end of the lifecycle).
      next: e.file ? commandsFrom(e.phase) : [],
      changed: e.changed,
      missingFile: !e.file,
      updatedAt: e.record?.updatedAt ?? null,
    };
  });
  const debt = await flagDebt(ctx, [...flags.values()]);
  const drift = await lastDriftCheck(ctx.database.pool, ctx.config.schema);
  ctx.out.result({ migrations: items, flagDebt: debt, drift: drift ? { checkedAt: drift.checkedAt, objects: drift.items.length } : null });
  if (items.length === 0) {
    ctx.out.line(`no migrations in ${ctx.config.migrationsDir}/ — create one with "migrate create <name>"`);
  }
  const c = ctx.out.color;
  const paint = (phase: Phase) =>
    TERMINAL.includes(phase) ? c.green(phase) : !isApplied(phase) ? c.dim(phase) : isInterrupted(phase) ? c.yellow(phase) : c.cyan(phase);
  ctx.out.table(
    ['migration', 'phase', 'flag', 'state', 'backfill', 'next', 'updated'],
    items.map((i) => [
      i.name + (i.changed ? c.red(' (CHANGED)') : i.missingFile ? c.red(' (file missing)') : ''),
      paint(i.phase),
      i.flag ?? '',
      i.flagState ?? '',
      i.backfill ? `${i.backfill.rowsDone}${i.backfill.rowsTotal === null ? '' : `/${i.backfill.rowsTotal}`}${i.backfill.done ? ' ✓' : ''}` : '',
      i.next.join(', '),
      i.updatedAt ? `${formatDuration(Date.now() - i.updatedAt.getTime())} ago` : '',
    ]),
  );
  ctx.out.line(driftLine(drift));
  if (debt.length > 0) {
    ctx.out.line();
    ctx.out.line(c.bold(c.yellow(`flag debt (${debt.length})`)));
    for (const d of debt) {
      ctx.out.line(`  ${d.flag}: ${d.reason}`);
      for (const r of d.references.slice(0, 5)) ctx.out.line(c.dim(`    ${r}`));
      if (d.references.length > 5) ctx.out.line(c.dim(`    ... and ${d.references.length - 5} more`));
    }
  }
}

/** One line on schema drift, from the last "migrate drift" (which replays the migrations; status does not). */
function driftLine(last: Awaited<ReturnType<typeof lastDriftCheck>>): string {
  if (!last) return 'drift: never checked (run "migrate drift")';
  const ago = `${formatDuration(Date.now() - last.checkedAt.getTime())} ago`;
  return last.items.length === 0 ? `drift: none at the last check (${ago})` : `drift: ${last.items.length} object(s) differed at the last check (${ago}); see "migrate drift"`;
}

/** A flag that should be gone: its migration is contracted, or it has been on for too long. */
export interface FlagDebt {
  flag: string;
  migration: string | null;
  reason: string;
  references: string[];
}

/**
 * Flags that keep the system away from its steady state (all flags off):
 * retired flags of contracted migrations (locked on until the code stops
 * referencing them), and flags fully on for longer than `flags.maxAge`.
 */
async function flagDebt(ctx: CommandContext, flags: FlagRow[]): Promise<FlagDebt[]> {
  const debt: FlagDebt[] = [];
  for (const flag of flags) {
    if (flag.retired) {
      const refs = await findFlagReferences(ctx.config.root, ctx.config.flags.sourceGlobs, flag.key);
      debt.push({
        flag: flag.key,
        migration: flag.migration,
        reason: refs.length
          ? `locked on since contract; ${refs.length} reference(s) left in the source: remove them, then "migrate flags retire ${flag.key}"`
          : `locked on since contract and no longer referenced: run "migrate flags retire ${flag.key}"`,
        references: refs.map((r) => `${r.file}:${r.line}: ${r.text.trim()}`),
      });
    } else if (flag.fullyOnSince && Date.now() - flag.fullyOnSince.getTime() > ctx.config.flags.maxAgeMs) {
      debt.push({
        flag: flag.key,
        migration: flag.migration,
        reason: `fully on for ${formatDuration(Date.now() - flag.fullyOnSince.getTime())} (flags.maxAge is ${formatDuration(ctx.config.flags.maxAgeMs)}): contract its migration or remove it`,
        references: [],
      });
    }
  }
  return debt;
}

/** The flag's state in a few words: off, on, on 25%, locked on. */
export function flagState(flag: FlagRow): string {
  if (flag.retired) return 'locked on';
  if (!flag.enabled) return 'off';
  return flag.rollout === 100 ? 'on' : `on ${flag.rollout}%`;
}

async function timeline(ctx: CommandContext, entry: MigrationEntry): Promise<void> {
  const events = entry.record ? await listEvents(ctx.database.pool, ctx.config.schema, entry.name) : [];
  const steps = entry.record ? await stepLog(ctx.database.pool, ctx.config.schema, entry.name) : [];
  ctx.out.result({
    name: entry.name,
    phase: entry.phase,
    flag: entry.record?.flag ?? null,
    checksum: entry.record?.checksum ?? entry.file?.checksum ?? null,
    changed: entry.changed,
    verification: entry.record?.verification ?? null,
    events,
    steps: steps.map((s) => ({ phase: s.phase, index: s.index, description: s.description, lock: s.lock, attempts: s.attempts, durationMs: s.durationMs, finishedAt: s.finishedAt })),
    next: entry.file ? commandsFrom(entry.phase) : [],
  });
  ctx.out.line(`${ctx.out.color.bold(entry.name)}  ${entry.phase}${entry.record ? `  flag ${entry.record.flag}` : ''}`);
  if (entry.record?.description) ctx.out.line(entry.record.description);
  if (events.length === 0) {
    ctx.out.line('not expanded yet');
    return;
  }
  ctx.out.table(
    ['when', 'event', 'actor', 'took', 'details'],
    events.map((e) => [
      e.at.toISOString().replace('T', ' ').slice(0, 19),
      e.event,
      e.actor,
      e.durationMs === null ? '' : formatDuration(e.durationMs),
      Object.keys(e.details).length ? JSON.stringify(e.details) : '',
    ]),
  );
}
