import type { Command } from 'commander';
import type { PlannedMigration } from '../../migration/migrator.js';
import type { ProgramStep } from '../../migration/program.js';
import { withContext } from '../context.js';
import { migratorFor } from '../migrator.js';
import type { Output } from '../output.js';

export function register(program: Command): void {
  program
    .command('plan [name]')
    .description('print the steps every remaining command would run, in the order they run, with the lock each takes')
    .action(async (name: string | undefined, _opts: unknown, command: Command) => {
      await withContext(command, async (ctx) => {
        const plans = await migratorFor(ctx).migrator.plan(name);
        ctx.out.result({ migrations: plans });
        if (plans.length === 0) ctx.out.line('nothing ahead: every migration is contracted');
        for (const p of plans) print(ctx.out, p);
      });
    });
}

function print(out: Output, p: PlannedMigration): void {
  const c = out.color;
  out.line(c.bold(`${p.name}`) + c.dim(`  (${p.phase}, flag ${p.flag}${p.kind === 'code' ? ', code migration' : ''})`));
  for (const w of p.warnings) out.line(`  ${c.yellow('warning')} ${w}`);
  for (const { command, steps } of p.phases) {
    out.line(`  ${c.cyan(`migrate ${command === 'switch-off' ? 'switch --off' : command}`)}`);
    steps.forEach((s, i) => {
      const mark = s.done ? c.green(' (done)') : '';
      out.line(`    ${String(i + 1).padStart(2)}. ${c.yellow(`[${lockOf(s)}]`)} ${s.description}${mark}`);
      if (s.kind === 'sql') for (const line of s.sql.trim().split('\n')) out.line(`        ${c.dim(line)}`);
      if (s.kind === 'backfill') out.line(`        ${c.dim(Object.entries(s.task.set).map(([k, v]) => `${k} = ${v}`).join(', '))}`);
    });
  }
  for (const w of p.warnings) out.line(`  ${c.yellow('warning')} ${w}`);
  if (p.kind === 'code') out.line(`  ${c.dim('no schema changes: expand creates the flag, switch flips it, contract retires it')}`);
}

function lockOf(s: ProgramStep): string {
  if (s.kind === 'sql') return `${s.lock}${s.transactional ? '' : ', outside a transaction'}${s.ownTransaction ? ', own transaction' : ''}`;
  if (s.kind === 'backfill') return `${s.lock}, in batches`;
  return `${s.lock}, ${s.kind}`;
}
