import type { Command } from 'commander';
import { skippedBy } from '../../migration/up.js';
import { withContext } from '../context.js';
import { migratorFor } from '../migrator.js';
import { printTransitions } from '../transitions.js';

export function register(program: Command): void {
  program
    .command('up [name]')
    .description('expand, switch and contract every migration (up to name) in one go, for a database without live traffic (dev, CI)')
    .action(async (name: string | undefined, _opts: unknown, command: Command) => {
      await withContext(command, async (ctx) => {
        const { migrator, finish } = migratorFor(ctx);
        try {
          const results = await migrator.up(name, { yes: ctx.globals.yes });
          if (results.length === 0) {
            ctx.out.result({ command: 'up', migrations: [] });
            ctx.out.line('nothing to do: every migration is contracted');
            return;
          }
          printTransitions(ctx.out, 'up', results);
          const ran = results.filter((r) => !r.noop);
          if (ran.length > 0) ctx.out.line(ctx.out.color.dim(`skipped (no live traffic): ${[...new Set(ran.flatMap((r) => (r.details?.skipped as string[]) ?? skippedBy('schema')))].join(', ')}`));
        } finally {
          finish();
        }
      });
    });
}
