import { existsSync } from 'node:fs';
import path from 'node:path';
import { createJiti } from 'jiti';
import { z } from 'zod';
import { checkReplicaTarget, type ReplicaTarget } from './backfill/throttle.js';
import { parseDuration } from './duration.js';
import { CurtainError, UsageError } from './errors.js';

const duration = z.union([z.string(), z.number()]);

/** One key of `migrate serve`: its name is the actor of every write made with it. */
const serveKey = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/, 'a key name is 1-64 letters, digits, ".", "_", "@" or "-"'),
    key: z
      .string()
      .min(16, 'a key must be at least 16 characters (e.g. `openssl rand -hex 24`)')
      .max(512)
      // It travels as `Authorization: Bearer <key>`: a space or a non-ASCII character could never be sent.
      .regex(/^[\x21-\x7e]+$/, 'a key is printable ASCII without spaces (it is sent in an HTTP header)'),
    role: z.enum(['read', 'admin']),
  })
  .strict();

const serveKeys = z
  .array(serveKey)
  .default([])
  .superRefine((keys, ctx) => {
    // Messages never quote a secret.
    const names = new Set<string>();
    const secrets = new Set<string>();
    keys.forEach((k, i) => {
      if (names.has(k.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `two keys are named "${k.name}"` });
      if (secrets.has(k.key)) ctx.addIssue({ code: 'custom', path: [i, 'key'], message: 'two keys have the same secret' });
      names.add(k.name);
      secrets.add(k.key);
    });
  });

const configSchema = z
  .object({
    /** Connection string; `--database-url` and `DATABASE_URL` take precedence. */
    databaseUrl: z.string().min(1).optional(),
    /** Schema where curtain keeps its state. */
    schema: z
      .string()
      .min(1)
      .refine((v) => Buffer.byteLength(v) <= 63, 'a schema name is at most 63 bytes (PostgreSQL would silently cut it)')
      .default('curtain'),
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
        /** Throttle while a standby is further behind than this; `false` turns replica checks off. */
        maxReplicaLag: z.union([duration, z.literal(false)]).default('5s'),
        /** Standbys to connect to, besides those the primary lists in pg_stat_replication. */
        replicas: z
          .array(z.union([z.string().min(1), z.strictObject({ name: z.string().min(1), url: z.string().min(1) })]))
          .default([]),
        /** Throttle while this query's first column is true. */
        throttleQuery: z.string().trim().min(1).optional(),
        /** Throttle while more client backends than this are active. */
        maxActiveBackends: z.number().int().nonnegative().optional(),
        /** Throttle while more client backends than this wait on a lock. */
        maxLockWaiters: z.number().int().nonnegative().optional(),
        /** Let the table's own triggers fire for every backfilled row when the role cannot skip them. */
        fireUserTriggers: z.boolean().default(false),
        /** How long one batch may keep waiting for rows the application holds locked before expand pauses (checkpoint kept). */
        maxLockWait: duration.default('10m'),
      })
      .strict()
      .default({ batchDelay: 0, targetBatchTime: '200ms', maxReplicaLag: '5s', replicas: [], maxLockWait: '10m', fireUserTriggers: false }),
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
        /** Named keys with a role; none means loopback-only, read-only (see the README). */
        keys: serveKeys,
        /** Requests per key (or per address without a key) and window; max 0 turns it off. */
        rateLimit: z
          .object({ max: z.number().int().min(0).default(1200), window: duration.default('1m') })
          .strict()
          .default({ max: 1200, window: '1m' }),
      })
      .strict()
      .default({ port: 8016, host: '127.0.0.1', keys: [], rateLimit: { max: 1200, window: '1m' } }),
    embedded: z.object({ dataDir: z.string().default('.curtain/postgres') }).strict().default({ dataDir: '.curtain/postgres' }),
    /** A throwaway environment (local development, CI): `migrate up` runs without asking even when the database looks live. */
    disposable: z.boolean().default(false),
  })
  .strict();

