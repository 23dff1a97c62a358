import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { transaction } from '../db/transaction.js';
import { CurtainError, UsageError } from '../errors.js';
import { createPrivateFile, ensurePrivateDir } from '../files/private.js';
import { deleteRecord, saveRecord } from './catalog.js';
import { describeTables } from './describe.js';
import { newSnapshotId } from './ids.js';
import { compatibleTool, runTool, serverMajor, toolConnection } from './pg-tools.js';
import { display, type TableName } from './relations.js';
import type { SnapshotStrategy } from './strategy.js';
import { tablesStrategy } from './tables.js';
import type { SnapshotRecord } from './types.js';

/** pg_dump `-t` pattern matching exactly one table (double quotes make it literal). */
function tablePattern(t: TableName): string {
  const q = (s: string) => `"${s.replace(/"/g, '""')}"`;
  return `${q(t.schema)}.${q(t.name)}`;
}

/**
 * The `dump` strategy: `pg_dump -Fc` of the tables into `<dir>/<id>.dump`.
 * pg_dump reads the snapshot exported by our REPEATABLE READ transaction, so
 * the row counts and checksums recorded are exactly those of the file, and
 * the record is committed only after pg_dump succeeded (a failure leaves no
 * record and no file). Needs a pg_dump at least as new as the server.
 */
export const dumpStrategy: SnapshotStrategy = {
  name: 'dump',

  async create(pool, request) {
    // With no --table at all, pg_dump would dump the whole database, the curtain schema included.
    if (request.tables.length === 0) throw new CurtainError('the dump strategy needs at least one table; this database has none to dump');
    const major = await serverMajor(pool);
    const pgDump = compatibleTool('pg_dump', major);
    // A dump is whole tables: owner-only folder and file (pg_dump keeps the mode of the file it writes into).
    await ensurePrivateDir(request.dir);
    const file = path.join(request.dir, `${request.id}.dump`);
    const partial = `${file}.partial`;
    await fs.rm(partial, { force: true });
    await createPrivateFile(partial);
    const conn = toolConnection(request.url);
    try {
      // The exported snapshot lives as long as this transaction: pg_dump reads exactly what the record describes.
      return await transaction(
        pool,
        async (client) => {
          const { rows } = await client.query<{ s: string }>('SELECT pg_export_snapshot() AS s');
          const tables = await describeTables(client, request.tables);
          const args = ['--format=custom', `--snapshot=${rows[0]!.s}`, `--file=${partial}`];
          for (const t of request.tables) args.push(`--table=${tablePattern(t)}`);
          await runTool(pgDump.path, [...args, `--dbname=${conn.dbname}`], conn.env);
          await fs.rename(partial, file);
          const record: SnapshotRecord = {
            id: request.id,
            strategy: 'dump',
            status: 'complete',
            reason: request.reason,
            migration: request.migration,
            phase: request.phase,
            actor: request.actor,
            location: file,
            tables,
            createdAt: new Date(),
          };
          await saveRecord(client, request.schema, record);
          return record;
        },
        { isolation: 'REPEATABLE READ' },
      );
    } catch (err) {
      await fs.rm(partial, { force: true });
      await fs.rm(file, { force: true });
      throw err;
    }
  },

  /**
   * `pg_restore --clean --if-exists --single-transaction`: the tables are
   * dropped and re-created as they were (definition, data, indexes,
   * constraints, triggers: triggers are created after the data is loaded, so
   * dual-write triggers never rewrite restored rows). All or nothing.
   */
  async restore(pool, snapshot, request) {
    if (request.tables && request.tables.length > 0) {
      throw new UsageError(`a dump snapshot restores as a whole; --tables works with tables snapshots only`, 'omit --tables');
    }
    const major = await serverMajor(pool);
    const pgRestore = compatibleTool('pg_restore', major);
    if (!existsSync(snapshot.location)) throw new CurtainError(`the dump file of snapshot ${snapshot.id} is missing: ${snapshot.location}`);
    const existing: TableName[] = [];
    for (const t of snapshot.tables) {
      const { rows } = await pool.query<{ r: string | null }>('SELECT to_regclass($1) AS r', [tablePattern(t)]);
      if (rows[0]?.r) existing.push({ schema: t.schema, name: t.name });
    }
    // With none of the tables left, pg_dump would dump everything: record an empty safety point instead.
    const safetyStrategy = existing.length > 0 ? dumpStrategy : tablesStrategy;
    const safety = await safetyStrategy.create(pool, {
      ...request,
      id: newSnapshotId(),
      tables: existing,
      reason: `before restoring snapshot ${snapshot.id}`,
      migration: snapshot.migration,
      phase: 'restore',
    });
    const conn = toolConnection(request.url);
    try {
      await runTool(
        pgRestore.path,
        ['--clean', '--if-exists', '--single-transaction', '--exit-on-error', '--no-owner', `--dbname=${conn.dbname}`, snapshot.location],
        conn.env,
      );
    } catch (err) {
      // Nothing changed (single transaction): the safety snapshot is noise.
      await safetyStrategy.drop(pool, safety, { schema: request.schema, url: request.url }).catch(() => {});
      throw new CurtainError(`restore of ${snapshot.id} failed; nothing was changed: ${(err as Error).message}`, {
        hint: 'a table outside the dump that references one inside it blocks the DROP; use a tables snapshot for such restores',
        cause: err,
      });
    }
    return {
      safetySnapshotId: safety.id,
      restored: snapshot.tables.map((t) => ({ table: display(t), rows: t.rows, mode: 'dump' as const, readdedColumns: [], columnsNotInSnapshot: [] })),
    };
  },

  async drop(pool, snapshot, { schema }) {
    await fs.rm(snapshot.location, { force: true });
    await deleteRecord(pool, schema, snapshot.id);
  },
};
