import { transaction } from '../db/queryable.js';
import { deleteRecord } from './catalog.js';
import { copyTables, ensureSnapshotSchema } from './copy-tables.js';
import { qualified } from './relations.js';
import { restoreTables } from './restore-tables.js';
import type { SnapshotStrategy } from './strategy.js';

/**
 * The `tables` strategy (default): each table copied with
 * `CREATE TABLE ... AS SELECT` into the snapshot schema, all in one
 * REPEATABLE READ transaction, so the copies are consistent with each other
 * and only ACCESS SHARE locks are taken (online; no superuser needed). The
 * record is written in that same transaction: a crash leaves nothing behind.
 */
export const tablesStrategy: SnapshotStrategy = {
  name: 'tables',

  async create(pool, request) {
    await ensureSnapshotSchema(pool, request.schema);
    // One REPEATABLE READ transaction: every table is copied as of the same moment.
    return transaction(pool, (client) => copyTables(client, request, pool), { isolation: 'REPEATABLE READ' });
  },

  async restore(pool, snapshot, request) {
    await ensureSnapshotSchema(pool, request.schema);
    return restoreTables(pool, snapshot, request);
  },

  async drop(pool, snapshot, { schema }) {
    await transaction(pool, async (tx) => {
      for (const t of snapshot.tables) {
        if (t.copy) await tx.query(`DROP TABLE IF EXISTS ${qualified(t.copy)}`);
      }
      await deleteRecord(tx, schema, snapshot.id);
    });
  },
};
