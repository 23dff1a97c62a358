import type { Command } from 'commander';
import type { BackfillTask, Step } from '../../ops/operation.js';
import { planMigrationFor } from '../../migration/planning.js';
import { Project, type MigrationEntry } from '../../migration/project.js';
import { storePlan, type StoredPlan } from '../../migration/records.js';
import { withContext, type CommandContext } from '../context.js';
import type { Output } from '../output.js';

/** Which phases are still ahead of a migration in each state. */
const AHEAD: Record<string, (keyof PhaseSteps)[]> = {
  pending: ['expand', 'backfill', 'afterBackfill', 'switch', 'contract', 'abort'],
  expanding: ['expand', 'backfill', 'afterBackfill', 'switch', 'contract', 'abort'],
  expanded: ['switch', 'contract', 'abort'],
  switched: ['contract', 'abort'],
  contracting: ['contract'],
  aborting: ['abort'],
};

interface PhaseSteps {
  expand: Step[];
  backfill: BackfillTask[];
  afterBackfill: Step[];
  switch: Step[];
  contract: Step[];
  abort: Step[];
}

export function register(program: Command): void {
  program
    .command('plan [name]')
    .description('print the SQL every remaining phase would run, with the lock each statement takes')
    .action(async (name: string | undefined, _opts: unknown, command: Command) => {
      await withContext(command, async (ctx) => {
        const project = await Project.open(ctx.config, ctx.database.pool);
        project.assertUnchanged();
        const entries = name ? [project.find(name)] : project.entries.filter((e) => AHEAD[e.phase] && e.file);
        const plans = [];
        for (const entry of entries) plans.push(await planOf(ctx, project, entry));
        ctx.out.result({ migrations: plans });
        if (plans.length === 0) ctx.out.line('nothing ahead: every migration is contracted');
        for (const p of plans) print(ctx.out, p);
      });
    });
}

async function planOf(ctx: CommandContext, project: Project, entry: MigrationEntry) {
  const migration = await project.load(entry);
  const stored: StoredPlan = entry.record && entry.phase !== 'pending' ? entry.record.plan : storePlan(await planMigrationFor(migration, ctx.database.pool, ctx.config.schema, { fireUserTriggers: ctx.config.backfill.fireUserTriggers }));
  const all: PhaseSteps = {
    expand: stored.expand,
    backfill: stored.backfill,
    afterBackfill: stored.afterBackfill,
    switch: stored.authority.new,
    contract: stored.contract,
    abort: stored.abort,
  };
  const phases: Partial<PhaseSteps> = {};
  for (const phase of AHEAD[entry.phase] ?? []) (phases as Record<string, unknown>)[phase] = all[phase];
  return { name: entry.name, phase: entry.phase, flag: migration.flag, kind: migration.kind, touches: stored.touches, warnings: stored.warnings ?? [], phases };
}

function print(out: Output, p: Awaited<ReturnType<typeof planOf>>): void {
  const c = out.color;
  out.line(c.bold(`${p.name}`) + c.dim(`  (${p.phase}, flag ${p.flag}${p.kind === 'code' ? ', code migration' : ''})`));
  for (const [phase, steps] of Object.entries(p.phases)) {
    if (!steps || steps.length === 0) continue;
    out.line(`  ${c.cyan(phase)}`);
    for (const s of steps as (Step | BackfillTask)[]) {
      if ('set' in s) {
        out.line(`    ${c.yellow('[batches, ROW EXCLUSIVE]')} backfill ${s.table.schema}.${s.table.name}: ${Object.entries(s.set).map(([k, v]) => `${k} = ${v}`).join(', ')}`);
        continue;
      }
      out.line(`    ${c.yellow(`[${s.lock}${s.transactional ? '' : ', outside a transaction'}]`)} ${s.description}`);
      for (const line of s.sql.trim().split('\n')) out.line(`      ${c.dim(line)}`);
    }
  }
  for (const w of p.warnings) out.line(`  ${c.yellow('warning')} ${w}`);
  if (p.kind === 'code') out.line(`  ${c.dim('no schema changes: expand creates the flag, switch flips it, contract retires it')}`);
}
