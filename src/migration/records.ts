import { quoteIdent } from '../db/identifiers.js';
import type { Queryable } from '../db/queryable.js';
import type { BackfillTask, MigrationPlan, Step, TableName } from '../ops/operation.js';

/** Where a migration is in its lifecycle (no row at all means pending). */
export type Phase = 'expanding' | 'expanded' | 'switched' | 'contracting' | 'contracted' | 'aborting' | 'aborted';

/** A plan as persisted at expand: later phases run exactly what expand planned. */
export interface StoredPlan {
  expand: Step[];
  backfill: BackfillTask[];
  afterBackfill: Step[];
  contract: Step[];
  abort: Step[];
  authority: { old: Step[]; new: Step[] };
  touches: string[];
  affectedTables: TableName[];
  /** Columns the migration's catalog objects read (absent in plans stored by older versions). */
  reads?: string[];
  /** Functions that may break, objects that go with a dropped column. */
  warnings?: string[];
}

/** Freeze a plan into JSON. */
export function storePlan(plan: MigrationPlan): StoredPlan {
  return {
    expand: plan.expand,
    backfill: plan.backfill,
    afterBackfill: plan.afterBackfill,
    contract: plan.contract,
    abort: plan.abort,
    authority: { old: plan.authority('old'), new: plan.authority('new') },
    touches: plan.touches,
    affectedTables: plan.affectedTables,
    reads: plan.reads,
    warnings: plan.warnings,
  };
}

/** A row of `<schema>.migrations`. */
export interface MigrationRecord {
  name: string;
  checksum: string;
  phase: Phase;
  flag: string;
  kind: 'schema' | 'code';
  description: string | null;
  touches: string[];
  plan: StoredPlan;
  verification: { outOfSync: number; checkedAt: string } | null;
  actor: string;
  createdAt: Date;
  expandedAt: Date | null;
  switchedAt: Date | null;
  contractedAt: Date | null;
  abortedAt: Date | null;
  updatedAt: Date;
}

function toRecord(r: Record<string, any>): MigrationRecord {
  return {
    name: r.name,
    checksum: r.checksum,
    phase: r.phase,
    flag: r.flag,
    kind: r.kind,
    description: r.description,
    touches: r.touches ?? [],
    plan: r.plan,
    verification: r.verification,
    actor: r.actor,
    createdAt: r.created_at,
    expandedAt: r.expanded_at,
    switchedAt: r.switched_at,
    contractedAt: r.contracted_at,
    abortedAt: r.aborted_at,
    updatedAt: r.updated_at,
  };
}

/** Every migration the database knows, by name. */
export async function listRecords(q: Queryable, schema: string): Promise<MigrationRecord[]> {
  const { rows } = await q.query(`SELECT * FROM ${quoteIdent(schema)}.migrations ORDER BY name`);
  return rows.map(toRecord);
}

/** One migration's row (locked FOR UPDATE when `lock` is set and `q` is in a transaction). */
export async function getRecord(q: Queryable, schema: string, name: string, lock = false): Promise<MigrationRecord | undefined> {
  const { rows } = await q.query(`SELECT * FROM ${quoteIdent(schema)}.migrations WHERE name = $1${lock ? ' FOR UPDATE' : ''}`, [name]);
  return rows[0] ? toRecord(rows[0]) : undefined;
}

/** Insert (or, after an abort, reset) a migration's row at the start of expand. */
export async function startRecord(
  q: Queryable,
  schema: string,
  r: { name: string; checksum: string; flag: string; kind: 'schema' | 'code'; description?: string; plan: StoredPlan; actor: string },
): Promise<void> {
  await q.query(
    `INSERT INTO ${quoteIdent(schema)}.migrations AS m (name, checksum, phase, flag, kind, description, touches, plan, actor)
     VALUES ($1, $2, 'expanding', $3, $4, $5, $6, $7, $8)
     ON CONFLICT (name) DO UPDATE SET checksum = EXCLUDED.checksum, phase = 'expanding', flag = EXCLUDED.flag, kind = EXCLUDED.kind,
       description = EXCLUDED.description, touches = EXCLUDED.touches, plan = EXCLUDED.plan, actor = EXCLUDED.actor,
       verification = NULL, created_at = now(), expanded_at = NULL, switched_at = NULL, contracted_at = NULL, aborted_at = NULL,
       updated_at = now()`,
    [r.name, r.checksum, r.flag, r.kind, r.description ?? null, JSON.stringify(r.plan.touches), JSON.stringify(r.plan), r.actor],
  );
}

const PHASE_TIMESTAMP: Partial<Record<Phase, string>> = {
  expanded: 'expanded_at',
  switched: 'switched_at',
  contracted: 'contracted_at',
  aborted: 'aborted_at',
};

/** Move a migration to `phase`, stamping the phase's time. */
export async function setPhase(
  q: Queryable,
  schema: string,
  name: string,
  phase: Phase,
  extra: { verification?: MigrationRecord['verification'] } = {},
): Promise<void> {
  const stamp = PHASE_TIMESTAMP[phase];
  await q.query(
    `UPDATE ${quoteIdent(schema)}.migrations SET phase = $2, updated_at = now()${stamp ? `, ${stamp} = now()` : ''}
       ${extra.verification !== undefined ? ', verification = $3' : ''}
     WHERE name = $1`,
    extra.verification !== undefined ? [name, phase, JSON.stringify(extra.verification)] : [name, phase],
  );
}

/** Remove every trace of a migration that never finished expanding. */
export async function forgetMigration(q: Queryable, schema: string, name: string): Promise<void> {
  const s = quoteIdent(schema);
  await q.query(`DELETE FROM ${s}.migrations WHERE name = $1`, [name]);
  await q.query(`DELETE FROM ${s}.steps WHERE migration = $1`, [name]);
  await q.query(`DELETE FROM ${s}.backfill_checkpoints WHERE migration = $1`, [name]);
}

/** A line of a migration's timeline. */
export interface MigrationEvent {
  id: number;
  migration: string;
  event: string;
  actor: string;
  at: Date;
  durationMs: number | null;
  details: Record<string, unknown>;
}

/** Append to a migration's timeline. */
export async function addEvent(
  q: Queryable,
  schema: string,
  e: { migration: string; event: string; actor: string; durationMs?: number; details?: Record<string, unknown> },
): Promise<void> {
  await q.query(
    `INSERT INTO ${quoteIdent(schema)}.migration_events (migration, event, actor, duration_ms, details) VALUES ($1, $2, $3, $4, $5)`,
    [e.migration, e.event, e.actor, e.durationMs === undefined ? null : Math.round(e.durationMs), JSON.stringify(e.details ?? {})],
  );
}

/** A migration's timeline, oldest first. */
export async function listEvents(q: Queryable, schema: string, migration: string): Promise<MigrationEvent[]> {
  const { rows } = await q.query(
    `SELECT id, migration, event, actor, at, duration_ms, details FROM ${quoteIdent(schema)}.migration_events WHERE migration = $1 ORDER BY id`,
    [migration],
  );
  return rows.map((r) => ({
    id: Number(r.id),
    migration: r.migration,
    event: r.event,
    actor: r.actor,
    at: r.at,
    durationMs: r.duration_ms,
    details: r.details,
  }));
}
