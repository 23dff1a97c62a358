import type pg from 'pg';
import { defaultActor } from '../actor.js';
import { quoteIdent, quoteLiteral } from '../db/identifiers.js';
import { transaction, type Queryable } from '../db/queryable.js';
import { UsageError } from '../errors.js';
import { groupChangeProblem, type GroupMember } from './groups.js';
import { assertFlagKey } from './keys.js';
import { targetingProblem, type Constraint } from './targeting.js';

/** A flag as persisted. */
export interface FlagRow {
  key: string;
  enabled: boolean;
  rollout: number;
  group: string | null;
  description: string | null;
  migration: string | null;
  retired: boolean;
  /** Allowlist: targeting keys that get the flag while it is enabled. */
  subjects: string[];
  /** Conditions on context attributes (ANDed) under which the flag is on. */
  constraints: Constraint[];
  version: number;
  fullyOnSince: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

/** Fields a change may set; absent fields keep their value. */
export interface FlagPatch {
  enabled?: boolean;
  rollout?: number;
  group?: string | null;
  description?: string | null;
  migration?: string | null;
  retired?: boolean;
  /** Replaces the allowlist (`[]` clears it). */
  subjects?: string[];
  /** Replaces the constraints (`[]` clears them). */
  constraints?: Constraint[];
}

/** Who changes a flag and why: written to the audit table. */
export interface ChangeMeta {
  actor?: string;
  reason?: string;
}

/** Longest flag description accepted (characters). */
export const MAX_DESCRIPTION_LENGTH = 1000;
/** Longest audit reason accepted (characters). */
export const MAX_REASON_LENGTH = 500;

/**
 * What is wrong with a description or reason of at most `max` characters,
 * or undefined: the one rule the store and the HTTP API both apply.
 *
 * @example
 * textProblem('x'.repeat(1001), MAX_DESCRIPTION_LENGTH) // 'is 1001 characters long; at most 1000 are accepted'
 */
export function textProblem(value: string, max: number): string | undefined {
  // Characters are code points, as PostgreSQL's char_length counts them (an emoji is one).
  const length = value.length > max ? [...value].length : value.length;
  if (length > max) return `is ${length} characters long; at most ${max} are accepted`;
  // PostgreSQL's text cannot hold NUL: refused here rather than failing in the INSERT.
  if (value.includes('\u0000')) return 'contains a NUL character (\\u0000), which PostgreSQL cannot store';
  return undefined;
}

/**
 * Refuse texts that would bloat every client's memory or the audit table
 * (a UsageError naming the field and the limit; nothing is written).
 */
export function assertChangeLimits(patch: Pick<FlagPatch, 'description'>, meta: ChangeMeta): void {
  const check = (what: string, value: string | null | undefined, max: number) => {
    const problem = typeof value === 'string' ? textProblem(value, max) : undefined;
    if (problem) throw new UsageError(`${what} ${problem}`);
  };
  check('the description', patch.description, MAX_DESCRIPTION_LENGTH);
  check('the reason', meta.reason, MAX_REASON_LENGTH);
}

const COLUMNS = `key, enabled, rollout, group_name, description, migration, retired, subjects, constraints, version, fully_on_since, created_at, updated_at`;

function toRow(r: Record<string, any>): FlagRow {
  return {
    key: r.key,
    enabled: r.enabled,
    rollout: r.rollout,
    group: r.group_name,
    description: r.description,
    migration: r.migration,
    retired: r.retired,
    subjects: r.subjects ?? [],
    constraints: r.constraints ?? [],
    version: Number(r.version),
    fullyOnSince: r.fully_on_since,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/** One flag, or undefined when the key is unknown. */
export async function getFlag(q: Queryable, schema: string, key: string): Promise<FlagRow | undefined> {
  assertFlagKey(key);
  const { rows } = await q.query(`SELECT ${COLUMNS} FROM ${quoteIdent(schema)}.flags WHERE key = $1`, [key]);
  return rows[0] ? toRow(rows[0]) : undefined;
}

/**
 * Every flag, ordered by key. Read as whole rows (`to_jsonb`), so a flags
 * client of a newer curtain still loads a schema that has not been upgraded
 * yet (missing columns take their defaults).
 */
export async function listFlags(q: Queryable, schema: string): Promise<FlagRow[]> {
  const { rows } = await q.query(`SELECT to_jsonb(f) AS f FROM ${quoteIdent(schema)}.flags f ORDER BY key`);
  return rows.map(({ f }) =>
    toRow({ ...f, fully_on_since: f.fully_on_since ? new Date(f.fully_on_since) : null, created_at: new Date(f.created_at), updated_at: new Date(f.updated_at) }),
  );
}

/**
 * Create or change a flag, writing an audit row and bumping its version in the
 * same transaction (its own, unless `q` is already a client in one).
 *
 * @example
 * await setFlag(pool, 'curtain', 'checkout.v2', { enabled: true, rollout: 25 }, { reason: 'canary' });
 */
export async function setFlag(q: Queryable, schema: string, key: string, patch: FlagPatch, meta: ChangeMeta = {}): Promise<FlagRow> {
  assertFlagKey(key);
  if (patch.group !== undefined && patch.group !== null) assertFlagKey(patch.group, 'group name');
  assertChangeLimits(patch, meta);
  if (patch.rollout !== undefined && (!Number.isInteger(patch.rollout) || patch.rollout < 0 || patch.rollout > 100)) {
    throw new UsageError(`rollout must be a whole number from 0 to 100, got ${patch.rollout}`);
  }
  const targetingError = targetingProblem(patch);
  if (targetingError) throw new UsageError(`invalid targeting for "${key}": ${targetingError}`);
  const work = async (tx: Queryable) => {
    const s = quoteIdent(schema);
    const before = (await tx.query(`SELECT ${COLUMNS} FROM ${s}.flags WHERE key = $1 FOR UPDATE`, [key])).rows[0];
    const next = {
      enabled: patch.enabled ?? before?.enabled ?? false,
      rollout: patch.rollout ?? before?.rollout ?? 100,
      group_name: patch.group !== undefined ? patch.group : (before?.group_name ?? null),
      description: patch.description !== undefined ? patch.description : (before?.description ?? null),
      migration: patch.migration !== undefined ? patch.migration : (before?.migration ?? null),
      retired: patch.retired ?? before?.retired ?? false,
      subjects: patch.subjects !== undefined ? [...new Set(patch.subjects)] : ((before?.subjects as string[] | undefined) ?? []),
      constraints: patch.constraints ?? ((before?.constraints as Constraint[] | undefined) ?? []),
    };
    if (next.group_name && (next.subjects.length > 0 || next.constraints.length > 0)) {
      // An allowlisted subject could get two flags of the group: the group's one promise.
      throw new UsageError(
        `flag "${key}" is in exclusion group "${next.group_name}", which cannot be combined with targeting (--for/--where)`,
        'leave the group (--no-group) or clear the targeting (--clear-targeting)',
      );
    }
    if (before?.group_name || next.group_name) await checkGroups(tx, schema, key, before, next);
    const fullyOn = next.retired || (next.enabled && next.rollout === 100);
    const { rows } = await tx.query(
      `INSERT INTO ${s}.flags AS f (key, enabled, rollout, group_name, description, migration, retired, fully_on_since, subjects, constraints)
       VALUES ($1, $2, $3, $4, $5, $6, $7, CASE WHEN $8::boolean THEN now() END, $9::text[], $10::jsonb)
       ON CONFLICT (key) DO UPDATE SET
         enabled = EXCLUDED.enabled, rollout = EXCLUDED.rollout, group_name = EXCLUDED.group_name,
         description = EXCLUDED.description, migration = EXCLUDED.migration, retired = EXCLUDED.retired,
         subjects = EXCLUDED.subjects, constraints = EXCLUDED.constraints,
         fully_on_since = CASE WHEN $8::boolean THEN COALESCE(f.fully_on_since, now()) END,
         version = nextval(${versionSeq(schema)}),
         updated_at = now()
       RETURNING ${COLUMNS}`,
      [key, next.enabled, next.rollout, next.group_name, next.description, next.migration, next.retired, fullyOn, next.subjects, JSON.stringify(next.constraints)],
    );
    const after = rows[0];
    await tx.query(
      `INSERT INTO ${s}.flag_events (key, actor, action, before, after, reason) VALUES ($1, $2, $3, $4, $5, $6)`,
      [key, meta.actor ?? defaultActor(), before ? 'update' : 'create', before ? audit(before) : null, audit(after), meta.reason ?? null],
    );
    return toRow(after);
  };
  return isPool(q) ? transaction(q, work) : work(q);
}

/** Delete a flag (retirement of a contracted migration's flag), with an audit row and a tombstone. */
export async function deleteFlag(q: Queryable, schema: string, key: string, meta: ChangeMeta = {}): Promise<boolean> {
  assertFlagKey(key);
  assertChangeLimits({}, meta);
  const work = async (tx: Queryable) => {
    const s = quoteIdent(schema);
    const { rows } = await tx.query(`DELETE FROM ${s}.flags WHERE key = $1 RETURNING ${COLUMNS}`, [key]);
    if (!rows[0]) return false;
    await tx.query(
      `INSERT INTO ${s}.flag_tombstones (key, version) VALUES ($1, nextval(${versionSeq(schema)}))
       ON CONFLICT (key) DO UPDATE SET version = EXCLUDED.version, at = now()`,
      [key],
    );
    await tx.query(`INSERT INTO ${s}.flag_events (key, actor, action, before, after, reason) VALUES ($1, $2, 'delete', $3, NULL, $4)`, [
      key,
      meta.actor ?? defaultActor(),
      audit(rows[0]),
      meta.reason ?? null,
    ]);
    return true;
  };
  return isPool(q) ? transaction(q, work) : work(q);
}

/** One audit row of a flag. */
export interface FlagEvent {
  id: number;
  key: string;
  actor: string;
  at: Date;
  action: 'create' | 'update' | 'delete' | string;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  reason: string | null;
}

/**
 * The audit trail of a flag, newest first.
 *
 * @example
 * const events = await flagHistory(pool, 'curtain', 'checkout.v2', { limit: 20 });
 */
export async function flagHistory(q: Queryable, schema: string, key: string, options: { limit?: number } = {}): Promise<FlagEvent[]> {
  assertFlagKey(key);
  const { rows } = await q.query(
    `SELECT id, key, actor, at, action, before, after, reason FROM ${quoteIdent(schema)}.flag_events WHERE key = $1 ORDER BY id DESC LIMIT $2`,
    [key, options.limit ?? 100],
  );
  return rows.map((r) => ({ ...r, id: Number(r.id) }) as FlagEvent);
}

/**
 * The highest version of any flag or deletion: changes whenever anything does,
 * so pollers compare one number.
 *
 * @example
 * const v = await flagsVersion(pool, 'curtain');
 */
export async function flagsVersion(q: Queryable, schema: string): Promise<number> {
  const s = quoteIdent(schema);
  const { rows } = await q.query(
    `SELECT GREATEST((SELECT max(version) FROM ${s}.flags), (SELECT max(version) FROM ${s}.flag_tombstones), 0) AS v`,
  );
  return Number(rows[0]?.v ?? 0);
}

// Exclusion groups: refuse a change that would overflow a group or move other
// members' subjects (see groups.ts). Serialised per group by an advisory lock.
async function checkGroups(tx: Queryable, schema: string, key: string, before: Record<string, any> | undefined, next: { rollout: number; group_name: string | null }) {
  const groups = [...new Set([before?.group_name, next.group_name].filter((g): g is string => typeof g === 'string'))].sort();
  for (const g of groups) await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`curtain.flag-group:${schema}:${g}`]);
  const { rows } = await tx.query(
    `SELECT key, rollout, group_name, created_at FROM ${quoteIdent(schema)}.flags WHERE group_name = ANY($1::text[])`,
    [groups],
  );
  const was: GroupMember[] = rows.map((r) => ({ key: r.key, rollout: r.rollout, group: r.group_name, createdAt: r.created_at }));
  const now = before?.created_at ?? (await tx.query('SELECT now() AS n')).rows[0]?.n;
  const changed: GroupMember = { key, rollout: next.rollout, group: next.group_name, createdAt: now };
  const after = [...was.filter((m) => m.key !== key), changed];
  const problem = groupChangeProblem(was, after, key) ?? (before?.group_name && before.group_name !== next.group_name ? groupChangeProblem(was, after.map((m) => (m.key === key ? { ...m, group: before.group_name, rollout: 0 } : m)), key) : undefined);
  if (problem) throw new UsageError(problem);
}

/** The global version sequence, as a regclass literal. */
export function versionSeq(schema: string): string {
  return `${quoteLiteral(`${quoteIdent(schema)}.flag_version_seq`)}::regclass`;
}

/** What the audit table keeps of a flag row: its state, without timestamps. */
function audit(r: Record<string, any>) {
  const { key: _key, fullyOnSince: _since, createdAt: _created, updatedAt: _updated, ...state } = toRow(r);
  return state;
}

function isPool(q: Queryable): q is pg.Pool {
  return typeof (q as pg.Pool).connect === 'function' && 'totalCount' in (q as object);
}
