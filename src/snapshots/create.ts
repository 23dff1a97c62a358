import type pg from 'pg';
import { defaultActor } from '../actor.js';
import { dirOf, urlOf } from './connection.js';
import { snapshotSchemaName, newSnapshotId } from './ids.js';
import { resolveTables, userTables } from './relations.js';
import { strategyFor } from './strategies.js';
import type { CreateSnapshotOptions, SnapshotRecord } from './types.js';

/**
 * Take a snapshot of `tables` (default: every user table) with `strategy`
 * (default `tables`) and record it in `<schema>.snapshots`.
 *
 * @example
 * const snap = await createSnapshot(pool, { schema: 'curtain', tables: ['users', 'orders'], reason: 'before cleanup' });
 * console.log(snap.id, snap.tables.map((t) => `${t.name}: ${t.rows} rows`));
 */
export async function createSnapshot(pool: pg.Pool, options: CreateSnapshotOptions): Promise<SnapshotRecord> {
  const strategy = strategyFor(options.strategy ?? 'tables');
  const tables =
    options.tables && options.tables.length > 0
      ? await resolveTables(pool, options.tables)
      : await userTables(pool, [options.schema, snapshotSchemaName(options.schema)]);
  return strategy.create(pool, {
    id: newSnapshotId(),
    schema: options.schema,
    tables,
    reason: options.reason ?? null,
    migration: options.migration ?? null,
    phase: options.phase ?? null,
    actor: options.actor ?? defaultActor(),
    dir: dirOf(options.dir),
    // Only dump and clone need a connection string; a pool built from parts is fine for tables.
    url: strategy.name === 'tables' ? (options.url ?? pool.options.connectionString ?? '') : urlOf(pool, options.url),
  });
}
