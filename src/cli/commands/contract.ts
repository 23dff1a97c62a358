import type { Command } from 'commander';
import { parseDuration } from '../../duration.js';
import { UsageError } from '../../errors.js';
import { withContext } from '../context.js';
import { migratorFor } from '../migrator.js';
import { printTransitions } from '../transitions.js';

export function register(program: Command): void {
  program
    .command('contract [name]')
    .description('remove the old state once the new one has proven itself (guarded; snapshot first)')
    .option('--force <guard...>', 'override a named guard (recorded in the history)')
    .option('--no-snapshot', 'skip the snapshot of what contract removes (needs --yes)')
    .option('--no-lint', 'skip the safety rules (needs --yes)')
    .option('--wait [duration]', 'when the telemetry has too little evidence yet, wait for it (default up to 10m) instead of refusing')
    .action(async (name: string | undefined, opts: { force?: string[]; snapshot: boolean; lint: boolean; wait?: string | boolean }, command: Command) => {
      const waitMs = opts.wait === undefined ? undefined : opts.wait === true ? 600_000 : parseDuration(String(opts.wait), '--wait');
      await withContext(command, async (ctx) => {
        if (!opts.snapshot && !ctx.globals.yes) throw new UsageError('--no-snapshot skips a safety net; add --yes to confirm');
        if (!opts.lint && !ctx.globals.yes) throw new UsageError('--no-lint skips the safety rules; add --yes to confirm');
        const { migrator, finish } = migratorFor(ctx);
        try {
          const results = await migrator.contract(name, { force: opts.force, takeSnapshot: opts.snapshot ? undefined : false, lint: opts.lint, waitMs });
          printTransitions(ctx.out, 'contract', results);
        } finally {
          finish();
        }
      });
    });
}
