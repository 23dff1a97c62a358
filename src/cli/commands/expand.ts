import type { Command } from 'commander';
import { parseDuration } from '../../duration.js';
import { UsageError } from '../../errors.js';
import { withContext } from '../context.js';
import { migratorFor } from '../migrator.js';
import { printTransitions } from '../transitions.js';

export function register(program: Command): void {
  program
    .command('expand [name]')
    .description('build the new state next to the old one: additive DDL, dual-write triggers, backfill, flag (off)')
    .option('--batch-size <rows>', 'backfill batch size (default: adaptive to ~200 ms per batch)')
    .option('--batch-delay <duration>', 'pause between backfill batches, e.g. 50ms')
    .option('--no-lint', 'skip the safety rules (needs --yes)')
    .option('--fire-user-triggers', "let the table's own triggers fire for every backfilled row when the role cannot skip them")
    .action(async (name: string | undefined, opts: { batchSize?: string; batchDelay?: string; lint: boolean; fireUserTriggers?: boolean }, command: Command) => {
      const batchSize = opts.batchSize === undefined ? undefined : Number(opts.batchSize);
      if (batchSize !== undefined && (!Number.isInteger(batchSize) || batchSize < 1)) throw new UsageError('--batch-size must be a positive whole number');
      const batchDelayMs = opts.batchDelay === undefined ? undefined : parseDuration(opts.batchDelay, '--batch-delay');
      await withContext(command, async (ctx) => {
        if (!opts.lint && !ctx.globals.yes) throw new UsageError('--no-lint skips the safety rules; add --yes to confirm');
        const config = opts.fireUserTriggers ? { ...ctx.config, backfill: { ...ctx.config.backfill, fireUserTriggers: true } } : ctx.config;
        const { migrator, finish } = migratorFor({ ...ctx, config });
        try {
          printTransitions(ctx.out, 'expand', await migrator.expand(name, { batchSize, batchDelayMs, lint: opts.lint }));
        } finally {
          finish();
        }
      });
    });
}
