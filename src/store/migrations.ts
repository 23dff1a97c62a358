import { quoteIdent } from '../db/identifiers.js';
import type { Queryable } from '../db/queryable.js';
import type { StoredPhase } from '../migration/machine.js';
import type { Program } from '../migration/program.js';

/**
 * Every statement on curtain's tables about migrations: their rows, their
 * timelines and the steps the executor finished.
 */

/** A row of `<schema>.migrations`. */
export interface MigrationRecord {
  name: string;
  checksum: string;
  phase: StoredPhase;
  flag: string;
  kind: 'schema' | 'code';
  description: string | null;
  touches: string[];
  /** The program persisted at expand (a version-1 plan on rows written by older releases). */
  plan: Program;
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
  r: { name: string; checksum: string; flag: string; kind: 'schema' | 'code'; description?: string; plan: Program; actor: string },
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

const PHASE_TIMESTAMP: Partial<Record<StoredPhase, string>> = {
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
  phase: StoredPhase,
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
export async function listEvents(q: Queryable, schema: string, migration?: string): Promise<MigrationEvent[]> {
  const { rows } = await q.query(
    `SELECT id, migration, event, actor, at, duration_ms, details FROM ${quoteIdent(schema)}.migration_events
      ${migration === undefined ? '' : 'WHERE migration = $1'} ORDER BY migration, id`,
    migration === undefined ? [] : [migration],
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

/**
 * Each migration's newest event: who last acted on it, and when (the
 * record's own actor is who recorded it, at its first expand).
 *
 * @example
 * const last = await lastEvents(pool, 'curtain');
 * last.get('20260101000100_split_user_name')?.actor; // 'ops-alice'
 */
export async function lastEvents(q: Queryable, schema: string): Promise<Map<string, Pick<MigrationEvent, 'event' | 'actor' | 'at'>>> {
  const { rows } = await q.query(
    `SELECT DISTINCT ON (migration) migration, event, actor, at FROM ${quoteIdent(schema)}.migration_events ORDER BY migration, id DESC`,
  );
  return new Map(rows.map((r) => [r.migration as string, { event: r.event, actor: r.actor, at: r.at }]));
}

/** The step indexes of a phase the executor has finished. */
export async function finishedSteps(q: Queryable, schema: string, migration: string, phase: string): Promise<Set<number>> {
  const { rows } = await q.query<{ idx: number }>(`SELECT idx FROM ${quoteIdent(schema)}.steps WHERE migration = $1 AND phase = $2`, [migration, phase]);
  return new Set(rows.map((r) => r.idx));
}

/** Record a finished step (in the transaction that did its work, so it is never rerun after a crash). */
export async function recordStep(
  q: Queryable,
  schema: string,
  s: { migration: string; phase: string; index: number; description: string; sql: string; lock: string; attempts: number; startedAt: Date; durationMs: number },
): Promise<void> {
  await q.query(
    `INSERT INTO ${quoteIdent(schema)}.steps (migration, phase, idx, description, sql, lock, attempts, started_at, duration_ms)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
     ON CONFLICT (migration, phase, idx) DO UPDATE SET attempts = EXCLUDED.attempts, finished_at = now(), duration_ms = EXCLUDED.duration_ms`,
    [s.migration, s.phase, s.index, s.description, s.sql, s.lock, s.attempts, s.startedAt, Math.round(s.durationMs)],
  );
}

/** A finished step as recorded: the executor's log, in the order steps ran. */
export interface StepLogEntry {
  phase: string;
  index: number;
  description: string;
  sql: string;
  lock: string;
  attempts: number;
  durationMs: number;
  startedAt: Date;
  finishedAt: Date;
}

/**
 * The steps recorded for a migration, in the order they ran.
 *
 * @example
 * (await stepLog(pool, 'curtain', name)).filter((s) => s.phase === 'contract')
 */
export async function stepLog(q: Queryable, schema: string, migration: string): Promise<StepLogEntry[]> {
  const { rows } = await q.query(
    `SELECT phase, idx, description, sql, lock, attempts, duration_ms, started_at, finished_at FROM ${quoteIdent(schema)}.steps
      WHERE migration = $1 ORDER BY started_at, idx`,
    [migration],
  );
  return rows.map((r) => ({
    phase: r.phase,
    index: r.idx,
    description: r.description,
    sql: r.sql,
    lock: r.lock,
    attempts: r.attempts,
    durationMs: r.duration_ms,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
  }));
}

/** Forget the recorded steps of some phases, so they run again from the start. */
export async function clearSteps(q: Queryable, schema: string, migration: string, phases: string[]): Promise<void> {
  await q.query(`DELETE FROM ${quoteIdent(schema)}.steps WHERE migration = $1 AND phase = ANY($2)`, [migration, phases]);
}

/** The latest event of a kind in a migration's timeline. */
export async function lastEvent(q: Queryable, schema: string, migration: string, event: string): Promise<MigrationEvent | undefined> {
  return (await listEvents(q, schema, migration)).filter((e) => e.event === event).pop();
}
