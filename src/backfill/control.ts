/**
 * Live control of a running backfill, from another process: one row per
 * migration in `<schema>.backfill_control`, read by the backfill between
 * batches. `migrate backfill pause|resume|set` and the console's buttons
 * write it; every change names its actor and lands in the migration's
 * timeline. The backfill reports why it waits (`throttled`) in the same row.
 */
import { isExpanding, isInFlight, phaseOf } from '../migration/machine.js';
import type pg from 'pg';
import { quoteIdent } from '../db/identifiers.js';
import { transaction, type Queryable } from '../db/queryable.js';
import { CurtainError, UsageError } from '../errors.js';
import { addEvent, getRecord } from '../store/migrations.js';

/** A migration's control row (defaults when none was ever written). */
export interface BackfillControl {
  migration: string;
  /** Hold before the next batch (no locks, no open transaction while paused). */
  paused: boolean;
  /** Rows per batch; null: as configured / adaptive. */
  batchSize: number | null;
  /** Pause between batches; null: as configured. */
  batchDelayMs: number | null;
  /** Wait while a replica lags more than this; null: as configured. */
  maxReplicaLagMs: number | null;
  /** Why the backfill is waiting, as it reported it; null when it is not. */
  throttled: string | null;
  throttledAt: Date | null;
  /** Actor of the last change; null when never changed. */
  updatedBy: string | null;
  updatedAt: Date | null;
}

/** What {@link setBackfillControl} may change; absent fields keep their value, null returns to the configuration. */
export interface BackfillControlPatch {
  paused?: boolean;
  batchSize?: number | null;
  batchDelayMs?: number | null;
  maxReplicaLagMs?: number | null;
}

/** Largest accepted values: beyond them a typo, not a setting. */
export const CONTROL_LIMITS = { batchSize: 1_000_000, batchDelayMs: 3_600_000, maxReplicaLagMs: 86_400_000 } as const;

const COLUMNS = 'migration, paused, batch_size, batch_delay_ms, max_replica_lag_ms, throttled, throttled_at, updated_by, updated_at';

function toControl(migration: string, r: Record<string, any> | undefined): BackfillControl {
  return {
    migration,
    paused: r?.paused ?? false,
    batchSize: r?.batch_size ?? null,
    batchDelayMs: r?.batch_delay_ms ?? null,
    maxReplicaLagMs: r?.max_replica_lag_ms ?? null,
    throttled: r?.throttled ?? null,
    throttledAt: r?.throttled_at ?? null,
    updatedBy: r?.updated_by ?? null,
    updatedAt: r?.updated_at ?? null,
  };
}

/**
 * A migration's control row; defaults (not paused, nothing overridden) when
 * none was written. Cheap: the backfill calls it between batches.
 *
 * @example
 * const control = await getBackfillControl(pool, 'curtain', '20260101_split_name');
 * if (control.paused) await waitABit();
 */
export async function getBackfillControl(q: Queryable, schema: string, migration: string): Promise<BackfillControl> {
  const { rows } = await q.query(`SELECT ${COLUMNS} FROM ${quoteIdent(schema)}.backfill_control WHERE migration = $1`, [migration]);
  return toControl(migration, rows[0]);
}

/**
 * Every control row that was written, by migration.
 *
 * @example
 * const paused = (await listBackfillControls(pool, 'curtain')).filter((c) => c.paused);
 */
export async function listBackfillControls(q: Queryable, schema: string): Promise<BackfillControl[]> {
  const { rows } = await q.query(`SELECT ${COLUMNS} FROM ${quoteIdent(schema)}.backfill_control ORDER BY migration`);
  return rows.map((r) => toControl(r.migration, r));
}

/**
 * Change a backfill's control row, as `actor`. Refuses (exit 1) a migration
 * the database does not know and (exit 2) one that is not expanding — only an
 * expanding migration has a backfill to steer. Writes a `backfill.pause`,
 * `backfill.resume` or `backfill.set` event to the migration's timeline in
 * the same transaction.
 *
 * @example
 * await setBackfillControl(pool, 'curtain', '20260101_split_name', { batchSize: 500, batchDelayMs: 100 }, { actor: 'ops' });
 */
