import pg from 'pg';
import { quoteIdent } from '../db/identifiers.js';
import { CurtainError } from '../errors.js';

/** A session connected to a database, as listed by pg_stat_activity. */
export interface Session {
  pid: number;
  application: string;
  user: string;
}

/**
 * Close the pool's idle connections: CREATE DATABASE ... TEMPLATE and
 * ALTER DATABASE ... RENAME need the database to have no sessions at all, and
 * ours count. Connections checked out by the caller cannot be closed here;
 * they show up as other sessions and the clone is refused.
 */
export async function closeIdleConnections(pool: pg.Pool): Promise<void> {
  const idle = pool.idleCount;
  const clients: pg.PoolClient[] = [];
  // With idle clients available, connect() hands those out before opening new ones.
  for (let i = 0; i < idle; i++) clients.push(await pool.connect());
  for (const c of clients) c.release(true);
}

/**
 * Open a connection to the maintenance database (`postgres`, else
 * `template1`) of the server `url` points at, run `fn`, close it.
 */
export async function withMaintenance<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  let lastError: unknown;
  for (const dbname of ['postgres', 'template1']) {
    const u = new URL(url);
    u.pathname = `/${dbname}`;
    const client = new pg.Client({ connectionString: u.toString(), application_name: 'curtain: snapshot (maintenance)' });
    // A session ended by the server rejects the query in flight; the 'error' event must not also crash the process.
    client.on('error', () => {});
    try {
      await client.connect();
    } catch (err) {
      lastError = err;
      await client.end().catch(() => {});
      continue;
    }
    try {
      return await fn(client);
    } finally {
      await client.end().catch(() => {});
    }
  }
  throw new CurtainError(`cannot connect to the maintenance database (postgres or template1): ${(lastError as Error)?.message}`, {
    cause: lastError,
  });
}

/** The database a connection string names. */
export function databaseOf(url: string): string {
  return decodeURIComponent(new URL(url).pathname.replace(/^\//, '')) || 'postgres';
}

/** Other client sessions on `database`, waiting up to `graceMs` for just-closed ones to go away. */
export async function sessionsOn(client: pg.Client, database: string, graceMs = 2000): Promise<Session[]> {
  const deadline = Date.now() + graceMs;
  for (;;) {
    const { rows } = await client.query<Session>(
      `SELECT pid, coalesce(nullif(application_name, ''), '(no application_name)') AS application, usename AS user
         FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid() AND backend_type = 'client backend'
        ORDER BY pid`,
      [database],
    );
    if (rows.length === 0 || Date.now() >= deadline) return rows;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Refuse, naming who is connected, unless `database` has no other sessions. */
export async function requireAlone(client: pg.Client, database: string, action: string): Promise<void> {
  const sessions = await sessionsOn(client, database);
  if (sessions.length === 0) return;
  const apps = [...new Set(sessions.map((s) => s.application))];
  throw new CurtainError(
    `cannot ${action}: ${sessions.length} other session(s) are connected to database ${quoteIdent(database)} (${apps.join(', ')})`,
    { hint: 'the clone strategy needs the database to itself (development and embedded databases); stop those clients, or use --strategy tables' },
  );
}
