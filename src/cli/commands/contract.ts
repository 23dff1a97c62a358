import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { contract, type TransitionResult } from '../../migration/lifecycle.js';
import { withContext } from '../context.js';
import { openLifecycle } from '../lifecycle-context.js';
import { printTransitions } from '../transitions.js';
import { beforeContractSnapshot } from '../snapshot-hooks.js';

export function register(program: Command): void {
  program
    .command('contract [name]')
    .description('remove the old state once the new one has proven itself (guarded; snapshot first)')
    .option('--force <guard...>', 'override a named guard (recorded in the history)')
    .option('--no-snapshot', 'skip the snapshot of what contract removes (needs --yes)')
    .action(async (name: string | undefined, opts: { force?: string[]; snapshot: boolean }, command: Command) => {
      await withContext(
        command,
        async (ctx) => {
          if (!opts.snapshot && !ctx.globals.yes) throw new UsageError('--no-snapshot skips a safety net; add --yes to confirm');
          const { project, lifecycle, reporter } = await openLifecycle(ctx);
          const targets = name ? [project.find(name)] : project.entries.filter((e) => e.phase === 'switched' || e.phase === 'contracting');
          const results: TransitionResult[] = [];
          try {
            for (const entry of targets) {
              results.push(
                await contract(
                  project,
                  entry,
                  { force: opts.force, snapshot: () => beforeContractSnapshot(ctx, project, entry, opts.snapshot) },
                  lifecycle,
                ),
              );
            }
          } finally {
            reporter.finish();
          }
          printTransitions(ctx.out, 'contract', results);
        },
        { mutating: 'contract' },
      );
    });
}
