import path from 'node:path';
import type { Command } from 'commander';
import { defaultActor } from '../../actor.js';
import { baseline } from '../../migration/baseline.js';
import { withContext } from '../context.js';

export function register(program: Command): void {
  program
    .command('baseline')
    .description('adopt an existing database: write a migration that recreates its schema, recorded here as already contracted')
    .action(async (_opts: unknown, command: Command) => {
      await withContext(
        command,
        async (ctx) => {
          const result = await baseline(ctx.config, ctx.database.pool, ctx.database.url, defaultActor());
          const shown = path.relative(process.cwd(), result.file) || result.file;
          ctx.out.result({ file: shown, migration: result.name, counts: result.counts });
          ctx.out.line(`created ${shown} (${Object.entries(result.counts).map(([k, n]) => `${n} ${k}`).join(', ')}); recorded as contracted on this database`);
        },
        { mutating: 'baseline' },
      );
    });
}
