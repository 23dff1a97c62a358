import { quoteIdent } from '../db/identifiers.js';
import type { Queryable } from '../db/queryable.js';
import { CurtainError } from '../errors.js';
import type { SnapshotRecord, SnapshotStatus } from './types.js';

/** Reads and writes of `<schema>.snapshots`; the one place that knows its columns. */

const COLUMNS = 'id, strategy, status, reason, migration, phase, actor, location, tables, created_at';

interface Row {
  id: string;
  strategy: SnapshotRecord['strategy'];
  status: SnapshotStatus;
  reason: string | null;
  migration: string | null;
  phase: string | null;
  actor: string;
  location: string;
  tables: SnapshotRecord['tables'];
  created_at: Date;
}

function toRecord(r: Row): SnapshotRecord {
  return {
    id: r.id,
    strategy: r.strategy,
    status: r.status,
    reason: r.reason,
    migration: r.migration,
    phase: r.phase,
    actor: r.actor,
    location: r.location,
    tables: r.tables,
    createdAt: r.created_at,
  };
}

function table(schema: string): string {
  return `${quoteIdent(schema)}.snapshots`;
}

/** Insert or overwrite a record (upsert, so a clone restore can re-write the catalog). */
export async function saveRecord(q: Queryable, schema: string, rec: SnapshotRecord): Promise<void> {
  await q.query(
    `INSERT INTO ${table(schema)} (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10)
     ON CONFLICT (id) DO UPDATE SET strategy = EXCLUDED.strategy, status = EXCLUDED.status, reason = EXCLUDED.reason,
       migration = EXCLUDED.migration, phase = EXCLUDED.phase, actor = EXCLUDED.actor, location = EXCLUDED.location,
       tables = EXCLUDED.tables, created_at = EXCLUDED.created_at`,
    [rec.id, rec.strategy, rec.status, rec.reason, rec.migration, rec.phase, rec.actor, rec.location, JSON.stringify(rec.tables), rec.createdAt],
  );
}

export async function setStatus(q: Queryable, schema: string, id: string, status: SnapshotStatus): Promise<void> {
  await q.query(`UPDATE ${table(schema)} SET status = $2 WHERE id = $1`, [id, status]);
}

export async function deleteRecord(q: Queryable, schema: string, id: string): Promise<void> {
  await q.query(`DELETE FROM ${table(schema)} WHERE id = $1`, [id]);
}

export async function findRecord(q: Queryable, schema: string, id: string): Promise<SnapshotRecord | undefined> {
  const { rows } = await q.query<Row>(`SELECT ${COLUMNS} FROM ${table(schema)} WHERE id = $1`, [id]);
  return rows[0] ? toRecord(rows[0]) : undefined;
}

/** The record, or a clear error naming the id (exit 1). */
export async function requireRecord(q: Queryable, schema: string, id: string): Promise<SnapshotRecord> {
  const rec = await findRecord(q, schema, id);
  if (!rec) throw new CurtainError(`no snapshot with id "${id}"`, { hint: 'run `migrate snapshot list` to see the snapshots' });
  return rec;
}

/** Every record, newest first. */
export async function allRecords(q: Queryable, schema: string): Promise<SnapshotRecord[]> {
  const { rows } = await q.query<Row>(`SELECT ${COLUMNS} FROM ${table(schema)} ORDER BY created_at DESC, id DESC`);
  return rows.map(toRecord);
}

/**
 * A complete snapshot taken for a migration's phase since the migration last
 * changed: a command killed after its snapshot but before its own commit
 * reuses it on the rerun instead of taking another.
 *
 * @example
 * const id = await reusableSnapshot(pool, 'curtain', '20260101_split_name', 'contract');
 */
export async function reusableSnapshot(q: Queryable, schema: string, migration: string, phase: string): Promise<string | undefined> {
  const s = quoteIdent(schema);
  const { rows } = await q.query<{ id: string }>(
    `SELECT sn.id FROM ${s}.snapshots sn JOIN ${s}.migrations m ON m.name = sn.migration
      WHERE sn.migration = $1 AND sn.phase = $2 AND sn.status = 'complete' AND sn.created_at > m.updated_at
      ORDER BY sn.created_at DESC LIMIT 1`,
    [migration, phase],
  );
  return rows[0]?.id;
}
