import { quoteIdent } from '../db/identifiers.js';
import type { Queryable } from '../db/queryable.js';
import { qualified, type TableName } from './relations.js';

/** A trigger that was enabled, and how (`O` origin, `R` replica, `A` always). */
export interface DisabledTrigger {
  table: TableName;
  name: string;
  mode: 'O' | 'R' | 'A';
}

/**
 * Disable, inside the current transaction, every enabled user trigger of
 * `tables` (dual-write `curtain_*` triggers, audit triggers, ...). Internal
 * (foreign key) triggers stay on, so referential integrity is still checked.
 *
 * Why not `session_replication_role = replica`: it needs superuser, it also
 * silences foreign key checks (a partial restore could leave orphans), and
 * ENABLE ALWAYS triggers still fire under it. `ALTER TABLE ... DISABLE
 * TRIGGER` needs only table ownership, is transactional (rolled back with a
 * failed restore) and, under the ACCESS EXCLUSIVE lock restore holds, no
 * other session ever sees the triggers disabled.
 */
export async function disableUserTriggers(tx: Queryable, tables: TableName[]): Promise<DisabledTrigger[]> {
  const disabled: DisabledTrigger[] = [];
  for (const t of tables) {
    const { rows } = await tx.query<{ name: string; mode: 'O' | 'R' | 'A' }>(
      `SELECT tgname AS name, tgenabled AS mode FROM pg_trigger
        WHERE tgrelid = $1::regclass AND NOT tgisinternal AND tgenabled <> 'D' ORDER BY tgname`,
      [qualified(t)],
    );
    for (const r of rows) {
      await tx.query(`ALTER TABLE ${qualified(t)} DISABLE TRIGGER ${quoteIdent(r.name)}`);
      disabled.push({ table: t, name: r.name, mode: r.mode });
    }
  }
  return disabled;
}

/** Re-enable triggers exactly as they were before `disableUserTriggers`. */
export async function enableTriggers(tx: Queryable, triggers: DisabledTrigger[]): Promise<void> {
  const how = { O: 'ENABLE', R: 'ENABLE REPLICA', A: 'ENABLE ALWAYS' } as const;
  for (const t of triggers) await tx.query(`ALTER TABLE ${qualified(t.table)} ${how[t.mode]} TRIGGER ${quoteIdent(t.name)}`);
}
