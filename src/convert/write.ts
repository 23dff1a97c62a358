import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config.js';
import { connect } from '../db/connect.js';
import { configuredUrl } from '../db/open.js';
import { UsageError } from '../errors.js';
import { databaseCatalog } from './catalog.js';
import { convertSql, type Conversion } from './index.js';

const NAME = /^[a-z0-9][a-z0-9_.-]*$/;

/** `20261125093000`: sortable, one per second. */
function timestamp(date = new Date()): string {
  return date.toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

/**
 * Convert `sql` and write it as `migrations/<timestamp>_<name>.ts`. When a
 * database is configured (never the embedded one), its catalog supplies the
 * current column types, so type changes get a `down` and drops know whether
 * they need one.
 *
 * @example
 * const { file, notes } = await writeConversion(config, 'rename_email', sql, { databaseUrl: process.env.DATABASE_URL });
 */
export async function writeConversion(
  config: Config,
  name: string,
  sql: string,
  options: { databaseUrl?: string } = {},
): Promise<Conversion & { file: string }> {
  if (!NAME.test(name)) throw new UsageError(`invalid migration name ${JSON.stringify(name)}`, 'use lower-case letters, digits, "_", "-" and ".", e.g. split_user_name');
  const dir = path.resolve(config.root, config.migrationsDir);
  await fs.mkdir(dir, { recursive: true });
  const existing = (await fs.readdir(dir)).find((f) => f.replace(/^\d+_/, '').replace(/\.(ts|mts|js|mjs)$/, '') === name);
  if (existing) throw new UsageError(`a migration named ${name} already exists: ${existing}`, 'choose another --name');
  const url = configuredUrl(config, options.databaseUrl)?.url;
  const database = url ? await connect(url, { max: 1, applicationName: 'curtain: migrate convert' }) : undefined;
  let conversion: Conversion;
  try {
    conversion = await convertSql(sql, { description: undefined, catalog: database && databaseCatalog(database.pool) });
  } finally {
    await database?.close();
  }
  const file = path.join(dir, `${timestamp()}_${name}.ts`);
  if (existsSync(file)) throw new UsageError(`${file} already exists`);
  await fs.writeFile(file, conversion.source);
  return { ...conversion, file };
}
