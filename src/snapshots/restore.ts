import type pg from 'pg';
import { defaultActor } from '../actor.js';
import { CurtainError, UsageError } from '../errors.js';
import { requireRecord } from './catalog.js';
import { dirOf, urlOf } from './connection.js';
import { checkPredicateShape } from './predicate.js';
import { pickEntries } from './restore-common.js';
import { previewTables } from './restore-where.js';
import { strategyFor } from './strategies.js';
import type { RestorePreview, RestoreResult, RestoreSnapshotOptions, SnapshotRecord } from './types.js';

/**
 * Put snapshot `id` back. First snapshots the current state of the same
 * tables (returned as `safetySnapshotId`: restore it to undo), then restores
 * in one transaction (tables), one pg_restore transaction (dump) or by
 * swapping databases (clone). `tables` restores a subset (tables strategy);
 * `where` (with `tables`) restores only the rows matching it, by primary
 * key, leaving every other row as it is now.
 *
 * @example
 * const { restored, safetySnapshotId } = await restoreSnapshot(pool, '20261125-074731-3fa9c1', { schema: 'curtain', tables: ['users'] });
 * // only the rows a buggy path poisoned:
 * await restoreSnapshot(pool, '20261125-074731-3fa9c1', { schema: 'curtain', tables: ['orders'], where: "status = 'refunded'" });
 * // changed your mind?
 * await restoreSnapshot(pool, safetySnapshotId, { schema: 'curtain' });
 */
export async function restoreSnapshot(pool: pg.Pool, id: string, options: RestoreSnapshotOptions): Promise<RestoreResult> {
  const snapshot = await restorable(pool, id, options);
  if (options.where !== undefined) await checkPredicateShape(options.where);
  const strategy = strategyFor(snapshot.strategy);
  return strategy.restore(pool, snapshot, {
    schema: options.schema,
    tables: tablesOf(options),
    where: options.where?.trim(),
    deleteInserted: options.deleteInserted,
    actor: options.actor ?? defaultActor(),
    lockTimeoutMs: options.lockTimeoutMs,
    dir: dirOf(options.dir),
    url: snapshot.strategy === 'tables' ? (options.url ?? pool.options.connectionString ?? '') : urlOf(pool, options.url),
  });
}

/**
 * What `restoreSnapshot` with the same options would change, per table
 * (rows updated, inserted, deleted, unchanged, kept); changes nothing and
 * takes no safety snapshot. `tables` strategy only.
 *
 * @example
 * const preview = await previewRestore(pool, id, { schema: 'curtain', tables: ['orders'], where: "status = 'refunded'" });
 * // preview.tables[0].changes: { matching: 120, updated: 118, inserted: 2, deleted: 0, unchanged: 0, keptInserted: 3 }
 */
export async function previewRestore(pool: pg.Pool, id: string, options: RestoreSnapshotOptions): Promise<RestorePreview> {
  const snapshot = await restorable(pool, id, options);
  if (snapshot.strategy !== 'tables') {
    throw new UsageError(`a dry run needs a tables snapshot; ${id} is a ${snapshot.strategy} snapshot`, '`migrate snapshot show <id>` compares row counts and checksums');
  }
  return previewTables(pool, snapshot, pickEntries(snapshot, tablesOf(options)), { where: options.where, deleteInserted: options.deleteInserted });
}

async function restorable(pool: pg.Pool, id: string, options: RestoreSnapshotOptions): Promise<SnapshotRecord> {
  if (options.where !== undefined && !tablesOf(options)) {
    throw new UsageError('--where needs --tables: name the tables the condition applies to', `e.g. --tables orders --where "status = 'refunded'"`);
  }
  if (options.deleteInserted && options.where === undefined) {
    throw new UsageError('--delete-inserted needs --where', 'a full restore already deletes rows inserted since the snapshot');
  }
  const snapshot = await requireRecord(pool, options.schema, id);
  if (snapshot.status !== 'complete') {
    throw new CurtainError(`snapshot ${id} is ${snapshot.status}, not complete; it cannot be restored`, { hint: `drop it with \`migrate snapshot drop ${id}\`` });
  }
  if (options.where !== undefined && snapshot.strategy !== 'tables') {
    throw new UsageError(`--where needs a tables snapshot; ${id} is a ${snapshot.strategy} snapshot`);
  }
  return snapshot;
}

function tablesOf(options: RestoreSnapshotOptions): string[] | undefined {
  const t = options.tables?.filter((t) => t.trim() !== '');
  return t && t.length > 0 ? t : undefined;
}
