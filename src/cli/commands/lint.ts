import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { connect, type Database } from '../../db/connect.js';
import { configuredUrl } from '../../db/open.js';
import { UsageError } from '../../errors.js';
import { findingsToJson, formatFindings, lintSql, summarize, type Finding, type Phase } from '../../lint/index.js';
import { lintMigration } from '../../migration/lint.js';
import { checksumOf, discoverMigrations, type MigrationFile } from '../../migration/loader.js';
import { listRecords } from '../../store/migrations.js';
import { ensureStore } from '../../store/store.js';
import { configFor, globalsOf } from '../context.js';
import { Output } from '../output.js';

export function register(program: Command): void {
  program
    .command('lint [files...]')
    .description('safety rules over migrations (the SQL they contain and, with a database, the SQL they generate) and .sql files')
    .option('--phase <phase>', 'for plain .sql files: expand, contract, abort or any', 'any')
    .action(async (files: string[], opts: { phase: string }, command: Command) => {
      if (!['expand', 'contract', 'abort', 'any'].includes(opts.phase)) throw new UsageError(`--phase must be expand, contract, abort or any`);
      const globals = globalsOf(command);
      const out = new Output({ json: globals.json });
      const config = await configFor(globals);
      const targets: MigrationFile[] = [];
      const findings: Finding[] = [];
      if (files.length === 0) {
        try {
          targets.push(...(await discoverMigrations(path.resolve(config.root, config.migrationsDir))));
        } catch (err) {
          findings.push(fileProblem((err as { file?: string }).file ?? config.migrationsDir, err));
        }
      }
      for (const file of files) {
        const full = path.resolve(file);
        if (!existsSync(full)) throw new UsageError(`${file} does not exist`);
        if (full.endsWith('.sql')) {
          // A plain SQL file (e.g. from another migration tool): every rule applies, lock_timeout included.
          findings.push(...(await lintSql(await fs.readFile(full, 'utf8'), { phase: opts.phase as Phase, file: full })));
          continue;
        }
        if ((await fs.stat(full)).isDirectory()) {
          try {
            targets.push(...(await discoverMigrations(full)));
          } catch (err) {
            findings.push(fileProblem((err as { file?: string }).file ?? full, err));
          }
        } else {
          targets.push({ name: path.basename(full).replace(/\.(ts|mts|js|mjs)$/, ''), path: full, checksum: await checksumOf(full) });
        }
      }
      // Generated SQL needs the live catalog: only when a database is configured (lint never starts one).
      const url = configuredUrl(config, globals.databaseUrl)?.url;
      let database: Database | undefined;
      if (url) {
        database = await connect(url, { applicationName: 'curtain: migrate lint' });
        await ensureStore(database.pool, config.schema);
      } else {
        out.info(out.color.dim('no database configured: linting the SQL written in the migrations only (set DATABASE_URL to also lint the SQL they generate)'));
      }
      try {
        // Applied migrations are linted from their stored plan, for the phases still ahead only.
        const records = database ? new Map((await listRecords(database.pool, config.schema)).map((r) => [r.name, r])) : new Map();
        for (const target of targets) {
          findings.push(...(await lintMigration(target, { pool: database?.pool, schema: config.schema, record: records.get(target.name), fireUserTriggers: config.backfill.fireUserTriggers })));
        }
      } finally {
        await database?.close();
      }
      const shown = findings.map((f) => ({ ...f, file: f.file ? path.relative(process.cwd(), f.file) || f.file : f.file }));
      out.result({ files: targets.length, ...findingsToJson(shown) });
      const { errors, warnings } = summarize(shown);
      if (shown.length > 0) out.line(formatFindings(shown, { color: out.colored }));
      out.line(`${targets.length} migration(s) linted: ${errors} error(s), ${warnings} warning(s)`);
      if (errors > 0) process.exitCode = 1;
    });
}

function fileProblem(file: string, err: unknown): Finding {
  const e = err as Error & { hint?: string };
  return {
    rule: 'invalid-migration',
    severity: 'error',
    message: e.message.replace(/^[^:]*: /, ''),
    why: 'the migrations folder cannot be read as migrations',
    fix: e.hint ?? 'fix the file',
    file,
    line: 1,
    column: 1,
    statement: '',
  };
}
