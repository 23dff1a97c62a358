import type pg from 'pg';
import { UsageError } from '../errors.js';
import { DEFAULT_SCHEMA } from '../store/store.js';
import { allRecords } from './catalog.js';
import { dropSnapshot } from './drop.js';

/**
 * Drop old snapshots: all but the newest `keep`, and/or those older than
 * `olderThanMs`. With both, a snapshot goes only when it is outside the
 * newest `keep` AND older than the age (the conservative reading).
 * Returns the ids dropped, oldest last.
 *
 * @example
 * await pruneSnapshots(pool, { schema: 'curtain', keep: 5 });
 * await pruneSnapshots(pool, { schema: 'curtain', olderThanMs: 7 * 86_400_000 });
 */
export async function pruneSnapshots(
  pool: pg.Pool,
  options: { schema?: string; keep?: number; olderThanMs?: number; url?: string; now?: Date },
): Promise<string[]> {
  const { keep, olderThanMs } = options;
  if (keep === undefined && olderThanMs === undefined) throw new UsageError('prune needs --keep N or --older-than DURATION');
  if (keep !== undefined && (!Number.isInteger(keep) || keep < 0)) throw new UsageError(`--keep must be a whole number ≥ 0, got ${keep}`);
  const schema = options.schema ?? DEFAULT_SCHEMA;
  const now = (options.now ?? new Date()).getTime();
  const all = await allRecords(pool, schema); // newest first
  const doomed = all.filter(
    (s, i) => (keep === undefined || i >= keep) && (olderThanMs === undefined || now - s.createdAt.getTime() > olderThanMs),
  );
  for (const s of doomed) await dropSnapshot(pool, s.id, { schema, url: options.url });
  return doomed.map((s) => s.id);
}
