import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { writeConversion } from '../../convert/write.js';
import { UsageError } from '../../errors.js';
import { configFor, globalsOf, type GlobalOptions } from '../context.js';
import { Output } from '../output.js';

export function register(program: Command): void {
  program
    .command('convert <file>')
    .description('turn DDL (a .sql file, or - for stdin: hand-written, drizzle-kit, Kysely...) into one typed migration that does the same change online')
    .option('--name <name>', 'migration name (default: the file name)')
    .action(async (file: string, opts: { name?: string }, command: Command) => {
      let sql: string;
      if (file === '-') sql = await readStdin();
      else {
        if (!existsSync(file)) throw new UsageError(`${file} does not exist`);
        sql = await fs.readFile(file, 'utf8');
      }
      const name = opts.name ?? (file === '-' ? undefined : path.basename(file).replace(/\.sql$/i, '').replace(/^\d+_/, '').toLowerCase().replace(/[^a-z0-9_.-]+/g, '_'));
      if (!name) throw new UsageError('reading from stdin needs --name <name>');
      await convertAndReport(globalsOf(command), name, sql);
    });
}

/** Convert, write the file, print its path (and `{ file }` with --json), notes on stderr. */
export async function convertAndReport(globals: GlobalOptions, name: string, sql: string): Promise<void> {
  const out = new Output({ json: globals.json });
  const config = await configFor(globals);
  const { file, notes } = await writeConversion(config, name, sql, { databaseUrl: globals.databaseUrl });
  const shown = path.relative(process.cwd(), file) || file;
  for (const note of notes) out.info(`note: ${note}`);
  out.result({ file: shown, notes });
  out.line(`created ${shown}`);
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
