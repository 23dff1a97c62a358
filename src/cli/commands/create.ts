import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { renderTemplate, TEMPLATE_NAMES } from '../../migration/templates.js';
import { configFor, globalsOf } from '../context.js';
import { Output } from '../output.js';
import { convertAndReport } from './convert.js';

const NAME = /^[a-z0-9][a-z0-9_.-]*$/;

/** `20261125093000`: sortable, one per second. */
export function timestamp(date = new Date()): string {
  return date.toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

export function register(program: Command): void {
  program
    .command('create <name>')
    .description('write a new migration file from a template')
    .option('--template <template>', `one of: ${TEMPLATE_NAMES.join(', ')}`, 'code')
    .option('--from-sql <statements>', 'convert these DDL statements into the migration (like migrate convert)')
    .action(async (name: string, opts: { template: string; fromSql?: string }, command: Command) => {
      const globals = globalsOf(command);
      if (opts.fromSql !== undefined) return convertAndReport(globals, name, opts.fromSql);
      const out = new Output({ json: globals.json });
      if (!NAME.test(name)) {
        throw new UsageError(`invalid migration name ${JSON.stringify(name)}`, 'use lower-case letters, digits, "_", "-" and ".", e.g. split_user_name');
      }
      const text = renderTemplate(opts.template, name);
      if (text === undefined) throw new UsageError(`unknown template "${opts.template}"`, `templates: ${TEMPLATE_NAMES.join(', ')}`);
      const config = await configFor(globals);
      const dir = path.resolve(config.root, config.migrationsDir);
      await fs.mkdir(dir, { recursive: true });
      const existing = (await fs.readdir(dir)).find((f) => f.replace(/^\d+_/, '').replace(/\.(ts|mts|js|mjs)$/, '') === name);
      if (existing) throw new UsageError(`a migration named ${name} already exists: ${existing}`);
      const file = path.join(dir, `${timestamp()}_${name}.ts`);
      if (existsSync(file)) throw new UsageError(`${file} already exists`);
      await fs.writeFile(file, text);
      const shown = path.relative(process.cwd(), file);
      out.result({ file: shown, template: opts.template });
      out.line(`created ${shown}`);
    });
}
