import path from 'node:path';
import type { Config } from '../config.js';
import { connect, type Database } from './connect.js';
import { startEmbedded } from './embedded.js';

/** Where the connection string came from. */
export type UrlSource = 'option' | 'env' | 'config' | 'embedded';

/** A project database connection plus whatever must be released with it. */
export interface ProjectDatabase extends Database {
  source: UrlSource;
}

/**
 * The configured connection string and where it came from: `explicitUrl`
 * (from `--database-url` or code), else `DATABASE_URL`, else the config file.
 * Undefined when none is set (the embedded PostgreSQL is the default then).
 *
 * @example
 * const configured = configuredUrl(config, globals.databaseUrl);
 */
export function configuredUrl(config: Config, explicitUrl?: string): { url: string; source: Exclude<UrlSource, 'embedded'> } | undefined {
  if (explicitUrl) return { url: explicitUrl, source: 'option' };
  if (process.env.DATABASE_URL) return { url: process.env.DATABASE_URL, source: 'env' };
  if (config.databaseUrl) return { url: config.databaseUrl, source: 'config' };
  return undefined;
}

/**
 * Connect to the project's database: `explicitUrl` (from `--database-url`),
 * else `DATABASE_URL`, else the config file, else the embedded PostgreSQL
 * under `.curtain/postgres`, started on demand and stopped on close.
 *
 * @example
 * const database = await openProjectDatabase(config, { announce: (l) => console.error(l) });
 * try { ... } finally { await database.close(); }
 */
export async function openProjectDatabase(
  config: Config,
  options: { explicitUrl?: string; announce?: (line: string) => void; applicationName?: string; max?: number } = {},
): Promise<ProjectDatabase> {
  const connectOptions = { applicationName: options.applicationName, max: options.max };
  const configured = configuredUrl(config, options.explicitUrl);
  if (configured) return { ...(await connect(configured.url, connectOptions)), source: configured.source };

  const dataDir = path.resolve(config.root, config.embedded.dataDir);
  const server = await startEmbedded({ dataDir });
  options.announce?.(
    `using embedded PostgreSQL ${server.version} at ${path.relative(process.cwd(), dataDir) || dataDir}; set DATABASE_URL to use your own`,
  );
  let database: Database;
  try {
    database = await connect(server.url, connectOptions);
  } catch (err) {
    await server.release();
    throw err;
  }
  return {
    ...database,
    source: 'embedded',
    async close() {
      await database.close();
      await server.release();
    },
  };
}
