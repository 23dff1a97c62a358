import type { Command } from 'commander';
import { loadConfig, type Config } from '../config.js';
import { acquireMigrateLock, type HeldLock } from '../db/advisory-lock.js';
import { openProjectDatabase, type ProjectDatabase } from '../db/open.js';
import { parseDuration } from '../duration.js';
import { ensureStore } from '../store/store.js';
import { currentInterrupt } from './interrupt.js';
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
  /**
   * Aborted by the first SIGINT/SIGTERM: stop at the next batch or step
   * boundary (the process then exits 130/143).
   */
  signal: AbortSignal;
  /** The migrate lock, for a mutating command: prove it with `lock.assertHeld(tx)` in each transaction that records progress. */
  lock?: HeldLock;
  /** For commands that run until interrupted: the first signal is their normal end (exit 0). */
  untilSignal(): Promise<NodeJS.Signals>;
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
  const interrupt = currentInterrupt();
  const signal = interrupt?.signal ?? new AbortController().signal;
  const untilSignal = () => interrupt?.untilSignal() ?? new Promise<NodeJS.Signals>(() => {});
  try {
    await ensureStore(database.pool, config.schema);
    if (!options.mutating) return await body({ config, out, database, globals, signal, untilSignal });
    const lock = await acquireMigrateLock(database.pool, config.schema, { command: options.mutating, waitMs: config.lockWaitMs, signal });
    try {
      return await body({ config, out, database, globals, signal, untilSignal, lock });
    } finally {
      await lock.release();
    }
  } finally {
    await database.close();
  }
}
