import type pg from 'pg';

/** Anything raw SQL can run on: a pool, or a client inside a transaction. */
export type Queryable = Pick<pg.Pool, 'query'> | pg.ClientBase;

export { transaction } from './transaction.js';
