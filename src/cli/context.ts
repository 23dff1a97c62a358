import type { Command } from 'commander';
import { loadConfig, type Config } from '../config.js';
import { acquireMigrateLock } from '../db/advisory-lock.js';
import { openProjectDatabase, type ProjectDatabase } from '../db/open.js';
import { parseDuration } from '../duration.js';
import { ensureStore } from '../store/store.js';
import { Output } from './output.js';

/** Options every command accepts (declared on the root program). */
export interface GlobalOptions {
  databaseUrl?: string;
  migrationsDir?: string;
  config?: string;
  schema?: string;
  json?: boolean;
  yes?: boolean;
  verbose?: boolean;
  lockWait?: string;
  lockTimeout?: string;
}

/** What a command's action works with. */
export interface CommandContext {
  config: Config;
  out: Output;
  database: ProjectDatabase;
  globals: GlobalOptions;
  /** Aborted by the first SIGINT/SIGTERM: long commands stop at their next boundary. */
  signal?: AbortSignal;
}

/** The global options as seen from a subcommand. */
export function globalsOf(command: Command): GlobalOptions {
  return command.optsWithGlobals() as GlobalOptions;
}

/** Configuration from the file plus the global options that override it. */
export async function configFor(globals: GlobalOptions): Promise<Config> {
  return loadConfig({
    file: globals.config,
    overrides: {
      migrationsDir: globals.migrationsDir,
      schema: globals.schema,
      lockWait: globals.lockWait === undefined ? undefined : parseDuration(globals.lockWait, '--lock-wait'),
      lockTimeout: globals.lockTimeout === undefined ? undefined : parseDuration(globals.lockTimeout, '--lock-timeout'),
    },
  });
}

/**
 * Run a command's body with configuration, output and an open database with
 * the curtain schema in place. A `mutating` command also holds the
 * database-wide migrate lock for its whole run. Everything is released
 * however the body ends.
 */
export async function withContext<T>(
  command: Command,
  body: (ctx: CommandContext) => Promise<T>,
  options: { mutating?: string } = {},
): Promise<T> {
  const globals = globalsOf(command);
  const out = new Output({ json: globals.json });
  const config = await configFor(globals);
  const database = await openProjectDatabase(config, {
    explicitUrl: globals.databaseUrl,
    announce: (line) => out.info(out.color.dim(line)),
    applicationName: `curtain: migrate ${command.name()}`,
  });
  try {
    await ensureStore(database.pool, config.schema);
    if (!options.mutating) return await body({ config, out, database, globals });
    const lock = await acquireMigrateLock(database.pool, config.schema, { command: options.mutating, waitMs: config.lockWaitMs });
    try {
      return await body({ config, out, database, globals });
    } finally {
      await lock.release();
    }
  } finally {
    await database.close();
  }
}
