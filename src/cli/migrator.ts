import { openMigrator, type Migrator } from '../migration/migrator.js';
import type { CommandContext } from './context.js';
import { cliReporter } from './reporter.js';

/**
 * The migrator for a CLI command, reporting progress on stderr. Lifecycle
 * commands are thin: options in, one migrator call, output.
 */
export function migratorFor(ctx: CommandContext): { migrator: Migrator; finish(): void } {
  const reporter = cliReporter(ctx.out, { verbose: ctx.globals.verbose });
  const migrator = openMigrator({ config: ctx.config, pool: ctx.database.pool, reporter, signal: ctx.signal });
  return { migrator, finish: reporter.finish };
}
