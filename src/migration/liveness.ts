import type pg from 'pg';
import { GuardRefusal } from '../errors.js';
import { liveClients } from '../flags/usage.js';

/** What makes a database look live: other sessions on it, or flags clients reporting. */
export interface Liveness {
  /** Other client sessions on this database (curtain's own excluded). */
  connections: { pid: number; application: string; user: string; address: string | null }[];
  /** Flags clients that reported recently. */
  clients: { appName: string; host: string; pid: number }[];
}

/**
 * Who else uses this database right now. curtain's own sessions (the pool's
 * `curtain` and every `curtain: ...` session, e.g. the migrate lock) do not count.
 *
 * @example
 * const live = await liveness(pool, 'curtain');
 * if (live.connections.length > 0) console.log('someone is connected');
 */
export async function liveness(pool: pg.Pool, schema: string): Promise<Liveness> {
  const { rows } = await pool.query<{ pid: number; application: string; user: string; address: string | null }>(
    `SELECT pid, coalesce(nullif(application_name, ''), '(no application_name)') AS application, usename AS "user", client_addr::text AS address
       FROM pg_stat_activity
      WHERE datname = current_database() AND backend_type = 'client backend' AND pid <> pg_backend_pid()
        AND application_name <> 'curtain' AND application_name NOT LIKE 'curtain:%'
      ORDER BY pid`,
  );
  const clients = (await liveClients(pool, schema)).map((c) => ({ appName: c.appName, host: c.host, pid: c.pid }));
  return { connections: rows, clients };
}

/**
 * Refuse (exit 3, guard `no-live-traffic`) when the database looks live:
 * `migrate up` skips the guards that protect live traffic, so it is for
 * databases nobody else uses (development, CI, tests).
 *
 * @example
 * await assertNotLive(pool, 'curtain'); // throws GuardRefusal when another client is connected
 */
export async function assertNotLive(pool: pg.Pool, schema: string): Promise<void> {
  const live = await liveness(pool, schema);
  const reasons = [
    ...live.connections.map((c) => `session ${c.pid} (${c.application}, user ${c.user}${c.address ? ` from ${c.address}` : ''}) is connected`),
    ...live.clients.map((c) => `flags client ${c.appName} on ${c.host} (pid ${c.pid}) reported recently`),
  ];
  if (reasons.length === 0) return;
  throw new GuardRefusal(
    'no-live-traffic',
    `this database looks live, and "migrate up" skips the guards that protect live traffic:\n  ${reasons.slice(0, 20).join('\n  ')}`,
    'use expand, switch and contract for a live database; add --yes if these sessions are yours, or set disposable: true in the configuration of a throwaway environment',
  );
}
