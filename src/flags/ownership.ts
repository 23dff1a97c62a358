/**
 * A migration's flag is owned by its lifecycle. While the migration is in
 * flight (expanding, expanded, switched, contracting, aborting) its flag
 * moves only through `migrate switch`, which takes the snapshot and flips the
 * dual-write authority in the same transaction; once contracted the flag is
 * locked on until it is retired. Hand-made writes (`migrate flags set`, the
 * OFREP admin PUT, `flags.set()`) are refused then, with the command to use.
 */
import type pg from 'pg';
import { quoteIdent } from '../db/identifiers.js';
import type { Queryable } from '../db/queryable.js';
import { transaction } from '../db/transaction.js';
import { GuardRefusal } from '../errors.js';
import { describe, isInFlight, outcome, phaseOf, runs, TERMINAL, type StoredPhase } from '../migration/machine.js';
import { setFlag, type ChangeMeta, type FlagPatch, type FlagRow } from './store.js';


/**
 * Refuse (GuardRefusal, exit 3) a hand-made change of `key` while a migration
 * owns it. A description-only change is always allowed. Run it in the
 * transaction that writes the flag: the owning migration's row is
 * share-locked, so its phase cannot move underneath.
 *
 * @example
 * await assertFlagWritable(tx, 'curtain', 'users.split-name', { enabled: true });
 */
export async function assertFlagWritable(q: Queryable, schema: string, key: string, patch: FlagPatch): Promise<void> {
  const changes = Object.entries(patch).filter(([k, v]) => v !== undefined && k !== 'description');
  if (changes.length === 0) return;
  const s = quoteIdent(schema);
  const { rows } = await q.query<{ name: string; phase: string }>(
    `SELECT m.name, m.phase FROM ${s}.migrations m
      WHERE m.flag = $1 OR m.name = (SELECT f.migration FROM ${s}.flags f WHERE f.key = $1)
      ORDER BY m.created_at DESC FOR SHARE OF m`,
    [key],
  );
  // While a migration is in flight only its lifecycle moves the flag; at the end of the lifecycle it is locked on.
  const phased = rows.map((r) => ({ name: r.name, phase: phaseOf(r.phase as StoredPhase) }));
  const owner = phased.find((r) => isInFlight(r.phase)) ?? phased.find((r) => TERMINAL.includes(r.phase));
  if (!owner) return;
  const { name, phase } = owner;
  if (TERMINAL.includes(phase)) {
    throw new GuardRefusal('flag-owned', `flag ${key} is locked on since migration ${name} was contracted`, `remove the code that reads it, then "migrate flags retire ${key}"`);
  }
  if (runs('switch', phase)) {
    throw new GuardRefusal(
      'flag-owned',
      `flag ${key} belongs to migration ${name}, which is ${phase}: its flag moves only through switch`,
      `use "migrate switch ${name}" (--percent <n> for a partial rollout, --off to turn it back off)`,
    );
  }
  // Switch cannot run now either (an interrupted command): the machine says which command does.
  const o = outcome('switch', phase);
  throw new GuardRefusal('flag-owned', `flag ${key} belongs to migration ${name}, which is ${phase}`, o.action === 'refuse' ? describe(o.hint, { name, flag: key }) : undefined);
}

/**
 * A hand-made flag change (CLI, OFREP admin, `flags.set()`): the ownership
 * check and the write in one transaction.
 *
 * @example
 * await changeFlag(pool, 'curtain', 'checkout.v2', { enabled: true, rollout: 25 }, { actor: 'ops', reason: 'canary' });
 */
export async function changeFlag(pool: pg.Pool, schema: string, key: string, patch: FlagPatch, meta: ChangeMeta = {}): Promise<FlagRow> {
  return transaction(pool, async (tx) => {
    await assertFlagWritable(tx, schema, key, patch);
    return setFlag(tx, schema, key, patch, meta);
  });
}
