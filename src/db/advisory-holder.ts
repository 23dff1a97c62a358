import type pg from 'pg';

/**
 * Who holds the session advisory lock taken with `pg_advisory_lock(hashtext(key))`
 * in this database: its application name (without curtain's `curtain: `
 * prefix), backend pid and start, for "another process holds it" messages.
 *
 * @example
 * await advisoryLockHolder(client, 'curtain.migrate') // 'migrate expand (pid 4242 on deploy-1), backend 311, since 2026-12-02T09:00:00.000Z'
 */
export async function advisoryLockHolder(client: pg.ClientBase, key: string): Promise<string> {
  const { rows } = await client.query<{ application_name: string; pid: number; backend_start: Date }>(
    `SELECT a.application_name, a.pid, a.backend_start
       FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
        AND l.classid = ((hashtext($1)::bigint >> 32) & 4294967295)::oid AND l.objid = (hashtext($1)::bigint & 4294967295)::oid
        AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
      LIMIT 1`,
    [key],
  );
  const r = rows[0];
  if (!r) return 'holder unknown';
  const who = r.application_name?.startsWith('curtain: ') ? r.application_name.slice('curtain: '.length) : r.application_name || 'a session';
  return `${who}, backend ${r.pid}, since ${r.backend_start.toISOString()}`;
}
