import type pg from 'pg';
import { parseTableRef } from '../db/identifiers.js';
import type { Queryable } from '../db/queryable.js';
import { CurtainError } from '../errors.js';
import { copyTables } from './copy-tables.js';
import { newSnapshotId } from './ids.js';
import { display, qualified, type TableName } from './relations.js';
import type { RestoreRequest } from './strategy.js';
import type { SnapshotRecord, SnapshotTable } from './types.js';

/** What the full and the row-granular `tables` restores share. */

/** The snapshot's entries for the requested tables (`users` or `app.users`), or all of them. */
export function pickEntries(snapshot: SnapshotRecord, refs: string[] | undefined): SnapshotTable[] {
  if (!refs || refs.length === 0) return snapshot.tables;
  const picked: SnapshotTable[] = [];
  for (const ref of refs) {
    const r = ref.trim();
    const candidates = r.includes('.')
      ? snapshot.tables.filter((t) => display(t) === display(parseTableRef(r)))
      : snapshot.tables.filter((t) => t.name === r);
    if (candidates.length !== 1) {
      throw new CurtainError(
        candidates.length === 0 ? `snapshot ${snapshot.id} has no table "${r}"` : `"${r}" is ambiguous in snapshot ${snapshot.id}; qualify it with its schema`,
        { hint: `it has: ${snapshot.tables.map(display).join(', ') || '(no tables)'}` },
      );
    }
    if (!picked.includes(candidates[0]!)) picked.push(candidates[0]!);
  }
  return picked;
}

/** The copies exist and the live tables still exist. */
export async function checkExists(tx: Queryable, snapshot: SnapshotRecord, entries: SnapshotTable[]): Promise<void> {
  for (const e of entries) {
    const { rows } = await tx.query<{ live: string | null; copy: string | null }>(
      'SELECT to_regclass($1) AS live, to_regclass($2) AS copy',
      [qualified(e), e.copy ? qualified(e.copy) : null],
    );
    if (!rows[0]?.copy) throw new CurtainError(`the copy of ${display(e)} in snapshot ${snapshot.id} is missing (${e.copy ? display(e.copy) : 'none recorded'})`);
    if (!rows[0].live) {
      throw new CurtainError(`table ${display(e)} no longer exists; restore re-creates dropped columns, not dropped tables`, {
        hint: `its data is still in ${display(e.copy!)}`,
      });
    }
  }
}

/** LOCK TABLE, with a clear error on lock timeout. */
export async function lockTables(tx: Queryable, tables: TableName[], mode: string): Promise<void> {
  if (tables.length === 0) return;
  try {
    await tx.query(`LOCK TABLE ${tables.map(qualified).join(', ')} IN ${mode} MODE`);
  } catch (err) {
    if ((err as { code?: string }).code === '55P03') {
      throw new CurtainError(`could not lock ${tables.map(display).join(', ')} in time: other sessions are using them`, {
        hint: 'retry when traffic is lower, or raise --lock-timeout',
        cause: err,
      });
    }
    throw err;
  }
}

export function uniqueTables(tables: TableName[]): TableName[] {
  const seen = new Map(tables.map((t) => [display(t), t]));
  return [...seen.values()];
}

/**
 * The safety snapshot: the current state of `targets`, copied in the
 * restore's own transaction (writers already locked out), so the undo point
 * is exactly the state being replaced and a failed restore leaves no record.
 */
export async function takeSafetySnapshot(
  tx: Queryable,
  pool: pg.Pool,
  snapshot: SnapshotRecord,
  request: RestoreRequest,
  targets: TableName[],
): Promise<SnapshotRecord> {
  return copyTables(
    tx,
    {
      id: newSnapshotId(),
      schema: request.schema,
      tables: targets,
      reason: `before restoring snapshot ${snapshot.id}${request.where !== undefined ? ` where ${request.where}` : ''}`,
      migration: snapshot.migration,
      phase: 'restore',
      actor: request.actor,
      dir: request.dir,
      url: request.url,
    },
    pool,
  );
}

/** Turn constraint violations into one sentence with a way forward. */
export function explain(err: unknown): unknown {
  const e = err as { code?: string; message?: string; detail?: string; constraint?: string; table?: string };
  if (e.code === '23503') {
    return new CurtainError(`restore would break a foreign key (${e.constraint ?? 'unknown'} on ${e.table ?? '?'}): ${e.detail ?? e.message}`, {
      hint: 'restore the related tables together (--tables a,b); nothing was changed',
      cause: err,
    });
  }
  if (e.code === '23502') {
    return new CurtainError(`restore cannot fill ${e.table ?? '?'}: ${e.message}`, {
      hint: 'a NOT NULL column without a default was added after the snapshot; give it a default first, or restore an older state of the schema; nothing was changed',
      cause: err,
    });
  }
  if (e.code === '23505') {
    return new CurtainError(`restore collides with a unique constraint (${e.constraint ?? 'unknown'}): ${e.detail ?? e.message}`, {
      hint: 'restore the tables that reference this one too, so it can be replaced as a whole; nothing was changed',
      cause: err,
    });
  }
  if (e.code === '40P01') {
    return new CurtainError(`restore deadlocked with another session: ${e.message}`, { hint: 'retry; nothing was changed', cause: err });
  }
  return err;
}
