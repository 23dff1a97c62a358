import type pg from 'pg';

/** Anything raw SQL can run on: a pool, or a client inside a transaction. */
export type Queryable = Pick<pg.Pool, 'query'> | pg.ClientBase;

/**
 * The server pid of a connection (pg sets it at connect; its typings omit it):
 * what `pg_blocking_pids` and `pg_stat_activity` know the session by.
 *
 * @example
 * const pid = processId(client); // 4242
 */
export function processId(client: pg.ClientBase): number | undefined {
  return (client as pg.ClientBase & { processID?: number }).processID;
}

export { transaction } from './transaction.js';
