/**
 * The backfill must not fire the table's own triggers: an `updated_at`
 * trigger would stamp every existing row, an audit trigger would log one row
 * per backfilled row. Backfill batches run with `session_replication_role =
 * replica` (that session only) when the role may set it; triggers that fire
 * even then (`ENABLE ALWAYS`, `ENABLE REPLICA`), or every UPDATE trigger when
 * the role may not, make expand refuse up front unless the user opted in.
 */
import { GuardRefusal } from '../errors.js';
import { quoteQualified } from '../db/identifiers.js';
import type { Queryable } from '../db/queryable.js';
import type { TableName } from '../ops/operation.js';

/** A user trigger that an UPDATE of the table (or one of its partitions) fires. */
export interface UserTrigger {
  /** `schema.table` it is defined on. */
  table: string;
  name: string;
  /** `origin`: the default (skipped in replica mode); `always`/`replica`: fires in replica mode. */
  enabled: 'origin' | 'always' | 'replica';
  /** `BEFORE UPDATE`, `AFTER UPDATE OR INSERT`, ... */
  timing: string;
}

/**
 * Whether the current role may `SET session_replication_role`: a superuser,
 * or (PostgreSQL 15+) a role granted `SET ON PARAMETER session_replication_role`.
 *
 * @example
 * if (await canSkipUserTriggers(pool)) await client.query(`SET LOCAL session_replication_role = replica`);
 */
export async function canSkipUserTriggers(q: Queryable): Promise<boolean> {
  const { rows } = await q.query<{ superuser: boolean; version: number }>(
    `SELECT rolsuper AS superuser, current_setting('server_version_num')::int AS version FROM pg_roles WHERE rolname = current_user`,
  );
  const r = rows[0];
  if (!r) return false;
  if (r.superuser) return true;
  if (r.version < 150000) return false;
  const granted = await q.query<{ ok: boolean }>(`SELECT has_parameter_privilege(current_user, 'session_replication_role', 'SET') AS ok`);
  return granted.rows[0]?.ok === true;
}

/**
 * The enabled user triggers an UPDATE of `columns` on each table would fire,
 * partitions included: row and statement triggers on UPDATE whose column list
 * (if any) meets `columns`. Internal triggers (foreign keys) and curtain's own
 * are not user triggers.
 *
 * @example
 * await listUserTriggers(pool, [{ table: { schema: 'public', name: 'customer' }, columns: ['email_new'] }]);
 * // [{ table: 'public.customer', name: 'last_updated', enabled: 'origin', timing: 'BEFORE UPDATE' }]
 */
export async function listUserTriggers(q: Queryable, targets: { table: TableName; columns: string[] }[]): Promise<UserTrigger[]> {
  const out: UserTrigger[] = [];
  for (const t of targets) {
    const { rows } = await q.query<UserTrigger>(
      `WITH tree AS (
         -- pg_partition_tree lists nothing for a table that is not partitioned.
         SELECT $1::regclass AS relid UNION SELECT relid FROM pg_partition_tree($1::regclass)
       )
       SELECT n.nspname || '.' || c.relname AS table, tg.tgname AS name,
              CASE tg.tgenabled WHEN 'A' THEN 'always' WHEN 'R' THEN 'replica' ELSE 'origin' END AS enabled,
              CASE WHEN tg.tgtype & 2 <> 0 THEN 'BEFORE' WHEN tg.tgtype & 64 <> 0 THEN 'INSTEAD OF' ELSE 'AFTER' END || ' ' ||
              array_to_string(ARRAY[CASE WHEN tg.tgtype & 4 <> 0 THEN 'INSERT' END, 'UPDATE',
                                    CASE WHEN tg.tgtype & 8 <> 0 THEN 'DELETE' END], ' OR ') AS timing
         FROM tree JOIN pg_trigger tg ON tg.tgrelid = tree.relid
         JOIN pg_class c ON c.oid = tg.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE NOT tg.tgisinternal AND tg.tgenabled <> 'D' AND tg.tgtype & 16 <> 0
          AND tg.tgname NOT LIKE '\\_curtain%'
          -- A trigger cloned from a parent in the tree is reported once, on that parent.
          AND NOT EXISTS (SELECT 1 FROM pg_trigger p JOIN tree pp ON pp.relid = p.tgrelid
                           WHERE p.oid = tg.tgparentid)
          AND (cardinality(tg.tgattr::int2[]) = 0 OR EXISTS (
                SELECT 1 FROM pg_attribute a WHERE a.attrelid = tg.tgrelid AND a.attnum = ANY (tg.tgattr::int2[])
                   AND a.attname = ANY ($2::text[])))
        ORDER BY 1, 2`,
      [quoteQualified(t.table.schema, t.table.name), t.columns],
    );
    out.push(...rows);
  }
  return out;
}

export interface UserTriggerCheckOptions {
  /** The user accepted that their triggers fire for every backfilled row (`--fire-user-triggers`, `backfill.fireUserTriggers`). */
  fireUserTriggers?: boolean;
  /** Named in the refusal. */
  migration?: string;
}

/**
 * Refuse, before anything runs, a backfill that would fire user triggers:
 * names the triggers and what fixes it (the GRANT, or the explicit opt-in).
 * Returns the triggers that will fire (empty unless the user opted in).
 *
 * @example
 * await assertBackfillSkipsUserTriggers(pool, plan.backfill.map((b) => ({ table: b.table, columns: Object.keys(b.set) })), {
 *   fireUserTriggers: config.backfill.fireUserTriggers,
 * });
 */
export async function assertBackfillSkipsUserTriggers(
  q: Queryable,
  targets: { table: TableName; columns: string[] }[],
  options: UserTriggerCheckOptions = {},
): Promise<UserTrigger[]> {
  if (targets.length === 0) return [];
  const triggers = await listUserTriggers(q, targets);
  if (triggers.length === 0) return [];
  const canSkip = await canSkipUserTriggers(q);
  // In replica mode, `origin` triggers are skipped and `always`/`replica` ones fire.
  const firing = canSkip ? triggers.filter((t) => t.enabled !== 'origin') : triggers;
  if (firing.length === 0 || options.fireUserTriggers) return firing;
  const names = firing.map((t) => `${t.name} (${t.timing} on ${t.table}${t.enabled === 'origin' ? '' : `, ENABLE ${t.enabled.toUpperCase()}`})`).join(', ');
  const who = options.migration ? `the backfill of ${options.migration}` : 'the backfill';
  if (canSkip) {
    throw new GuardRefusal(
      'user-triggers',
      `${who} would fire user triggers that run even in replica mode: ${names}`,
      `they would fire for every backfilled row. Opt in with --fire-user-triggers (or backfill.fireUserTriggers: true) if that is acceptable`,
    );
  }
  const role = (await q.query<{ role: string; version: number }>(`SELECT current_user AS role, current_setting('server_version_num')::int AS version`)).rows[0]!;
  const grant =
    role.version >= 150000
      ? `as a superuser: GRANT SET ON PARAMETER session_replication_role TO ${quoteQualified(role.role)}; then the backfill skips them in its own session`
      : `run expand as a superuser (PostgreSQL ${Math.floor(role.version / 10000)} has no grant for session_replication_role)`;
  throw new GuardRefusal(
    'user-triggers',
    `${who} would fire user triggers for every existing row, and role ${role.role} may not set session_replication_role to skip them: ${names}`,
    `${grant}. Or accept that user triggers will fire for every backfilled row: --fire-user-triggers (or backfill.fireUserTriggers: true)`,
  );
}
