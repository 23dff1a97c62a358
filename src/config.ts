import { existsSync } from 'node:fs';
import path from 'node:path';
import { createJiti } from 'jiti';
import { z } from 'zod';
import { parseDuration } from './duration.js';
import { CurtainError, UsageError } from './errors.js';

const duration = z.union([z.string(), z.number()]);

const configSchema = z
  .object({
    /** Connection string; `--database-url` and `DATABASE_URL` take precedence. */
    databaseUrl: z.string().min(1).optional(),
    /** Schema where curtain keeps its state. */
    schema: z.string().min(1).max(63).default('curtain'),
    migrationsDir: z.string().min(1).default('migrations'),
    /** `lock_timeout` for every DDL statement. */
    lockTimeout: duration.default('1s'),
    /** How long a command waits for another migrate to finish before exit 4. */
    lockWait: duration.default('10s'),
    /** Attempts of a statement that hits the lock timeout, with backoff and jitter. */
    lockRetries: z.number().int().min(0).max(1000).default(30),
    backfill: z
      .object({
        batchSize: z.number().int().positive().optional(),
        batchDelay: duration.default(0),
        /** Adaptive batches aim at this duration when no batch size is set. */
        targetBatchTime: duration.default('200ms'),
      })
      .strict()
      .default({ batchDelay: 0, targetBatchTime: '200ms' }),
    snapshots: z
      .object({
        beforeSwitch: z.boolean().default(true),
        beforeContract: z.boolean().default(true),
        strategy: z.enum(['tables', 'dump', 'clone']).default('tables'),
        dir: z.string().default('.curtain/snapshots'),
      })
      .strict()
      .default({ beforeSwitch: true, beforeContract: true, strategy: 'tables', dir: '.curtain/snapshots' }),
    contract: z
      .object({
        /** How long the flag must have been fully on before contract. */
        minSoak: duration.default(0),
      })
      .strict()
      .default({ minSoak: 0 }),
    abort: z
      .object({
        /** How long abort waits for live flags clients to report that they saw the flag off, before dropping the new state. */
        drainTimeout: duration.default('60s'),
      })
      .strict()
      .default({ drainTimeout: '60s' }),
    flags: z
      .object({
        /** Files scanned for references to a flag key before it is retired. */
        sourceGlobs: z.array(z.string()).default(['src/**/*.{ts,tsx,js,mjs,cjs}']),
        /** Flags on for longer than this show up as flag debt in `migrate status`. */
        maxAge: duration.default('30d'),
      })
      .strict()
      .default({ sourceGlobs: ['src/**/*.{ts,tsx,js,mjs,cjs}'], maxAge: '30d' }),
    serve: z
      .object({
        port: z.number().int().min(0).max(65535).default(8016),
        host: z.string().default('127.0.0.1'),
        apiKey: z.string().optional(),
        adminKey: z.string().optional(),
      })
      .strict()
      .default({ port: 8016, host: '127.0.0.1' }),
    embedded: z.object({ dataDir: z.string().default('.curtain/postgres') }).strict().default({ dataDir: '.curtain/postgres' }),
    /** A throwaway environment (local development, CI): `migrate up` runs without asking even when the database looks live. */
    disposable: z.boolean().default(false),
  })
  .strict();

/** The configuration file's shape, as users write it. */
export type UserConfig = z.input<typeof configSchema>;

/** Validated configuration with defaults applied and durations in milliseconds. */
export interface Config {
  databaseUrl?: string;
  schema: string;
  migrationsDir: string;
  lockTimeoutMs: number;
  lockWaitMs: number;
  lockRetries: number;
  backfill: { batchSize?: number; batchDelayMs: number; targetBatchTimeMs: number };
  snapshots: { beforeSwitch: boolean; beforeContract: boolean; strategy: 'tables' | 'dump' | 'clone'; dir: string };
  contract: { minSoakMs: number };
  abort: { drainTimeoutMs: number };
  flags: { sourceGlobs: string[]; maxAgeMs: number };
  serve: { port: number; host: string; apiKey?: string; adminKey?: string };
  embedded: { dataDir: string };
  /** A throwaway environment: `migrate up` does not ask before skipping the live-traffic guards. */
  disposable: boolean;
  /** Directory relative paths resolve against (where the config file is, else the cwd). */
  root: string;
  /** The file the configuration came from, if any. */
  file?: string;
}

/**
 * Type helper for `curtain.config.ts`.
 *
 * @example
 * // curtain.config.ts
 * import { defineConfig } from 'curtain';
 * export default defineConfig({ migrationsDir: 'db/migrations', contract: { minSoak: '1h' } });
 */
export function defineConfig(config: UserConfig): UserConfig {
  return config;
}

const CONFIG_FILES = ['curtain.config.ts', 'curtain.config.mts', 'curtain.config.js', 'curtain.config.mjs', 'curtain.config.json'];

/**
 * Load and validate the configuration: the file (`--config`, else the first
 * `curtain.config.*` in `cwd`), then `overrides` on top.
 *
 * @example
 * const config = await loadConfig({ cwd: process.cwd(), overrides: { migrationsDir: 'db' } });
 */
export async function loadConfig(options: { cwd?: string; file?: string; overrides?: Partial<UserConfig> } = {}): Promise<Config> {
  const cwd = path.resolve(options.cwd ?? process.cwd());
  let file: string | undefined;
  if (options.file) {
    file = path.resolve(cwd, options.file);
    if (!existsSync(file)) throw new UsageError(`config file ${options.file} does not exist`);
  } else {
    file = CONFIG_FILES.map((f) => path.join(cwd, f)).find((f) => existsSync(f));
  }
  let raw: unknown = {};
  if (file) {
    try {
      const jiti = createJiti(import.meta.url, { moduleCache: false });
      const mod = (await jiti.import(file)) as { default?: unknown };
      raw = mod && typeof mod === 'object' && 'default' in mod ? mod.default : mod;
    } catch (err) {
      throw new CurtainError(`cannot load config file ${path.relative(cwd, file) || file}: ${(err as Error).message}`);
    }
  }
  const merged = { ...(raw as object), ...stripUndefined(options.overrides ?? {}) };
  const parsed = configSchema.safeParse(merged);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = issue.path.join('.') || '(root)';
    throw new UsageError(`invalid configuration${file ? ` in ${path.basename(file)}` : ''}: ${where}: ${issue.message}`);
  }
  const c = parsed.data;
  return {
    databaseUrl: c.databaseUrl,
    schema: c.schema,
    migrationsDir: c.migrationsDir,
    lockTimeoutMs: parseDuration(c.lockTimeout, 'lockTimeout'),
    lockWaitMs: parseDuration(c.lockWait, 'lockWait'),
    lockRetries: c.lockRetries,
    backfill: {
      batchSize: c.backfill.batchSize,
      batchDelayMs: parseDuration(c.backfill.batchDelay, 'backfill.batchDelay'),
      targetBatchTimeMs: parseDuration(c.backfill.targetBatchTime, 'backfill.targetBatchTime'),
    },
    snapshots: c.snapshots,
    contract: { minSoakMs: parseDuration(c.contract.minSoak, 'contract.minSoak') },
    abort: { drainTimeoutMs: parseDuration(c.abort.drainTimeout, 'abort.drainTimeout') },
    flags: { sourceGlobs: c.flags.sourceGlobs, maxAgeMs: parseDuration(c.flags.maxAge, 'flags.maxAge') },
    serve: c.serve,
    embedded: c.embedded,
    disposable: c.disposable,
    root: file ? path.dirname(file) : cwd,
    file,
  };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
