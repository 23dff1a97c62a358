import type pg from 'pg';
import { DEFAULT_SCHEMA } from '../store/store.js';
import { allRecords, requireRecord } from './catalog.js';
import type { SnapshotRecord } from './types.js';

/**
 * Every snapshot, newest first.
 *
 * @example
 * for (const s of await listSnapshots(pool, { schema: 'curtain' })) console.log(s.id, s.strategy, s.status);
 */
export async function listSnapshots(pool: pg.Pool, options: { schema?: string } = {}): Promise<SnapshotRecord[]> {
  return allRecords(pool, options.schema ?? DEFAULT_SCHEMA);
}

/**
 * One snapshot; a clear error (exit 1) when there is no such id.
 *
 * @example
 * const snap = await getSnapshot(pool, '20261125-074731-3fa9c1', { schema: 'curtain' });
 */
export async function getSnapshot(pool: pg.Pool, id: string, options: { schema?: string } = {}): Promise<SnapshotRecord> {
  return requireRecord(pool, options.schema ?? DEFAULT_SCHEMA, id);
}
