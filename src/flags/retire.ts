/**
 * Retiring a flag deletes it, once nothing can depend on it: its migration
 * (if any) is contracted or aborted, and no source file mentions its key.
 */
import type pg from 'pg';
import { quoteIdent } from '../db/identifiers.js';
import { transaction } from '../db/queryable.js';
import { CurtainError, GuardRefusal } from '../errors.js';
import { groupChangeProblem, type GroupMember } from './groups.js';
import { deleteFlag, type ChangeMeta } from './store.js';
import { assertFlagKey } from './keys.js';
import { isInFlight, phaseOf, type StoredPhase } from '../migration/machine.js';
import { findFlagReferences, type FlagReference } from './references.js';


/** Options of {@link retireFlag}. */
export interface RetireOptions extends ChangeMeta {
  /** Scan these globs under `root` for references first (skipped when absent). */
  sources?: { root: string; globs: readonly string[] };
}

/** What retiring found and did. */
export interface RetireResult {
  key: string;
  retired: boolean;
  migrations: { name: string; phase: string }[];
  references: FlagReference[];
}

/**
 * Delete a flag, with an audit row and a tombstone, refusing (exit 3) while
 * a migration using it is not contracted/aborted, or while source files
 * mention it. A flag with no migration is an application flag: only the
 * reference check applies.
 *
 * @example
 * await retireFlag(pool, 'curtain', 'users.split-name', { reason: 'contracted', sources: { root, globs } });
 */
export async function retireFlag(pool: pg.Pool, schema: string, key: string, options: RetireOptions = {}): Promise<RetireResult> {
  assertFlagKey(key);
  const references = options.sources ? await findFlagReferences(options.sources.root, options.sources.globs, key) : [];
  return transaction(pool, async (tx) => {
    const s = quoteIdent(schema);
    const flag = (await tx.query(`SELECT key, migration, group_name FROM ${s}.flags WHERE key = $1 FOR UPDATE`, [key])).rows[0];
    if (!flag) throw new CurtainError(`flag "${key}" does not exist`, { hint: 'list flags with `migrate flags list`' });
    if (flag.group_name) await checkGroupRemoval(tx, schema, key, flag.group_name);
    const { rows } = await tx.query(`SELECT name, phase FROM ${s}.migrations WHERE flag = $1 OR name = $2 ORDER BY name`, [
      key,
      flag.migration ?? null,
    ]);
    const migrations = rows.map((r) => ({ name: String(r.name), phase: String(r.phase) }));
    const pending = migrations.filter((m) => isInFlight(phaseOf(m.phase as StoredPhase)));
    if (pending.length > 0) {
      const list = pending.map((m) => `"${m.name}" (${m.phase})`).join(', ');
      throw new GuardRefusal('flag-migration', `flag "${key}" is still used by migration ${list}`, 'contract (or abort) the migration first');
    }
    if (references.length > 0) {
      const shown = references.slice(0, 20).map((r) => `  ${r.file}:${r.line}`).join('\n');
      const more = references.length > 20 ? `\n  ... and ${references.length - 20} more` : '';
      throw Object.assign(
        new GuardRefusal('flag-references', `flag "${key}" is still referenced in source:\n${shown}${more}`, 'remove the code paths that read it, then retire'),
        { references },
      );
    }
    const retired = await deleteFlag(tx, schema, key, options);
    return { key, retired, migrations, references };
  });
}

// Removing a group member is laying it out with 0% (an empty slice occupies
// no buckets): refused when that would move later members' subjects.
async function checkGroupRemoval(tx: pg.PoolClient, schema: string, key: string, group: string): Promise<void> {
  await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`curtain.flag-group:${schema}:${group}`]);
  const { rows } = await tx.query(`SELECT key, rollout, group_name, created_at FROM ${quoteIdent(schema)}.flags WHERE group_name = $1`, [group]);
  const was: GroupMember[] = rows.map((r) => ({ key: r.key, rollout: r.rollout, group: r.group_name, createdAt: r.created_at }));
  const problem = groupChangeProblem(was, was.map((m) => (m.key === key ? { ...m, rollout: 0 } : m)), key);
  if (problem) throw new GuardRefusal('flag-group', problem.replace(/^changing/, 'retiring'), 'set the later members of the group to 0% first, or retire them first');
}
