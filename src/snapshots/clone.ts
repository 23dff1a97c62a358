import type pg from 'pg';
import { quoteIdent } from '../db/identifiers.js';
import { transaction } from '../db/queryable.js';
import { CurtainError, UsageError } from '../errors.js';
import { allRecords, deleteRecord, saveRecord, setStatus } from './catalog.js';
import { describeTables } from './describe.js';
import { cloneDatabaseName, newSnapshotId } from './ids.js';
import { closeIdleConnections, databaseOf, requireAlone, withMaintenance } from './maintenance.js';
import { display, type TableName } from './relations.js';
import type { SnapshotStrategy } from './strategy.js';
import type { SnapshotRecord, SnapshotTable } from './types.js';

const q = quoteIdent;

/**
 * The `clone` strategy: `CREATE DATABASE <db>_snap_<id> TEMPLATE <db>`, a
 * byte-for-byte copy of the whole database. PostgreSQL only copies a database
 * nobody is connected to, so this is for development and embedded databases:
 * the pool's idle connections are closed first, the copy runs from the
 * maintenance database, and any other session makes it refuse, naming them.
 * The clone is marked ALLOW_CONNECTIONS false so that nobody connecting to it
 * by accident can block a later restore.
 *
 * The record is written `in_progress` before the copy (so a crash leaves a
 * visible record that `drop` cleans up) and `complete` after it; a failed
 * copy deletes the record.
 */
export const cloneStrategy: SnapshotStrategy = {
  name: 'clone',

  async create(pool, request) {
    const database = databaseOf(request.url);
    const target = cloneDatabaseName(database, request.id);
    const record: SnapshotRecord = {
      id: request.id,
      strategy: 'clone',
      status: 'in_progress',
      reason: request.reason,
      migration: request.migration,
      phase: request.phase,
      actor: request.actor,
      location: target,
      tables: await describe(pool, request.tables),
      createdAt: new Date(),
    };
    await saveRecord(pool, request.schema, record);
    try {
      await closeIdleConnections(pool);
      await withMaintenance(request.url, async (m) => {
        await requireAlone(m, database, `clone database ${database}`);
        await m.query(`CREATE DATABASE ${q(target)} TEMPLATE ${q(database)}`);
        await m.query(`ALTER DATABASE ${q(target)} ALLOW_CONNECTIONS false`);
      });
    } catch (err) {
      await deleteRecord(pool, request.schema, record.id).catch(() => {});
      throw err;
    }
    await setStatus(pool, request.schema, record.id, 'complete');
    return { ...record, status: 'complete' };
  },

  /**
   * The rename dance: the current database is renamed to become the safety
   * snapshot (no copy needed), then re-created from the clone under its
   * name. If creating it fails, the rename is undone. The snapshots catalog
   * inside the restored database is then rewritten with the catalog as it
   * was just before the restore, plus the safety snapshot, so the restore
   * itself can be undone and no snapshot is forgotten.
   */
  async restore(pool, snapshot, request) {
    if (request.tables && request.tables.length > 0) {
      throw new UsageError('a clone snapshot restores the whole database; --tables works with tables snapshots only', 'omit --tables');
    }
    const database = databaseOf(request.url);
    const catalog = await allRecords(pool, request.schema);
    const safetyId = newSnapshotId();
    const existing = await existingTables(pool, snapshot.tables);
    const safety: SnapshotRecord = {
      id: safetyId,
      strategy: 'clone',
      status: 'complete',
      reason: `before restoring snapshot ${snapshot.id}`,
      migration: snapshot.migration,
      phase: 'restore',
      actor: request.actor,
      location: cloneDatabaseName(database, safetyId),
      tables: await describe(pool, existing),
      createdAt: new Date(),
    };
    await closeIdleConnections(pool);
    await withMaintenance(request.url, async (m) => {
      const { rows } = await m.query<{ owner: string }>(
        'SELECT pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = $1',
        [snapshot.location],
      );
      if (!rows[0]) throw new CurtainError(`the clone database of snapshot ${snapshot.id} is missing: ${snapshot.location}`);
      const { rows: own } = await m.query<{ owner: string }>('SELECT pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = $1', [
        database,
      ]);
      await requireAlone(m, database, `restore snapshot ${snapshot.id} over database ${database}`);
      await m.query(`ALTER DATABASE ${q(database)} RENAME TO ${q(safety.location)}`);
      try {
        await m.query(`CREATE DATABASE ${q(database)} TEMPLATE ${q(snapshot.location)} OWNER ${q(own[0]!.owner)}`);
      } catch (err) {
        await m.query(`ALTER DATABASE ${q(safety.location)} RENAME TO ${q(database)}`);
        throw err;
      }
      await m.query(`ALTER DATABASE ${q(safety.location)} ALLOW_CONNECTIONS false`);
    });
    await transaction(pool, async (tx) => {
      await tx.query(`DELETE FROM ${q(request.schema)}.snapshots WHERE id <> ALL($1::text[])`, [catalog.map((r) => r.id)]);
      for (const rec of [...catalog, safety]) await saveRecord(tx, request.schema, rec);
    });
    return {
      safetySnapshotId: safety.id,
      restored: snapshot.tables.map((t) => ({ table: display(t), rows: t.rows, mode: 'clone' as const, readdedColumns: [], columnsNotInSnapshot: [] })),
    };
  },

  async drop(pool, snapshot, { schema, url }) {
    await withMaintenance(url, async (m) => {
      await m.query(`DROP DATABASE IF EXISTS ${q(snapshot.location)}`);
    });
    await deleteRecord(pool, schema, snapshot.id);
  },
};

async function describe(pool: pg.Pool, tables: TableName[]): Promise<SnapshotTable[]> {
  return transaction(pool, async (tx) => {
    await tx.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ');
    return describeTables(tx, tables);
  });
}

async function existingTables(pool: pg.Pool, tables: TableName[]): Promise<TableName[]> {
  const out: TableName[] = [];
  for (const t of tables) {
    const { rows } = await pool.query<{ r: string | null }>('SELECT to_regclass($1) AS r', [`${q(t.schema)}.${q(t.name)}`]);
    if (rows[0]?.r) out.push({ schema: t.schema, name: t.name });
  }
  return out;
}
