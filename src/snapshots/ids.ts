import { randomBytes } from 'node:crypto';
import { boundedIdent } from '../db/identifiers.js';

/**
 * A new snapshot id: sortable by time and readable, e.g. `20261125-074731-3fa9c1`.
 * Lower-case and `[0-9a-z-]` only, so it is also usable inside database names.
 */
export function newSnapshotId(now = new Date()): string {
  const t = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${t}-${randomBytes(3).toString('hex')}`;
}

/**
 * The schema holding `tables` snapshot copies: `curtain_snapshots` for the
 * default curtain schema, else `<schema>_snapshots`, so two curtain
 * installations in one database never share copies.
 */
export function snapshotSchemaName(curtainSchema: string): string {
  return curtainSchema === 'curtain' ? 'curtain_snapshots' : boundedIdent(`${curtainSchema}_snapshots`);
}

/** Name of the copy of the `index`-th table of snapshot `id` (bounded to 63 bytes). */
export function copyTableName(id: string, index: number, table: string): string {
  return boundedIdent(`${id}_${index}_${table}`);
}

/** Name of the database a `clone` snapshot lives in. */
export function cloneDatabaseName(database: string, id: string): string {
  const suffix = `_snap_${id}`;
  let head = database;
  while (Buffer.byteLength(head) + suffix.length > 63) head = head.slice(0, -1);
  return head + suffix;
}
