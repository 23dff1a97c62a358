import type pg from 'pg';

/** Anything raw SQL can run on: a pool, or a client inside a transaction. */
export type Queryable = Pick<pg.Pool, 'query'> | pg.ClientBase;

/**
 * Run `fn` in one transaction on a dedicated client.
 *
 * @example
 * await transaction(pool, async (tx) => { await tx.query('...'); });
 */
export async function transaction<T>(
  pool: pg.Pool,
  fn: (tx: pg.PoolClient) => Promise<T>,
  options: { isolation?: 'READ COMMITTED' | 'REPEATABLE READ' | 'SERIALIZABLE' } = {},
): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query(options.isolation ? `BEGIN ISOLATION LEVEL ${options.isolation}` : 'BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}
