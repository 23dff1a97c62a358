import type pg from 'pg';
import { defaultActor } from '../actor.js';
import { CurtainError } from '../errors.js';
import { requireRecord } from './catalog.js';
import { dirOf, urlOf } from './connection.js';
import { strategyFor } from './strategies.js';
import type { RestoreResult, RestoreSnapshotOptions } from './types.js';

/**
 * Put snapshot `id` back. First snapshots the current state of the same
 * tables (returned as `safetySnapshotId`: restore it to undo), then restores
 * in one transaction (tables), one pg_restore transaction (dump) or by
 * swapping databases (clone). `tables` restores a subset (tables strategy).
 *
 * @example
 * const { restored, safetySnapshotId } = await restoreSnapshot(pool, '20261125-074731-3fa9c1', { schema: 'curtain', tables: ['users'] });
 * // changed your mind?
 * await restoreSnapshot(pool, safetySnapshotId, { schema: 'curtain' });
 */
export async function restoreSnapshot(pool: pg.Pool, id: string, options: RestoreSnapshotOptions): Promise<RestoreResult> {
  const snapshot = await requireRecord(pool, options.schema, id);
  if (snapshot.status !== 'complete') {
    throw new CurtainError(`snapshot ${id} is ${snapshot.status}, not complete; it cannot be restored`, { hint: `drop it with \`migrate snapshot drop ${id}\`` });
  }
  const strategy = strategyFor(snapshot.strategy);
  return strategy.restore(pool, snapshot, {
    schema: options.schema,
    tables: options.tables?.filter((t) => t.trim() !== ''),
    actor: options.actor ?? defaultActor(),
    lockTimeoutMs: options.lockTimeoutMs,
    dir: dirOf(options.dir),
    url: snapshot.strategy === 'tables' ? (options.url ?? pool.options.connectionString ?? '') : urlOf(pool, options.url),
  });
}

