import type { Command } from 'commander';
import { formatDuration, parseDuration } from '../../duration.js';
import { UsageError } from '../../errors.js';
import { describeStep } from '../../migration/rollout-plan.js';
import { withContext } from '../context.js';
import { migratorFor } from '../migrator.js';
import { printTransitions } from '../transitions.js';

interface SwitchCliOptions {
  percent?: string;
  off?: boolean;
  snapshot: boolean;
  for?: string[];
  where?: string[];
  plan?: string;
  every?: string;
  check?: string;
  minErrors?: string;
  poll?: string;
  checkTimeout?: string;
}

export function register(program: Command): void {
  program
    .command('switch <name>')
    .description("turn a migration's flag on (for everyone or a percentage of subjects), or back off; or advance it along a rollout plan")
    .option('--percent <n>', 'turn the flag on for this percentage of subjects (sticky per subject)')
    .option('--off', 'turn the flag off again (the old state is current: nothing is lost); cancels a running rollout plan')
    .option('--for <subjects...>', 'on for these subjects first (e.g. user:42,user:7), before any percentage')
    .option('--where <condition...>', 'on for contexts meeting the condition (e.g. "tenant in (acme, initech)"); several are ANDed')
    .option('--plan <percentages>', 'rollout plan: increasing percentages (e.g. 1,10,50,100), one step every --every, stopped and switched off when a stop condition trips')
    .option('--every <duration>', 'with --plan: time between steps (e.g. 10m)')
    .option('--check <sql>', 'with --plan: a query that must keep returning true (read-only, with a statement timeout)')
    .option('--min-errors <n>', 'with --plan: new-path errors needed before its error rate can stop the rollout (default 5)')
    .option('--poll <duration>', 'with --plan: how often the stop conditions are checked while waiting (default --every/10, at most 5s)')
    .option('--check-timeout <duration>', 'with --plan: statement timeout of --check (default 5s)')
    .option('--no-snapshot', 'skip the automatic snapshot before turning the flag on (needs --yes)')
    .action(async (name: string, opts: SwitchCliOptions, command: Command) => {
      const percent = opts.percent === undefined ? undefined : Number(opts.percent);
      if (percent !== undefined && (!Number.isInteger(percent) || percent < 0 || percent > 100)) {
        throw new UsageError(`--percent must be a whole number from 0 to 100, got ${opts.percent}`);
      }
      const planned = opts.plan !== undefined;
      if (planned && (percent !== undefined || opts.off)) throw new UsageError('--plan excludes --percent and --off', 'a plan sets the percentages itself; "migrate switch <name> --off" cancels it');
      if (planned && opts.every === undefined) throw new UsageError('--plan needs --every <duration>, the time between steps (e.g. --every 10m)');
      for (const [option, value] of [['--every', opts.every], ['--check', opts.check], ['--min-errors', opts.minErrors], ['--poll', opts.poll], ['--check-timeout', opts.checkTimeout]] as const) {
        if (!planned && value !== undefined) throw new UsageError(`${option} only goes with --plan`);
      }
      const minErrors = opts.minErrors === undefined ? undefined : Number(opts.minErrors);
      if (minErrors !== undefined && (!Number.isInteger(minErrors) || minErrors < 1)) throw new UsageError(`--min-errors must be a whole number of at least 1, got ${opts.minErrors}`);
      await withContext(command, async (ctx) => {
        if (!opts.snapshot && !ctx.globals.yes) throw new UsageError('--no-snapshot skips a safety net; add --yes to confirm');
        const { migrator, finish } = migratorFor(ctx);
        try {
          if (planned) {
            const r = await migrator.rollout(name, {
              plan: opts.plan!,
              every: opts.every!,
              check: opts.check,
              for: opts.for,
              where: opts.where,
              snapshot: opts.snapshot ? undefined : false,
              minErrors,
              pollMs: opts.poll === undefined ? undefined : parseDuration(opts.poll, '--poll'),
              checkTimeoutMs: opts.checkTimeout === undefined ? undefined : parseDuration(opts.checkTimeout, '--check-timeout'),
            });
            ctx.out.result({ command: 'switch', rollout: r });
            const steps = r.steps.map((_, i) => describeStep(r, i)).join(' → ');
            if (r.noop) ctx.out.line(`${ctx.out.color.dim('=')} ${r.migration}: the rollout ${steps} completed already`);
            else ctx.out.line(`${ctx.out.color.green('✓')} ${r.migration}: rollout completed: ${steps} ${ctx.out.color.dim(`(flag ${r.flag}, ${formatDuration(r.durationMs)})`)}`);
            return;
          }
          const result = await migrator.switch(name, { percent, off: opts.off, snapshot: opts.snapshot ? undefined : false, for: opts.for, where: opts.where });
          printTransitions(ctx.out, 'switch', [result]);
          if (result.details?.rolloutCancelled) ctx.out.line(`  the running rollout plan of ${result.migration} is cancelled`);
        } finally {
          finish();
        }
      });
    });
}