export async function setBackfillControl(
  pool: pg.Pool,
  schema: string,
  migration: string,
  patch: BackfillControlPatch,
  meta: { actor: string },
): Promise<BackfillControl> {
  assertPatch(patch);
  return transaction(pool, async (tx) => {
    const record = await getRecord(tx, schema, migration);
    if (!record) throw new UnknownMigrationError(migration);
    const phase = phaseOf(record.phase);
    if (!isExpanding(phase)) {
      throw new UsageError(
        `${migration} is ${phase}: only an expanding migration has a backfill to steer`,
        isInFlight(phase) ? 'its backfill is already done' : 'see "migrate status"',
      );
    }
    const s = quoteIdent(schema);
    const set = (col: string, value: unknown) => (value === undefined ? `${col} = c.${col}` : `${col} = EXCLUDED.${col}`);
    const { rows } = await tx.query(
      `INSERT INTO ${s}.backfill_control AS c (migration, paused, batch_size, batch_delay_ms, max_replica_lag_ms, updated_by, updated_at)
       VALUES ($1, COALESCE($2, false), $3, $4, $5, $6, now())
       ON CONFLICT (migration) DO UPDATE SET
         ${set('paused', patch.paused)}, ${set('batch_size', patch.batchSize)}, ${set('batch_delay_ms', patch.batchDelayMs)},
         ${set('max_replica_lag_ms', patch.maxReplicaLagMs)}, updated_by = EXCLUDED.updated_by, updated_at = now()
       RETURNING ${COLUMNS}`,
      [migration, patch.paused ?? null, patch.batchSize ?? null, patch.batchDelayMs ?? null, patch.maxReplicaLagMs ?? null, meta.actor],
    );
    const settings = Object.fromEntries(Object.entries(patch).filter(([k, v]) => k !== 'paused' && v !== undefined));
    const event = patch.paused === true ? 'backfill.pause' : patch.paused === false ? 'backfill.resume' : 'backfill.set';
    await addEvent(tx, schema, { migration, event, actor: meta.actor, details: settings });
    if (patch.paused !== undefined && Object.keys(settings).length > 0) {
      await addEvent(tx, schema, { migration, event: 'backfill.set', actor: meta.actor, details: settings });
    }
    return toControl(migration, rows[0]);
  });
}

/**
 * Pause a migration's backfill before its next batch.
 *
 * @example
 * await pauseBackfill(pool, 'curtain', '20260101_split_name', { actor: 'ops' });
 */
export function pauseBackfill(pool: pg.Pool, schema: string, migration: string, meta: { actor: string }): Promise<BackfillControl> {
  return setBackfillControl(pool, schema, migration, { paused: true }, meta);
}

/**
 * Let a paused backfill go on.
 *
 * @example
 * await resumeBackfill(pool, 'curtain', '20260101_split_name', { actor: 'ops' });
 */
export function resumeBackfill(pool: pg.Pool, schema: string, migration: string, meta: { actor: string }): Promise<BackfillControl> {
  return setBackfillControl(pool, schema, migration, { paused: false }, meta);
}

/**
 * For the backfill itself: say why it waits (`throttled: replica r1 lag 7.2 s
 * > 5 s`, `paused`), or null once it runs again. Shown by the console and
 * `migrate status`. Leaves the settings and their actor untouched.
 *
 * @example
 * await reportBackfillThrottle(pool, 'curtain', '20260101_split_name', 'replica r1 lag 7.2 s > 5 s');
 */
export async function reportBackfillThrottle(q: Queryable, schema: string, migration: string, reason: string | null): Promise<void> {
  await q.query(
    `INSERT INTO ${quoteIdent(schema)}.backfill_control AS c (migration, throttled, throttled_at, updated_by)
     VALUES ($1, $2, CASE WHEN $2::text IS NULL THEN NULL ELSE now() END, 'backfill')
     ON CONFLICT (migration) DO UPDATE SET throttled = EXCLUDED.throttled,
       throttled_at = CASE WHEN EXCLUDED.throttled IS NULL THEN NULL WHEN c.throttled IS NULL THEN now() ELSE c.throttled_at END`,
    [migration, reason === null ? null : reason.slice(0, 500)],
  );
}

/** The database has no migration of that name (exit 1). */
export class UnknownMigrationError extends CurtainError {
  readonly migration: string;
  constructor(migration: string) {
    super(`no migration named "${migration}" has been expanded in this database`, { hint: 'see "migrate status" for the names' });
    this.migration = migration;
  }
}

function assertPatch(patch: BackfillControlPatch): void {
  if (patch.paused !== undefined && typeof patch.paused !== 'boolean') throw new UsageError('paused must be true or false');
  const check = (name: keyof typeof CONTROL_LIMITS, what: string, min: number) => {
    const v = patch[name];
    if (v === undefined || v === null) return;
    if (!Number.isInteger(v) || v < min || v > CONTROL_LIMITS[name]) {
      throw new UsageError(`${what} must be a whole number from ${min} to ${CONTROL_LIMITS[name]}, got ${v}`);
    }
  };
  check('batchSize', 'the batch size', 1);
  check('batchDelayMs', 'the batch delay (ms)', 0);
  check('maxReplicaLagMs', 'the maximum replica lag (ms)', 0);
  if (Object.values(patch).every((v) => v === undefined)) throw new UsageError('nothing to change', 'give --batch-size, --batch-delay or --max-replica-lag');
}
