/** How a snapshot is taken and kept. */
export type SnapshotStrategyName = 'tables' | 'dump' | 'clone';

/** `in_progress` is only ever visible for dump and clone snapshots interrupted by a crash. */
export type SnapshotStatus = 'in_progress' | 'complete' | 'failed';

/** A column as it was when the snapshot was taken: enough to re-add it if it was dropped since. */
export interface SnapshotColumn {
  name: string;
  /** `format_type(atttypid, atttypmod)`, e.g. `character varying(20)`. */
  type: string;
  notNull: boolean;
  /** `pg_get_expr` of the default, if any. */
  default: string | null;
  /** `a` (ALWAYS), `d` (BY DEFAULT) or `''` (not an identity column). */
  identity: '' | 'a' | 'd';
  /** The expression of a stored generated column, else null. */
  generated: string | null;
}

/** One table inside a snapshot. */
export interface SnapshotTable {
  schema: string;
  name: string;
  /** Where the `tables` strategy keeps the copy. */
  copy?: { schema: string; name: string };
  rows: number;
  /** `pg_total_relation_size` of the source table when the snapshot was taken. */
  bytes: number;
  /** See checksum.ts; null when not computed. */
  checksum: string | null;
  columns: SnapshotColumn[];
}

/** A row of `<schema>.snapshots`, typed. */
export interface SnapshotRecord {
  id: string;
  strategy: SnapshotStrategyName;
  status: SnapshotStatus;
  reason: string | null;
  migration: string | null;
  phase: string | null;
  actor: string;
  /** Schema (tables), file (dump) or database (clone) holding the data. */
  location: string;
  tables: SnapshotTable[];
  createdAt: Date;
}

/** What `createSnapshot` accepts. */
export interface CreateSnapshotOptions {
  /** The curtain schema (where the snapshots catalog lives). */
  schema: string;
  /** Tables to snapshot (`users`, `app.users`); default: every user table. */
  tables?: string[];
  strategy?: SnapshotStrategyName;
  reason?: string;
  migration?: string;
  phase?: string;
  actor?: string;
  /** Directory for dump files (default `.curtain/snapshots`, relative to the cwd). */
  dir?: string;
  /** Connection string for pg_dump and for clone's maintenance connection (default: the pool's). */
  url?: string;
}

/** What `restoreSnapshot` accepts. */
export interface RestoreSnapshotOptions {
  schema: string;
  /** Restore only these tables of the snapshot (tables strategy only). */
  tables?: string[];
  actor?: string;
  /** `lock_timeout` while taking the table locks (tables strategy); default: wait. */
  lockTimeoutMs?: number;
  /** Directory for the safety dump (dump strategy). */
  dir?: string;
  url?: string;
}

/** How one table was put back. */
export interface RestoredTable {
  table: string;
  rows: number;
  /** `replace`: TRUNCATE + INSERT; `merge`: update/insert/delete by primary key (table referenced from outside the set). */
  mode: 'replace' | 'merge' | 'dump' | 'clone';
  /** Columns dropped since the snapshot and added back. */
  readdedColumns: string[];
  /** Columns added since the snapshot: left at their defaults (re-run the backfill of the migration that added them). */
  columnsNotInSnapshot: string[];
}

/** The result of `restoreSnapshot`. */
export interface RestoreResult {
  restored: RestoredTable[];
  /** A snapshot of the state just before the restore: restore it to undo. */
  safetySnapshotId: string;
}

/** One table in `diffSnapshot`: then (snapshot) against now. */
export interface TableDiff {
  table: string;
  rowsThen: number;
  /** null when the table no longer exists. */
  rowsNow: number | null;
  /** Checksums over the snapshot's columns; null when not comparable (missing table or column). */
  checksumThen: string | null;
  checksumNow: string | null;
  changed: boolean;
  droppedColumns: string[];
  addedColumns: string[];
}
