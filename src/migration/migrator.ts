import type pg from 'pg';
import { defaultActor } from '../actor.js';
import { loadConfig, type Config, type UserConfig } from '../config.js';
import { acquireMigrateLock } from '../db/advisory-lock.js';
import { connect, type Database } from '../db/connect.js';
import { configuredUrl } from '../db/open.js';
import { ensureStore } from '../store/store.js';
import type { GuardOptions } from './guards.js';
import { abort, contract, expand, switchFlag, type LifecycleContext, type LifecycleReporter, type TransitionResult } from './lifecycle.js';
import { Project, type MigrationEntry } from './project.js';

/** Options of {@link createMigrator}. */
export interface MigratorOptions extends Partial<UserConfig> {
  /** Connection string, unless `pool` is given. */
  connectionString?: string;
  /** An existing pool; the migrator does not end it. */
  pool?: pg.Pool;
  /** Folder the configuration's relative paths resolve against (default: cwd). */
  cwd?: string;
  actor?: string;
  reporter?: LifecycleReporter;
}

/** The lifecycle as a library: what the CLI does, without the CLI. */
export interface Migrator {
  readonly config: Config;
  readonly pool: pg.Pool;
  /** Every migration with its phase. */
  status(): Promise<MigrationEntry[]>;
  /** Expand one migration, or every pending one. */
  expand(name?: string, options?: { batchSize?: number; batchDelayMs?: number }): Promise<TransitionResult[]>;
  /** Turn a migration's flag on (for `percent` of subjects) or `off`. */
  switch(name: string, options?: { percent?: number; off?: boolean }): Promise<TransitionResult>;
  /** Contract a switched migration after its guards pass. */
  contract(name: string, options?: GuardOptions): Promise<TransitionResult>;
  /** Undo an expand. */
  abort(name: string): Promise<TransitionResult>;
  close(): Promise<void>;
}

/**
 * Drive migrations from code (tests, deploy scripts). Each call takes the
 * database-wide migrate lock, like the CLI.
 *
 * @example
 * const migrator = await createMigrator({ connectionString: process.env.DATABASE_URL, migrationsDir: 'migrations' });
 * await migrator.expand();
 * await migrator.switch('split_name', { percent: 10 });
 * await migrator.close();
 */
export async function createMigrator(options: MigratorOptions = {}): Promise<Migrator> {
  const { connectionString, pool: givenPool, cwd, actor, reporter, ...overrides } = options;
  const config = await loadConfig({ cwd, overrides });
  let database: Database | undefined;
  let pool = givenPool;
  if (!pool) {
    const url = configuredUrl(config, connectionString)?.url;
    if (!url) throw new Error('createMigrator needs connectionString, pool, or DATABASE_URL');
    database = await connect(url);
    pool = database.pool;
  }
  await ensureStore(pool, config.schema);
  const ctx = (extra: Partial<LifecycleContext> = {}): LifecycleContext => ({
    config,
    pool: pool!,
    actor: actor ?? defaultActor(),
    reporter,
    ...extra,
  });
  const locked = async <T>(command: string, fn: (project: Project) => Promise<T>): Promise<T> => {
    const lock = await acquireMigrateLock(pool!, config.schema, { command, waitMs: config.lockWaitMs });
    try {
      const project = await Project.open(config, pool!);
      project.assertUnchanged();
      return await fn(project);
    } finally {
      await lock.release();
    }
  };
  return {
    config,
    pool,
    async status() {
      return (await Project.open(config, pool!)).entries;
    },
    async expand(name, opts = {}) {
      return locked('expand', async (project) => {
        const names = (name ? [project.find(name)] : project.expandable()).map((e) => e.name);
        const results: TransitionResult[] = [];
        for (const n of names) {
          const fresh = await Project.open(config, pool!);
          results.push(await expand(fresh, fresh.find(n), ctx(opts)));
        }
        return results;
      });
    },
    async switch(name, opts = {}) {
      return locked('switch', (project) => switchFlag(project, project.find(name), opts, ctx()));
    },
    async contract(name, opts = {}) {
      return locked('contract', (project) => contract(project, project.find(name), opts, ctx()));
    },
    async abort(name) {
      return locked('abort', (project) => abort(project, project.find(name), ctx()));
    },
    async close() {
      await database?.close();
    },
  };
}