/** A key of `migrate serve`: `read` sees everything, `admin` also acts. */
export type ServeKey = z.output<typeof serveKey>;

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
  backfill: {
    batchSize?: number;
    batchDelayMs: number;
    targetBatchTimeMs: number;
    /** null: replica checks off. */
    maxReplicaLagMs: number | null;
    /** Named (`r1`, `r2`, ... for bare URLs), URLs checked. */
    replicas: ReplicaTarget[];
    throttleQuery?: string;
    maxActiveBackends?: number;
    maxLockWaiters?: number;
    maxLockWaitMs: number;
    fireUserTriggers: boolean;
  };
  snapshots: { beforeSwitch: boolean; beforeContract: boolean; strategy: 'tables' | 'dump' | 'clone'; dir: string };
  contract: { minSoakMs: number };
  abort: { drainTimeoutMs: number };
  flags: { sourceGlobs: string[]; maxAgeMs: number };
  serve: { port: number; host: string; keys: ServeKey[]; rateLimit: { max: number; windowMs: number } };
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
  legacyServeKeys(merged, file);
  const parsed = configSchema.safeParse(merged);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = issue.path.join('.') || '(root)';
    // A value given on the command line (an override) is named as such, not blamed on the config file.
    const key = issue.path[0];
    const fromOverride = typeof key === 'string' && (options.overrides as Record<string, unknown> | undefined)?.[key] !== undefined;
    const source = fromOverride ? ' (given on the command line)' : file ? ` in ${path.basename(file)}` : '';
    throw new UsageError(`invalid configuration${source}: ${where}: ${issue.message}`);
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
      maxReplicaLagMs: c.backfill.maxReplicaLag === false ? null : parseDuration(c.backfill.maxReplicaLag, 'backfill.maxReplicaLag'),
      replicas: replicaTargets(c.backfill.replicas, file),
      throttleQuery: c.backfill.throttleQuery,
      maxActiveBackends: c.backfill.maxActiveBackends,
      maxLockWaiters: c.backfill.maxLockWaiters,
      maxLockWaitMs: parseDuration(c.backfill.maxLockWait, 'backfill.maxLockWait'),
      fireUserTriggers: c.backfill.fireUserTriggers,
    },
    snapshots: c.snapshots,
    contract: { minSoakMs: parseDuration(c.contract.minSoak, 'contract.minSoak') },
    abort: { drainTimeoutMs: parseDuration(c.abort.drainTimeout, 'abort.drainTimeout') },
    flags: { sourceGlobs: c.flags.sourceGlobs, maxAgeMs: parseDuration(c.flags.maxAge, 'flags.maxAge') },
    serve: {
      port: c.serve.port,
      host: c.serve.host,
      keys: c.serve.keys,
      rateLimit: { max: c.serve.rateLimit.max, windowMs: parseDuration(c.serve.rateLimit.window, 'serve.rateLimit.window') },
    },
    embedded: c.embedded,
    disposable: c.disposable,
    root: file ? path.dirname(file) : cwd,
    file,
  };
}

/**
 * `serve.apiKey` (read) and `serve.adminKey` became named keys with a role:
 * say how to write them now, rather than zod's bare "Unrecognized keys".
 * Never quotes the keys themselves.
 */
function legacyServeKeys(merged: object, file: string | undefined): void {
  const serve = (merged as { serve?: unknown }).serve;
  if (!serve || typeof serve !== 'object') return;
  const old = (['apiKey', 'adminKey'] as const).filter((k) => k in serve);
  if (old.length === 0) return;
  const entries = old.map((k) => (k === 'apiKey' ? "{ name: 'api-key', key: <the apiKey>, role: 'read' }" : "{ name: 'admin-key', key: <the adminKey>, role: 'admin' }"));
  throw new UsageError(
    `invalid configuration${file ? ` in ${path.basename(file)}` : ''}: ${old.map((k) => `serve.${k}`).join(' and ')} ${old.length > 1 ? 'are' : 'is'} no longer supported; keys are named and have a role`,
    `write serve.keys: [${entries.join(', ')}] instead (the name is the actor of every change made with the key: one per person or system; see "Keys and roles" in the README)`,
  );
}

/** Name bare URLs by position, and check names and URLs. */
function replicaTargets(list: (string | { name: string; url: string })[], file: string | undefined): ReplicaTarget[] {
  const where = `invalid configuration${file ? ` in ${path.basename(file)}` : ''}: backfill.replicas`;
  const targets = list.map((r, i) => (typeof r === 'string' ? { name: `r${i + 1}`, url: r } : r));
  const names = new Set<string>();
  for (const t of targets) {
    if (names.has(t.name)) throw new UsageError(`${where}: two replicas are named ${JSON.stringify(t.name)}`);
    names.add(t.name);
    try {
      checkReplicaTarget(t);
    } catch (err) {
      throw new UsageError(`${where}: ${(err as Error).message}`, (err as UsageError).hint);
    }
  }
  return targets;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * A validated configuration back in the shape users write, so a library
 * entry point that loads configuration (`createMigrator`) sees exactly the
 * one a running command already has.
 *
 * @example
 * const migrator = await createMigrator({ pool, cwd: config.root, ...toUserConfig(config) });
 */
export function toUserConfig(config: Config): UserConfig {
  return {
    databaseUrl: config.databaseUrl,
    schema: config.schema,
    migrationsDir: path.resolve(config.root, config.migrationsDir),
    lockTimeout: config.lockTimeoutMs,
    lockWait: config.lockWaitMs,
    lockRetries: config.lockRetries,
    backfill: {
      batchSize: config.backfill.batchSize,
      batchDelay: config.backfill.batchDelayMs,
      targetBatchTime: config.backfill.targetBatchTimeMs,
      maxReplicaLag: config.backfill.maxReplicaLagMs ?? false,
      replicas: config.backfill.replicas,
      throttleQuery: config.backfill.throttleQuery,
      maxActiveBackends: config.backfill.maxActiveBackends,
      maxLockWaiters: config.backfill.maxLockWaiters,
      maxLockWait: config.backfill.maxLockWaitMs,
      fireUserTriggers: config.backfill.fireUserTriggers,
    },
    snapshots: config.snapshots,
    contract: { minSoak: config.contract.minSoakMs },
    abort: { drainTimeout: config.abort.drainTimeoutMs },
    disposable: config.disposable,
    flags: { sourceGlobs: config.flags.sourceGlobs, maxAge: config.flags.maxAgeMs },
    serve: { port: config.serve.port, host: config.serve.host, keys: config.serve.keys, rateLimit: { max: config.serve.rateLimit.max, window: config.serve.rateLimit.windowMs } },
    embedded: config.embedded,
  };
}
