import type pg from 'pg';

const owned = new WeakSet<pg.Pool>();

/**
 * Make `pool` the owner of every error its connections can raise. pg emits
 * 'error' on a pool for an idle client that loses its server, and on the
 * client itself when it is checked out (by Kysely, the executor, anyone) and
 * the server ends the session: without a listener either one is an
 * "Unhandled 'error' event" that kills the process. The query in flight
 * rejects with the same error, and pg-pool discards a broken client on
 * release, so listening is all that is needed. One listener per physical
 * connection (added on 'connect'), so nothing accumulates per checkout.
 *
 * @example
 * const pool = ownConnectionErrors(new pg.Pool({ connectionString }));
 */
export function ownConnectionErrors<P extends pg.Pool>(pool: P): P {
  if (owned.has(pool)) return pool;
  owned.add(pool);
  pool.on('error', ignore);
  pool.on('connect', (client) => client.on('error', ignore));
  return pool;
}

function ignore(): void {}
