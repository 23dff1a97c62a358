import type pg from 'pg';
import { quoteIdent, quoteLiteral } from '../db/identifiers.js';
import { transaction, type Queryable } from '../db/queryable.js';
import { saveRecord } from './catalog.js';
import { countAndChecksum, useStableOutput } from './checksum.js';
import { copyTableName, snapshotSchemaName } from './ids.js';
import { display, qualified, relationBytes, tableColumns } from './relations.js';
import type { SnapshotRequest } from './strategy.js';
import type { SnapshotRecord, SnapshotTable } from './types.js';

/**
 * Create the snapshot schema once. Its own short transaction under an
 * advisory lock, because concurrent `CREATE SCHEMA IF NOT EXISTS` can still
 * collide, and the long copy transaction should not hold that lock.
 */
export async function ensureSnapshotSchema(pool: pg.Pool, curtainSchema: string): Promise<string> {
  const name = snapshotSchemaName(curtainSchema);
  await transaction(pool, async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`curtain.snapshots:${name}`]);
    await tx.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(name)}`);
  });
  return name;
}

/**
 * Copy `request.tables` and record the snapshot, inside the caller's
 * transaction (REPEATABLE READ for a consistent snapshot; restore calls it
 * with the tables already locked). The record goes in as `in_progress` and is
 * flipped to `complete` before the caller commits, so no other session ever
 * sees a half snapshot.
 */
export async function copyTables(tx: Queryable, request: SnapshotRequest): Promise<SnapshotRecord> {
  const location = snapshotSchemaName(request.schema);
  const record: SnapshotRecord = {
    id: request.id,
    strategy: 'tables',
    status: 'in_progress',
    reason: request.reason,
    migration: request.migration,
    phase: request.phase,
    actor: request.actor,
    location,
    tables: [],
    createdAt: new Date(),
  };
  await useStableOutput(tx);
  await saveRecord(tx, request.schema, record);
  const tables: SnapshotTable[] = [];
  for (const [i, t] of request.tables.entries()) {
    const columns = await tableColumns(tx, t);
    const copy = { schema: location, name: copyTableName(request.id, i, t.name) };
    // Set-based copy: CTAS is the fastest way PostgreSQL has to copy a table.
    await tx.query(`CREATE TABLE ${qualified(copy)} AS SELECT * FROM ${qualified(t)}`);
    await tx.query(`COMMENT ON TABLE ${qualified(copy)} IS ${quoteLiteral(`curtain snapshot ${request.id} of ${display(t)}`)}`);
    const { rows, checksum } = await countAndChecksum(tx, qualified(copy), columns.map((c) => c.name));
    tables.push({ schema: t.schema, name: t.name, copy, rows, bytes: await relationBytes(tx, t), checksum, columns });
  }
  const complete: SnapshotRecord = { ...record, tables, status: 'complete' };
  await saveRecord(tx, request.schema, complete);
  return complete;
}
