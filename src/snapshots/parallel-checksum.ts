import type pg from 'pg';
import { quoteLiteral } from '../db/identifiers.js';
import { transaction, type Queryable } from '../db/queryable.js';
import { rowHash, runChecksum, useStableOutput, type RowHash } from './checksum.js';

/**
 * Checksums computed on a second connection while the copy runs.
 *
 * Taking a snapshot is one `CREATE TABLE ... AS` per table plus one checksum
 * pass; run one after the other, the checksum adds half the copy's time. The
 * copying transaction exports its snapshot (`pg_export_snapshot()`) and a
 * second session imports it (`SET TRANSACTION SNAPSHOT`): it sees exactly the
 * rows being copied and checksums the source tables on the other core while
 * the copy is written. The copy's row count (from CREATE TABLE AS) must equal
 * the count seen by the second session, which also cross-checks the copy.
 *
 * Only when the pool has a connection to spare (a pool of one would wait on
 * itself); otherwise, or if the second session fails, the checksums are
 * computed in the copying transaction afterwards, as before.
 */

/** What to checksum: `relation` (quoted) over `columns`, and where the copy is for the fallback. */
export interface ChecksumJob {
  relation: string;
  columns: string[];
  /** Checksummed instead in the caller's transaction when no second session ran. */
  fallback: string;
}

/** A pending set of checksums; `result()` waits for them (or computes them in `tx`). */
export interface PendingChecksums {
  result(): Promise<{ rows: number; checksum: string }[]>;
}

/**
 * Start checksumming `jobs` beside the caller's transaction `tx`.
 * `tx` must already hold its snapshot's locks; readers must not be blocked
 * on the tables (the second session takes ACCESS SHARE).
 *
 * @example
 * const pending = await checksumsAlongside(pool, tx, [{ relation: '"public"."orders"', columns: ['id', 'total'], fallback: copyName }]);
 * await tx.query(`CREATE TABLE ${copyName} AS SELECT * FROM public.orders`);
 * const [{ rows, checksum }] = await pending.result();
 */
export async function checksumsAlongside(pool: pg.Pool | undefined, tx: Queryable, jobs: ChecksumJob[]): Promise<PendingChecksums> {
  // Settled in the caller's transaction, where the source tables' column types are read; a copy has the same.
  const hashes: RowHash[] = [];
  for (const j of jobs) hashes.push(await rowHash(tx, j.relation, j.columns));
  const serial = { result: () => inTransaction(tx, jobs, hashes) };
  if (pool === undefined || jobs.length === 0 || !hasSpare(pool)) return serial;
  const { rows } = await tx.query<{ id: string }>('SELECT pg_export_snapshot() AS id');
  const id = rows[0]!.id;
  const work = transaction(
    pool,
    async (helper) => {
      await helper.query(`SET TRANSACTION SNAPSHOT ${quoteLiteral(id)}`);
      await helper.query('SET TRANSACTION READ ONLY');
      await useStableOutput(helper);
      const out: { rows: number; checksum: string }[] = [];
      for (const [i, j] of jobs.entries()) out.push(await runChecksum(helper, j.relation, hashes[i]!));
      return out;
    },
    { isolation: 'REPEATABLE READ' },
  );
  // Settled here so a failure is never an unhandled rejection while the copy still runs.
  const settled = work.then(
    (value) => ({ ok: true as const, value }),
    () => ({ ok: false as const }),
  );
  return {
    async result() {
      const s = await settled;
      return s.ok ? s.value : inTransaction(tx, jobs, hashes);
    },
  };
}

function hasSpare(pool: pg.Pool): boolean {
  const max = pool.options.max ?? 10;
  return pool.idleCount > 0 || pool.totalCount < max;
}

async function inTransaction(tx: Queryable, jobs: ChecksumJob[], hashes: RowHash[]): Promise<{ rows: number; checksum: string }[]> {
  const out: { rows: number; checksum: string }[] = [];
  for (const [i, j] of jobs.entries()) out.push(await runChecksum(tx, j.fallback, hashes[i]!));
  return out;
}
