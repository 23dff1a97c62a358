import type { Command } from 'commander';
import { abort } from '../../migration/lifecycle.js';
import { withContext } from '../context.js';
import { openLifecycle } from '../lifecycle-context.js';
import { printTransitions } from '../transitions.js';

export function register(program: Command): void {
  program
    .command('abort <name>')
    .description('undo an expand before contract: drop the new state and the flag; the schema is as before')
    .action(async (name: string, _opts: unknown, command: Command) => {
      await withContext(
        command,
        async (ctx) => {
          const { project, lifecycle, reporter } = await openLifecycle(ctx);
          try {
            printTransitions(ctx.out, 'abort', [await abort(project, project.find(name), lifecycle)]);
          } finally {
            reporter.finish();
          }
        },
        { mutating: 'abort' },
      );
    });
}
