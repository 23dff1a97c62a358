/**
 * The contract between operations (planners) and the executor.
 *
 * An operation never touches the database itself: given the live shape of the
 * tables it reads (a {@link Catalog}), it returns the SQL steps for each phase.
 * That keeps `migrate plan` exact, lets the linter check generated SQL, and
 * makes planners testable without a database.
 */

import type { Catalog, TableShape } from '../db/catalog.js';
import type { DropTarget } from '../db/dependents.js';

/** The strongest table lock a statement takes, as PostgreSQL names it. */
export type LockMode =
  | 'ACCESS EXCLUSIVE'
  | 'EXCLUSIVE'
  | 'SHARE ROW EXCLUSIVE'
  | 'SHARE'
  | 'SHARE UPDATE EXCLUSIVE'
  | 'ROW EXCLUSIVE'
  | 'ROW SHARE'
  | 'ACCESS SHARE'
  | 'none';

/** One statement the executor runs. */
export interface Step {
  /** What it does, for `migrate plan` and progress output. */
  description: string;
  sql: string;
  lock: LockMode;
  /**
   * False for statements PostgreSQL refuses inside a transaction block
   * (CREATE INDEX CONCURRENTLY, ...). Transactional steps of a phase run
   * together in one transaction; the others each run alone.
   */
  transactional: boolean;
  /**
   * For non-transactional steps: SQL that removes what a failed or killed
   * attempt left behind (an INVALID index), run before a retry.
   */
  cleanup?: string;
  /**
   * Run in a transaction of its own instead of joining its neighbours: for
   * long statements under a weak lock (VALIDATE CONSTRAINT scans the table
   * under SHARE UPDATE EXCLUSIVE), so the exclusive locks of the steps around
   * them are not held for the whole scan.
   */
  ownTransaction?: boolean;
  /** `user` for SQL the migration's author wrote (`op.sql`): lint reports it where it is written, not as generated SQL. */
  origin?: 'user';
}

/** A table name as resolved against the catalog. */
export interface TableName {
  schema: string;
  name: string;
}

/** Fill new columns from old ones, in keyset batches. */
export interface BackfillTask {
  table: TableName;
  /** column name → SQL expression over the row's current columns. */
  set: Record<string, string>;
  /**
   * A predicate (over the row) that is true where the new side is out of
   * sync with the old one; verification counts such rows and expand fails
   * if any remain.
   */
  outOfSync: string;
  /**
   * The part of `outOfSync` that must still hold at contract: pairs whose new
   * side is only ever derived from the old one (a rename, a shadow column).
   * Columns new code writes itself are left out: they may differ from up(old).
   */
  recheck?: string;
}

/** Which side wins when a write supplies both and they disagree. */
export type Authority = 'old' | 'new';

/** Everything a migration's operations ask for, merged per table. */
export interface MigrationPlan {
  /** Additive steps; transactional ones run first, in one transaction. */
  expand: Step[];
  backfill: BackfillTask[];
  /** Steps that need the backfilled data (e.g. a unique index built CONCURRENTLY). */
  afterBackfill: Step[];
  /** Destructive steps, run after the contract guards pass. */
  contract: Step[];
  /** Undo every expand step; the catalog afterwards equals the one before expand. */
  abort: Step[];
  /** Steps run in switch's own transaction to make one side authoritative. */
  authority(side: Authority): Step[];
  /** "schema.table.column" (or "schema.table.*") this migration changes; two in-flight migrations must not share one. */
  touches: string[];
  /** Tables whose data contract destroys or rewrites: what a snapshot must hold. */
  affectedTables: TableName[];
  /**
   * "schema.table.column" that catalog objects this migration creates or keeps read (a CHECK's
   * expression, an index's columns, a view re-created at contract): another in-flight migration must not
   * drop or replace them.
   */
  reads: string[];
  /** Things to know before running it: functions that may break, objects that go with a dropped column. */
  warnings: string[];
}

