import type { Command } from 'commander';
import { withContext } from '../context.js';
import { migratorFor } from '../migrator.js';
import { printTransitions } from '../transitions.js';

export function register(program: Command): void {
  program
    .command('abort <name>')
    .description('undo an expand before contract: flag off, then drop the new state and the flag; the schema is as before')
    .action(async (name: string, _opts: unknown, command: Command) => {
      await withContext(command, async (ctx) => {
        const { migrator, finish } = migratorFor(ctx);
        try {
          printTransitions(ctx.out, 'abort', [await migrator.abort(name)]);
        } finally {
          finish();
        }
      });
    });
}
