import type pg from 'pg';
import type { TableName } from './relations.js';
import type { RestoreResult, SnapshotRecord, SnapshotStrategyName } from './types.js';

/** Everything a strategy needs to take one snapshot; resolved by `createSnapshot`. */
export interface SnapshotRequest {
  id: string;
  /** The curtain schema. */
  schema: string;
  tables: TableName[];
  reason: string | null;
  migration: string | null;
  phase: string | null;
  actor: string;
  /** Absolute directory for files (dump). */
  dir: string;
  /** Connection string of the database (dump, clone). */
  url: string;
}

/** Everything a strategy needs to restore; resolved by `restoreSnapshot`. */
export interface RestoreRequest {
  schema: string;
  /** User table references, already checked to be non-empty when given. */
  tables?: string[];
  /** Row-granular restore: the checked predicate (tables strategy only). */
  where?: string;
  deleteInserted?: boolean;
  actor: string;
  lockTimeoutMs?: number;
  dir: string;
  url: string;
}

/**
 * One way of keeping a snapshot. Each strategy owns its crash-safety: after
 * a failure there is no half-written record (or it is marked `failed`) and
 * no leftover copy, file or database.
 */
export interface SnapshotStrategy {
  readonly name: SnapshotStrategyName;
  /** Take the snapshot and record it (`complete`). */
  create(pool: pg.Pool, request: SnapshotRequest): Promise<SnapshotRecord>;
  /** Snapshot the current state (the safety snapshot), then put the snapshot's data back. */
  restore(pool: pg.Pool, snapshot: SnapshotRecord, request: RestoreRequest): Promise<RestoreResult>;
  /** Remove the snapshot's data and its record. */
  drop(pool: pg.Pool, snapshot: SnapshotRecord, request: { schema: string; url: string }): Promise<void>;
}
