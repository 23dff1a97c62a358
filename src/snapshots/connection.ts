import path from 'node:path';
import type pg from 'pg';
import { CurtainError } from '../errors.js';

/** The connection string to use for tools and maintenance connections: given, else the pool's own. */
export function urlOf(pool: pg.Pool, given?: string): string {
  const url = given ?? pool.options.connectionString;
  if (!url) throw new CurtainError('this snapshot strategy needs the connection string; pass `url`');
  return url;
}

/** Default directory of dump files, relative to the working directory. */
export const DEFAULT_SNAPSHOT_DIR = '.curtain/snapshots';

export function dirOf(given?: string): string {
  return path.resolve(given ?? DEFAULT_SNAPSHOT_DIR);
}
