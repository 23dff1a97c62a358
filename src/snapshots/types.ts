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
  /** Attribute number (recorded since row-granular restore; absent in older snapshots). */
  attnum?: number;
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
  /**
   * Row-granular restore (tables strategy, needs `tables`): only rows whose
   * primary key matches this SQL condition in the snapshot or now are put
   * back; every other row stays as it is. See restore-rows.ts.
   */
  where?: string;
  /** With `where`: also delete rows inserted since the snapshot that match it (default: keep them). */
  deleteInserted?: boolean;
  actor?: string;
  /** `lock_timeout` while taking the table locks (tables strategy); default: wait. */
  lockTimeoutMs?: number;
  /** Directory for the safety dump (dump strategy). */
  dir?: string;
  url?: string;
}

/** What a restore changes (or would change) in one table, by primary key. */
export interface RowChanges {
  /** Keys in scope: every row for a full restore; for `where`, rows matching it in the snapshot or now. */
  matching: number;
  /** Rows in the snapshot and now, with different values: set back. */
  updated: number;
  /** Rows in the snapshot but not now (deleted since): inserted back. */
  inserted: number;
  /** Rows now but not in the snapshot: deleted (full restore always; `where` only with `deleteInserted`). */
  deleted: number;
  /** Rows in scope that already equal the snapshot. */
  unchanged: number;
  /** Rows inserted since the snapshot that match `where` and are kept (without `deleteInserted`). */
  keptInserted: number;
}

/** How one table was put back. */
export interface RestoredTable {
  table: string;
  rows: number;
  /**
   * `replace`: TRUNCATE + INSERT; `merge`: update/insert/delete by primary key
   * (table referenced from outside the set); `rows`: row-granular (`where`).
   */
  mode: 'replace' | 'merge' | 'rows' | 'dump' | 'clone';
  /** Row-granular restores: what changed. */
  changes?: RowChanges;
  /** Columns dropped since the snapshot and added back. */
  readdedColumns: string[];
  /** Columns added since the snapshot: left at their defaults (re-run the backfill of the migration that added them). */
  columnsNotInSnapshot: string[];
}

/** One table in `previewRestore` (a dry run). */
export interface RestorePreviewTable {
  table: string;
  mode: 'replace' | 'merge' | 'rows';
  rowsThen: number;
  rowsNow: number;
  /** null when the table has no primary key the snapshot also has (a full restore replaces it as a whole). */
  changes: RowChanges | null;
  /** Columns dropped since the snapshot: a full restore re-adds them, a row-granular one cannot restore them. */
  droppedColumns: string[];
  /** Columns added since the snapshot: left as they are. */
  columnsNotInSnapshot: string[];
}

/** The result of `previewRestore`: nothing was changed. */
export interface RestorePreview {
  snapshotId: string;
  where: string | null;
  tables: RestorePreviewTable[];
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