/** An empty plan: what a code migration has. */
export function emptyPlan(): MigrationPlan {
  return {
    expand: [],
    backfill: [],
    afterBackfill: [],
    contract: [],
    abort: [],
    authority: () => [],
    touches: [],
    affectedTables: [],
    reads: [],
    warnings: [],
  };
}

// ---------------------------------------------------------------------------
// Planner side: what each operation implements. Added for the operations
// layer; the runner only consumes MigrationPlan above.
// ---------------------------------------------------------------------------


/** What a planner may look at: the live catalog, as modified by the earlier operations of the same migration. */
export interface PlanContext {
  /** Tables as read from pg_catalog, then updated by earlier operations of this migration. */
  readonly catalog: Catalog;
  /** Migration name: generated object names (triggers, shadow columns, indexes) derive from it. */
  readonly migration: string;
  /** The migration's flag key. */
  readonly flag: string;
  /** Schema where curtain keeps its state. */
  readonly curtainSchema: string;
  /** Schema of unqualified table references (default `public`). */
  readonly defaultSchema: string;
  /** Views (`schema.name`) an `op.replaceView` of this migration replaces at contract. */
  readonly replacedViews?: ReadonlySet<string>;
}

/**
 * Two representations of one value kept equal by the dual-write trigger.
 * `old` (A) is what old code writes, `new` (B) what new code writes; either
 * may be absent (addColumn has no A, dropColumn no B).
 */
export interface SyncPair {
  old?: string;
  new?: string;
  /** SQL over the row (bare column names) computing `new`. */
  up?: string;
  /** SQL over the row computing `old`. */
  down?: string;
  /** Columns `up` reads (besides `old`). */
  upDeps: string[];
  /** Columns `down` reads (besides `new`). */
  downDeps: string[];
}

/** A column this migration adds, so later operations of the same migration see it. */
export interface AddedColumn {
  table: TableName;
  name: string;
  type: string;
  /** The default in force during expand (`undefined`: none). */
  default?: string;
  notNull: boolean;
}

/** What one operation contributes; {@link planMigration} merges these into a {@link MigrationPlan}. */
export interface OperationPlan {
  expand: Step[];
  afterBackfill: Step[];
  contract: Step[];
  abort: Step[];
  /** Sync pairs by table; one trigger per table covers every operation's pairs. */
  sync: { table: TableName; pair: SyncPair }[];
  backfill: BackfillTask[];
  touches: string[];
  affectedTables: TableName[];
  /** Columns objects of this operation read (see {@link MigrationPlan.reads}). */
  reads?: string[];
  /** Contract steps that must run before every operation's drops (view replacements). */
  contractFirst?: Step[];
  warnings?: string[];
  /** Effect on the simulated catalog seen by later operations of the migration. */
  addsColumns?: AddedColumn[];
  addsTables?: TableShape[];
  dropsTables?: TableName[];
}

/** One schema change: a planner with a validator. */
export interface Operation {
  /** `addColumn`, `renameColumn`, ... */
  readonly kind: string;
  /** Human-readable one-liner for errors and `migrate plan`, e.g. `addColumn("users", "first_name")`. */
  readonly label: string;
  /** Tables (and indexes) whose live shape the planner needs. */
  needs(defaultSchema: string): { tables: TableName[]; indexes?: TableName[] };
  /** What contract drops or replaces: planMigration reads their dependents into the catalog. */
  drops?(defaultSchema: string): DropTarget[];
  /** Columns replaced by another (`to`, of type `type`, default: the same): planMigration rewrites the indexes and CHECKs on them. */
  moves?(defaultSchema: string): { table: TableName; from: string; to: string; type?: string }[];
  /** The view an `op.replaceView` replaces (`schema.name`). */
  replacesView?(defaultSchema: string): string;
  /** Throws an OperationError naming the operation when the request is impossible. */
  validate(ctx: PlanContext): void;
  /** The steps; only called after `validate` passed. */
  plan(ctx: PlanContext): OperationPlan;
}
