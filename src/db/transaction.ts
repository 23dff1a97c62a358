import type pg from 'pg';

/** Isolation levels PostgreSQL offers. */
export type IsolationLevel = 'READ COMMITTED' | 'REPEATABLE READ' | 'SERIALIZABLE';

/** SQLSTATEs after which the whole transaction may simply run again. */
export const DEADLOCK = '40P01';
export const SERIALIZATION_FAILURE = '40001';
export const LOCK_NOT_AVAILABLE = '55P03';

/** What a retry is told, to show it or to give up. */
export interface RetryEvent {
  attempt: number;
  delayMs: number;
  code: string;
  reason: 'deadlock' | 'serialization failure' | 'lock timeout';
}

export interface TransactionOptions {
  isolation?: IsolationLevel;
  /**
   * `SET LOCAL` settings for the transaction. `lock_timeout` given here is the
   * ceiling of the ramp: the first attempt waits 100 ms, each retry doubles it.
   */
  settings?: Record<string, string | number>;
  /**
   * Ramp `lock_timeout` from 100 ms up to the given value over the retries
   * (default true): right for DDL, whose lock wait queues every later query
   * on the table. Row-lock waits queue nobody: they may wait the full value.
   */
  rampLockTimeout?: boolean;
  /**
   * Run the whole transaction again after a deadlock, serialization failure or
   * (with `lock_timeout` set) a lock timeout, up to this many times. Only for
   * bodies that are safe to repeat: everything they did was rolled back.
   */
  retries?: number;
  /** Told before each retry; throw from it to stop retrying. */
  onRetry?: (e: RetryEvent) => void;
  /** Stops the wait between retries early. */
  signal?: AbortSignal;
}

/**
 * Run `fn` in one transaction on a dedicated client: the one place curtain
 * writes BEGIN and COMMIT. A client whose connection broke is discarded, not
 * returned to the pool; an `error` event on it while checked out is handled
 * here (the failing query reports it), so it never crashes the process.
 *
 * @example
 * await transaction(pool, async (tx) => { await tx.query('UPDATE ...'); }, { settings: { lock_timeout: 1000 }, retries: 5 });
 */
export async function transaction<T>(pool: pg.Pool, fn: (tx: pg.PoolClient) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await once(pool, fn, options, attempt);
    } catch (err) {
      const code = (err as { code?: string }).code ?? '';
      const retryable = code === DEADLOCK || code === SERIALIZATION_FAILURE || (code === LOCK_NOT_AVAILABLE && options.settings?.lock_timeout !== undefined);
      if (!retryable || attempt > (options.retries ?? 0) || options.signal?.aborted) throw err;
      const delayMs = backoffMs(attempt);
      options.onRetry?.({
        attempt,
        delayMs,
        code,
        reason: code === DEADLOCK ? 'deadlock' : code === SERIALIZATION_FAILURE ? 'serialization failure' : 'lock timeout',
      });
      await sleep(delayMs, options.signal);
    }
  }
}

/**
 * Run `fn` in a read-only transaction whose statements time out after
 * `timeoutMs`: the way curtain runs SQL a user supplies to decide something
 * (a throttle query, a rollout's `--check`) and its own sampling reads.
 * Nothing it does can persist.
 *
 * @example
 * const ok = await readOnly(pool, 2000, async (tx) => (await tx.query('SELECT count(*) = 0 FROM alarms')).rows[0]);
 */
export function readOnly<T>(pool: pg.Pool, timeoutMs: number, fn: (tx: pg.PoolClient) => Promise<T>): Promise<T> {
  return transaction(
    pool,
    async (tx) => {
      await tx.query('SET TRANSACTION READ ONLY');
      return fn(tx);
    },
    { settings: { statement_timeout: Math.max(1, Math.round(timeoutMs)) } },
  );
}

async function once<T>(pool: pg.Pool, fn: (tx: pg.PoolClient) => Promise<T>, options: TransactionOptions, attempt: number): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  const onError = (e: Error) => (broken = e);
  client.on('error', onError);
  try {
    await client.query(options.isolation ? `BEGIN ISOLATION LEVEL ${options.isolation}` : 'BEGIN');
    for (const [name, value] of Object.entries(options.settings ?? {})) {
      const v = name === 'lock_timeout' && options.rampLockTimeout !== false ? lockTimeoutFor(attempt, Number(value)) : value;
      await client.query(`SELECT set_config($1, $2, true)`, [name, String(v)]);
    }
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    // A connection killed mid-transaction cannot roll back (the server already did): discard it.
    await client.query('ROLLBACK').catch((e: Error) => (broken ??= e));
    throw err;
  } finally {
    client.off('error', onError);
    client.release(broken);
  }
}

/**
 * A statement waiting for its lock makes every later query on the table queue
 * behind it, so the first attempt waits only 100 ms and each retry doubles
 * that, up to the configured lock timeout: under steady traffic the lock is
 * usually free within a few milliseconds, and the application never waits
 * longer than the current attempt's timeout.
 *
 * @example
 * lockTimeoutFor(1, 1000) // 100
 * lockTimeoutFor(5, 1000) // 1000
 */
export function lockTimeoutFor(attempt: number, maxMs: number): number {
  return Math.max(1, Math.round(Math.min(maxMs, 100 * 2 ** (attempt - 1))));
}

/** Exponential backoff with jitter, capped at 5 s. */
export function backoffMs(attempt: number): number {
  return Math.round(Math.min(5_000, 50 * 2 ** Math.min(attempt, 10)) * (0.5 + Math.random()));
}

/** Wait `ms`, or less when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
