import type { Command } from 'commander';
import { formatDuration } from '../../duration.js';
import { quoteIdent } from '../../db/identifiers.js';
import { flagDebt, flagState } from '../../flags/debt.js';
import { listFlags, type FlagRow } from '../../flags/store.js';
import { describeFlagState } from '../../flags/targeting.js';
import { commandsFrom, isApplied, isInFlight, isInterrupted, TERMINAL, type Phase } from '../../migration/machine.js';
import { listBackfillControls } from '../../backfill/control.js';
import { backfillSummaries } from '../../store/checkpoints.js';
import { listEvents, stepLog } from '../../store/migrations.js';
import { Project, type MigrationEntry } from '../../migration/project.js';
import { lastDriftCheck } from '../../migration/drift.js';
import { listRollouts, getRollout } from '../../store/rollouts.js';
import { rolloutJson, rolloutLine } from '../../migration/rollout-view.js';
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
  const controls = new Map((await listBackfillControls(ctx.database.pool, ctx.config.schema)).map((b) => [b.migration, b]));
  const rollouts = new Map((await listRollouts(ctx.database.pool, ctx.config.schema)).map((r) => [r.migration, r]));
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
      backfill: cp ? { rowsDone: cp.rowsDone, rowsTotal: cp.rowsTotal, done: cp.done, waiting: cp.done ? null : (controls.get(e.name)?.throttled ?? null) } : null,
      // The commands that move it from here (none only at the end of the lifecycle).
      next: e.file ? commandsFrom(e.phase) : [],
      // The last rollout plan, while the migration is in flight.
      rollout: isInFlight(e.phase) && rollouts.has(e.name) ? rolloutJson(rollouts.get(e.name)!) : null,
      changed: e.changed,
      missingFile: !e.file,
      updatedAt: e.record?.updatedAt ?? null,
    };
  });
  const debt = await flagDebt([...flags.values()], { root: ctx.config.root, sourceGlobs: ctx.config.flags.sourceGlobs, maxAgeMs: ctx.config.flags.maxAgeMs });
  const drift = await lastDriftCheck(ctx.database.pool, ctx.config.schema);
  ctx.out.result({ migrations: items, flagDebt: debt, drift: drift ? { checkedAt: drift.checkedAt, objects: drift.items.length } : null });
  if (items.length === 0) {
    ctx.out.line(`no migrations in ${ctx.config.migrationsDir}/ — create one with "migrate create <name>"`);
  }
  const out = ctx.out;
  const c = out.color;
  const paint = (phase: Phase) =>
    out.paint(phase, TERMINAL.includes(phase) ? 'green' : !isApplied(phase) ? 'dim' : isInterrupted(phase) ? 'yellow' : 'cyan');
  out.table(
    ['migration', 'phase', 'flag', 'state', 'backfill', 'next', 'updated'],
    items.map((i) => [
      [i.name, i.changed ? out.paint(' (CHANGED)', 'red') : i.missingFile ? out.paint(' (file missing)', 'red') : ''],
      paint(i.phase),
      i.flag ?? '',
      i.flagState ?? '',
      i.backfill
        ? `${i.backfill.rowsDone}${i.backfill.rowsTotal === null ? '' : `/${i.backfill.rowsTotal}`}${i.backfill.done ? ' ✓' : ''}${i.backfill.waiting ? ` (${i.backfill.waiting})` : ''}`
        : '',
      i.next.join(', '),
      i.updatedAt ? `${formatDuration(Date.now() - i.updatedAt.getTime())} ago` : '',
    ]),
  );
  const withRollout = items.filter((i) => i.rollout);
  if (withRollout.length > 0) {
    ctx.out.line();
    ctx.out.line(c.bold('rollouts'));
    for (const i of withRollout) ctx.out.line(`  ${i.name}: ${rolloutLine(rollouts.get(i.name)!)}`);
  }
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

async function timeline(ctx: CommandContext, entry: MigrationEntry): Promise<void> {
  const events = entry.record ? await listEvents(ctx.database.pool, ctx.config.schema, entry.name) : [];
  const steps = entry.record ? await stepLog(ctx.database.pool, ctx.config.schema, entry.name) : [];
  const rollout = entry.record ? await getRollout(ctx.database.pool, ctx.config.schema, entry.name) : undefined;
  ctx.out.result({
    name: entry.name,
    phase: entry.phase,
    flag: entry.record?.flag ?? null,
    checksum: entry.record?.checksum ?? entry.file?.checksum ?? null,
    changed: entry.changed,
    verification: entry.record?.verification ?? null,
    rollout: rollout ? rolloutJson(rollout) : null,
    events,
    steps: steps.map((s) => ({ phase: s.phase, index: s.index, description: s.description, lock: s.lock, attempts: s.attempts, durationMs: s.durationMs, finishedAt: s.finishedAt })),
    next: entry.file ? commandsFrom(entry.phase) : [],
  });
  ctx.out.line(`${ctx.out.color.bold(entry.name)}  ${entry.phase}${entry.record ? `  flag ${entry.record.flag}` : ''}`);
  if (entry.record?.description) ctx.out.line(entry.record.description);
  if (rollout) ctx.out.line(`rollout: ${rolloutLine(rollout)}`);
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
