import type pg from 'pg';
import { DEFAULT_SCHEMA } from '../store/store.js';
import { requireRecord } from './catalog.js';
import { strategyFor } from './strategies.js';

/**
 * Delete a snapshot: its copies, file or database, then its record. Also
 * cleans up a snapshot left `in_progress` or `failed` by a crash.
 *
 * @example
 * await dropSnapshot(pool, '20261125-074731-3fa9c1', { schema: 'curtain' });
 */
export async function dropSnapshot(pool: pg.Pool, id: string, options: { schema?: string; url?: string } = {}): Promise<void> {
  const schema = options.schema ?? DEFAULT_SCHEMA;
  const snapshot = await requireRecord(pool, schema, id);
  await strategyFor(snapshot.strategy).drop(pool, snapshot, { schema, url: options.url ?? pool.options.connectionString ?? '' });
}
