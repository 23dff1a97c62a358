/**
 * The PostgreSQL the benchmarks run on, and a fresh database per scenario.
 *
 * `BENCH_DATABASE_URL`, else `DATABASE_URL`, else the embedded PostgreSQL
 * (data under `.curtain/bench-postgres`, stopped at the end). Every database
 * a scenario creates is dropped afterwards, also when the run is interrupted.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { startEmbedded } from '../../src/db/embedded.js';
import { createDatabaseOn, type TestDatabaseHandle } from '../../src/testing/server.js';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface BenchServer {
  url: string;
  /** `BENCH_DATABASE_URL`, `DATABASE_URL` or `embedded`. */
  source: string;
  /** `SELECT version()`. */
  version: string;
  /** `SHOW server_version`, e.g. `15.20`. */
  serverVersion: string;
  /** A few settings that matter for these figures. */
  settings: Record<string, string>;
  release(): Promise<void>;
}

/**
 * Connect to the configured server, or start the embedded one.
 *
 * @example
 * const server = await startBenchServer(process.env);
 * await server.release();
 */
export async function startBenchServer(env: NodeJS.ProcessEnv): Promise<BenchServer> {
  let url = env.BENCH_DATABASE_URL || env.DATABASE_URL;
  let source = env.BENCH_DATABASE_URL ? 'BENCH_DATABASE_URL' : 'DATABASE_URL';
  let release = async () => {};
  if (!url) {
    const embedded = await startEmbedded({ dataDir: path.join(REPO_ROOT, '.curtain/bench-postgres') });
    url = embedded.url;
    source = 'embedded';
    release = () => embedded.release();
  }
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const version = (await client.query<{ version: string }>('SELECT version()')).rows[0]!.version;
    const { rows } = await client.query<{ name: string; setting: string; unit: string | null }>(
      `SELECT name, setting, unit FROM pg_settings
        WHERE name IN ('server_version', 'shared_buffers', 'fsync', 'synchronous_commit', 'max_connections', 'work_mem', 'max_wal_size')`,
    );
    const settings = Object.fromEntries(rows.map((r) => [r.name, r.unit ? `${r.setting} (${r.unit})` : r.setting]));
    return { url, source, version, serverVersion: settings.server_version ?? '?', settings, release };
  } finally {
    await client.end();
  }
}

/** A scenario's own database. */
export interface BenchDatabase {
  url: string;
  name: string;
  /** A pool on the database, ended by `drop()`. */
  pool(options?: { max?: number; applicationName?: string }): pg.Pool;
  drop(): Promise<void>;
}

const live = new Set<TestDatabaseHandle>();

/**
 * Create an empty database, run `fn`, and drop the database whatever happens.
 *
 * @example
 * await withDatabase(server, 'backfill', async (db) => { await db.pool().query('SELECT 1'); });
 */
export async function withDatabase<T>(server: BenchServer, prefix: string, fn: (db: BenchDatabase) => Promise<T>): Promise<T> {
  const handle = await createDatabaseOn(server.url, `bench_${prefix.replace(/[^a-z0-9_]/g, '_')}`);
  live.add(handle);
  const pools: pg.Pool[] = [];
  const db: BenchDatabase = {
    url: handle.url,
    name: handle.name,
    pool(options = {}) {
      const p = new pg.Pool({ connectionString: handle.url, max: options.max ?? 4, application_name: options.applicationName ?? 'curtain-bench' });
      p.on('error', () => {});
      pools.push(p);
      return p;
    },
    async drop() {
      await Promise.all(pools.splice(0).map((p) => p.end().catch(() => {})));
      await handle.drop();
      live.delete(handle);
    },
  };
  try {
    return await fn(db);
  } finally {
    await db.drop();
  }
}

/** Drop every database still alive (on an interrupted run). */
export async function dropLiveDatabases(): Promise<void> {
  await Promise.all([...live].map((h) => h.drop().catch(() => {})));
  live.clear();
}

/** `VACUUM ANALYZE` + `CHECKPOINT`: start a timed section without leftover work from the previous one. */
export async function settle(pool: pg.Pool, table?: string): Promise<void> {
  await pool.query(table ? `VACUUM ANALYZE ${table}` : 'VACUUM ANALYZE');
  await pool.query('CHECKPOINT').catch(() => {}); // needs superuser or pg_checkpoint; best effort
}
