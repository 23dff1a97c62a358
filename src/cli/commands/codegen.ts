import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { generateFlagTypes } from '../../flags/codegen.js';
import { listFlags } from '../../flags/store.js';
import { withContext } from '../context.js';

/** `migrate codegen`: typed flag keys. */
export function register(program: Command): void {
  program
    .command('codegen')
    .description('write a .d.ts declaring every known flag key, so typos in isEnabled() fail to compile')
    .option('--out <file>', 'where to write it', 'curtain-flags.d.ts')
    .option('--module <name>', 'module to augment', 'curtain')
    .action(async (opts: { out: string; module: string }, command: Command) => {
      await withContext(command, async ({ config, out, database }) => {
        const keys = (await listFlags(database.pool, config.schema)).map((f) => f.key);
        const file = path.resolve(opts.out);
        await mkdir(path.dirname(file), { recursive: true });
        await writeFile(file, generateFlagTypes(keys, { module: opts.module }));
        out.result({ file, keys });
        out.line(`wrote ${path.relative(process.cwd(), file) || file}: ${keys.length} flag key${keys.length === 1 ? '' : 's'}`);
      });
    });
}
