import path from 'node:path';
import type { Command } from 'commander';
import { defaultActor } from '../../actor.js';
import { squash } from '../../migration/squash.js';
import { withContext } from '../context.js';

export function register(program: Command): void {
  program
    .command('squash')
    .description('fold contracted migrations up to a name into one baseline file, so a new database replays one file')
    .requiredOption('--through <name>', 'the last migration to fold (it and every earlier one must be contracted)')
    .action(async (opts: { through: string }, command: Command) => {
      await withContext(
        command,
        async (ctx) => {
          const result = await squash(ctx.config, ctx.database.pool, ctx.database.url, opts.through, defaultActor());
          const shown = path.relative(process.cwd(), result.file) || result.file;
          ctx.out.result({ file: shown, migration: result.name, folded: result.folded });
          ctx.out.line(`created ${shown}, folding ${result.folded.length} migration(s) (their files were removed; version control keeps them)`);
        },
        { mutating: 'squash' },
      );
    });
}
