import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { withContext } from '../context.js';
import { migratorFor } from '../migrator.js';
import { printTransitions } from '../transitions.js';

export function register(program: Command): void {
  program
    .command('switch <name>')
    .description("turn a migration's flag on (for everyone or a percentage of subjects), or back off")
    .option('--percent <n>', 'turn the flag on for this percentage of subjects (sticky per subject)')
    .option('--off', 'turn the flag off again (the old state is current: nothing is lost)')
    .option('--for <subjects...>', 'on for these subjects first (e.g. user:42,user:7), before any percentage')
    .option('--where <condition...>', 'on for contexts meeting the condition (e.g. "tenant in (acme, initech)"); several are ANDed')
    .option('--no-snapshot', 'skip the automatic snapshot before turning the flag on (needs --yes)')
    .action(async (name: string, opts: { percent?: string; off?: boolean; snapshot: boolean; for?: string[]; where?: string[] }, command: Command) => {
      const percent = opts.percent === undefined ? undefined : Number(opts.percent);
      if (percent !== undefined && (!Number.isInteger(percent) || percent < 0 || percent > 100)) {
        throw new UsageError(`--percent must be a whole number from 0 to 100, got ${opts.percent}`);
      }
      await withContext(command, async (ctx) => {
        if (!opts.snapshot && !ctx.globals.yes) throw new UsageError('--no-snapshot skips a safety net; add --yes to confirm');
        const { migrator, finish } = migratorFor(ctx);
        try {
          const result = await migrator.switch(name, { percent, off: opts.off, snapshot: opts.snapshot ? undefined : false, for: opts.for, where: opts.where });
          printTransitions(ctx.out, 'switch', [result]);
        } finally {
          finish();
        }
      });
    });
}
