/**
 * Changing a flag with targeting given as text (`--for`, `--where`), the way
 * `migrate flags set` and `migrate switch` take it, with one rule on top of
 * {@link setFlag}: targeting never widens exposure by itself.
 */
import type pg from 'pg';
import { transaction, type Queryable } from '../db/queryable.js';
import { quoteIdent } from '../db/identifiers.js';
import { UsageError } from '../errors.js';
import { assertFlagKey } from './keys.js';
import { setFlag, type ChangeMeta, type FlagPatch, type FlagRow } from './store.js';
import { parseTargeting } from './targeting-syntax.js';

/** What {@link targetFlag} changes: a {@link FlagPatch} plus targeting as text. */
export interface TargetFlagInput extends Omit<FlagPatch, 'subjects' | 'constraints'> {
  /** `--for` values: comma-separated subject keys; replaces the allowlist. */
  for?: readonly string[];
  /** `--where` conditions (ANDed); replaces the constraints. */
  where?: readonly string[];
  /** Remove the allowlist and the constraints. */
  clearTargeting?: boolean;
}

/**
 * Create or change a flag, targeting included, audited and announced like any
 * change (one transaction: its own, or the caller's when `q` is a client in
 * one). The text is parsed before anything is read or written, so bad input
 * changes nothing (exit 2, with the column).
 *
 * The rule: when `for`/`where` is given without `rollout`, and the flag is
 * not on yet (new, or disabled), its percentage becomes 0 — on for the
 * targeted only. On a flag that is already on, the percentage is kept.
 *
 * This is what `migrate switch <name> --for ... --where ... [--percent N]`
 * calls: `targetFlag(tx, schema, flag, { enabled: true, rollout: percent, for, where }, { actor, reason })`.
 *
 * @example
 * await targetFlag(pool, 'curtain', 'checkout.v2', { enabled: true, for: ['user:42,user:7'], where: ['tenant in (acme, initech)'] }, { reason: 'dogfood' });
 * // on for user:42, user:7 and tenants acme/initech; 0 % of everyone else
 */
export async function targetFlag(q: Queryable, schema: string, key: string, input: TargetFlagInput, meta: ChangeMeta = {}): Promise<FlagRow> {
  assertFlagKey(key);
  const { for: forList, where, clearTargeting, ...rest } = input;
  const parsed = parseTargeting({ for: forList, where });
  const targeting = parsed.subjects !== undefined || parsed.constraints !== undefined;
  if (clearTargeting && targeting) throw new UsageError('--clear-targeting cannot be combined with --for or --where');
  const patch: FlagPatch = { ...rest, ...parsed };
  if (clearTargeting) Object.assign(patch, { subjects: [], constraints: [] });
  const work = async (tx: Queryable) => {
    if (targeting && patch.rollout === undefined) {
      const { rows } = await tx.query(`SELECT enabled, retired FROM ${quoteIdent(schema)}.flags WHERE key = $1 FOR UPDATE`, [key]);
      const on = rows[0] !== undefined && (rows[0].enabled || rows[0].retired);
      if (!on) patch.rollout = 0;
    }
    return setFlag(tx, schema, key, patch, meta);
  };
  return isPool(q) ? transaction(q, work) : work(q);
}

function isPool(q: Queryable): q is pg.Pool {
  return typeof (q as pg.Pool).connect === 'function' && 'totalCount' in (q as object);
}
