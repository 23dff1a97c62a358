import type { Command } from 'commander';
import { Umzug } from 'umzug';
import { parseDuration } from '../../duration.js';
import { UsageError } from '../../errors.js';
import { expand, type TransitionResult } from '../../migration/lifecycle.js';
import { Project } from '../../migration/project.js';
import { withContext } from '../context.js';
import { openLifecycle } from '../lifecycle-context.js';
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
      await withContext(
        command,
        async (ctx) => {
          if (!opts.lint && !ctx.globals.yes) throw new UsageError('--no-lint skips the safety rules; add --yes to confirm');
          const config = opts.fireUserTriggers ? { ...ctx.config, backfill: { ...ctx.config.backfill, fireUserTriggers: true } } : ctx.config;
          const { project, lifecycle, reporter } = await openLifecycle(ctx, { batchSize, batchDelayMs, lint: opts.lint, config });
          const targets = name
            ? [project.find(name)]
            : project.expandable();
          const results: TransitionResult[] = [];
          // umzug orders and runs the expands; the curtain schema is its storage.
          const umzug = new Umzug({
            migrations: targets.map((target) => ({
              name: target.name,
              up: async () => {
                const fresh = await Project.open(ctx.config, ctx.database.pool);
                results.push(await expand(fresh, fresh.find(target.name), lifecycle));
              },
            })),
            storage: {
              executed: async () => {
                const fresh = await Project.open(ctx.config, ctx.database.pool);
                return fresh.entries.filter((e) => e.phase !== 'pending' && e.phase !== 'expanding').map((e) => e.name);
              },
              logMigration: async () => {},
              unlogMigration: async () => {},
            },
            logger: undefined,
          });
          try {
            await umzug.up(name ? { migrations: targets.map((t) => t.name), rerun: 'SKIP' as never } : {});
          } catch (err) {
            throw (err as { cause?: unknown }).cause ?? err;
          } finally {
            reporter.finish();
          }
          if (name && results.length === 0) {
            const entry = targets[0]!;
            results.push({ migration: entry.name, flag: entry.record?.flag ?? '', from: entry.phase, to: entry.phase as never, noop: true, durationMs: 0 });
          }
          printTransitions(ctx.out, 'expand', results);
        },
        { mutating: 'expand' },
      );
    });
}
