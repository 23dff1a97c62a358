import type pg from 'pg';
import { quoteIdent, quoteLiteral } from '../db/identifiers.js';
import { transaction, type Queryable } from '../db/queryable.js';
import { saveRecord } from './catalog.js';
import { CurtainError } from '../errors.js';
import { useStableOutput } from './checksum.js';
import { checksumsAlongside } from './parallel-checksum.js';
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
 * with the tables already locked against writers). The record goes in as
 * `in_progress` and is flipped to `complete` before the caller commits, so no
 * other session ever sees a half snapshot. With `pool`, the checksums run on
 * a second session while the copies are written (parallel-checksum.ts).
 */
export async function copyTables(tx: Queryable, request: SnapshotRequest, pool?: pg.Pool): Promise<SnapshotRecord> {
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
  const planned = [];
  for (const [i, t] of request.tables.entries()) {
    const columns = await tableColumns(tx, t);
    planned.push({ t, columns, copy: { schema: location, name: copyTableName(request.id, i, t.name) } });
  }
  const pending = await checksumsAlongside(
    pool,
    tx,
    planned.map((p) => ({ relation: qualified(p.t), columns: p.columns.map((c) => c.name), fallback: qualified(p.copy) })),
  );
  const copied: number[] = [];
  for (const { t, copy } of planned) {
    // Set-based copy: CTAS is the fastest way PostgreSQL has to copy a table.
    const result = await tx.query(`CREATE TABLE ${qualified(copy)} AS SELECT * FROM ${qualified(t)}`);
    copied.push(result.rowCount ?? -1);
    await tx.query(`COMMENT ON TABLE ${qualified(copy)} IS ${quoteLiteral(`curtain snapshot ${request.id} of ${display(t)}`)}`);
  }
  const sums = await pending.result();
  const tables: SnapshotTable[] = [];
  for (const [i, { t, columns, copy }] of planned.entries()) {
    const { rows, checksum } = sums[i]!;
    if (copied[i] !== rows) {
      throw new CurtainError(`the copy of ${display(t)} has ${copied[i]} rows but the table had ${rows} in the same snapshot; nothing was recorded`);
    }
    tables.push({ schema: t.schema, name: t.name, copy, rows, bytes: await relationBytes(tx, t), checksum, columns });
  }
  const complete: SnapshotRecord = { ...record, tables, status: 'complete' };
  await saveRecord(tx, request.schema, complete);
  return complete;
}
