import pg from 'pg';
import { Kysely, PostgresDialect } from 'kysely';
import { CurtainError } from '../errors.js';
import { ownConnectionErrors } from './pool-errors.js';
import { redactUrl } from './redact.js';

/** An open connection: the pg pool for raw SQL and a Kysely instance over it. */
export interface Database {
  readonly pool: pg.Pool;
  readonly db: Kysely<any>;
  readonly url: string;
  close(): Promise<void>;
}

// bigint and numeric stay strings in pg by default; counts are safe as numbers.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => {
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : v;
});

/**
 * Open a pool on `url` and check that the server answers, so an unreachable
 * database is one clear error instead of a stack trace later.
 *
 * @example
 * const { db, close } = await connect('postgres://postgres@127.0.0.1/app');
 * await db.selectFrom('users').selectAll().execute();
 * await close();
 */
export async function connect(url: string, options: { max?: number; applicationName?: string } = {}): Promise<Database> {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.max ?? 4,
    application_name: options.applicationName ?? 'curtain',
    connectionTimeoutMillis: 10_000,
  });
  ownConnectionErrors(pool);
  try {
    const client = await pool.connect();
    client.release();
  } catch (err) {
    await pool.end().catch(() => {});
    throw new CurtainError(`cannot connect to ${redactUrl(url)}: ${(err as Error).message}`, {
      hint: 'check --database-url / DATABASE_URL, and that the server is running',
      cause: err,
    });
  }
  const db = new Kysely<any>({ dialect: new PostgresDialect({ pool }) });
  let closed = false;
  return {
    pool,
    db,
    url,
    async close() {
      if (closed) return;
      closed = true;
      await db.destroy();
      // Kysely ends the pool only if it ever used it.
      if (!pool.ended) await pool.end();
    },
  };
}

export { redactUrl } from './redact.js';
