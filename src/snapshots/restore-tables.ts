import type pg from 'pg';
import { parseTableRef, quoteIdent } from '../db/identifiers.js';
import { transaction, type Queryable } from '../db/queryable.js';
import { CurtainError } from '../errors.js';
import { useStableOutput } from './checksum.js';
import { columnDefinition, valueOf } from './columns.js';
import { copyTables } from './copy-tables.js';
import { foreignKeysTouching, parentsFirst } from './foreign-keys.js';
import { newSnapshotId } from './ids.js';
import { checkOutsideReferences, deleteExtraRows, list, mergeRows, tablesToMerge } from './merge.js';
import { display, primaryKey, qualified, tableColumns, type TableName } from './relations.js';
import { advanceSequences } from './sequences.js';
import type { RestoreRequest } from './strategy.js';
import { disableUserTriggers, enableTriggers } from './triggers.js';
import type { RestoredTable, RestoreResult, SnapshotColumn, SnapshotRecord, SnapshotTable } from './types.js';

/**
 * Put a `tables` snapshot back, in ONE transaction:
 *
 * 1. lock the tables (ACCESS EXCLUSIVE) and copy their current state into a
 *    safety snapshot, in the same transaction, so the undo point is exactly
 *    the state being replaced and a failed restore leaves no safety record;
 * 2. re-add columns dropped since the snapshot (type, default, identity or
 *    generated expression; NOT NULL once the data is back);
 * 3. disable the enabled user triggers (dual-write `curtain_*` triggers
 *    included) so restored rows are written as they were, not rewritten;
 * 4. `TRUNCATE` the tables together and `INSERT ... SELECT` them back, parents
 *    first (set-based, never row by row). A table that a table outside the
 *    restored set references cannot be truncated: it is merged instead
 *    (delete / update / insert by primary key), after checking that no
 *    outside row would lose its referenced row, so outside tables are never
 *    changed;
 * 5. move identity/serial sequences forward to the restored maximum (never
 *    backwards: ids handed out since the snapshot are not reused);
 * 6. check the row counts, re-enable the triggers as they were, commit.
 */
export async function restoreTables(pool: pg.Pool, snapshot: SnapshotRecord, request: RestoreRequest): Promise<RestoreResult> {
  const entries = pickEntries(snapshot, request.tables);
  const targets: TableName[] = entries.map((e) => ({ schema: e.schema, name: e.name }));
  const entryOf = new Map(entries.map((e) => [display(e), e]));
  return transaction(pool, async (tx) => {
    if (request.lockTimeoutMs !== undefined) await tx.query(`SELECT set_config('lock_timeout', $1, true)`, [`${request.lockTimeoutMs}ms`]);
    await checkExists(tx, snapshot, entries);
    await lockTables(tx, targets, 'ACCESS EXCLUSIVE');

    const fks = await foreignKeysTouching(tx, targets);
    const merged = tablesToMerge(targets, fks);
    const outside = fks.filter((fk) => !entryOf.has(display(fk.from)));
    await lockTables(tx, uniqueTables(outside.map((fk) => fk.from)), 'SHARE');

    const safety = await copyTables(tx, {
      id: newSnapshotId(),
      schema: request.schema,
      tables: targets,
      reason: `before restoring snapshot ${snapshot.id}`,
      migration: snapshot.migration,
      phase: 'restore',
      actor: request.actor,
      dir: request.dir,
      url: request.url,
    });
    await useStableOutput(tx);

    const keys = new Map<string, string[]>();
    for (const t of targets.filter((t) => merged.has(display(t)))) {
      const pk = await primaryKey(tx, t);
      const entry = entryOf.get(display(t))!;
      const via = outside.find((fk) => display(fk.to) === display(t));
      if (pk.length === 0 || !pk.every((c) => entry.columns.some((sc) => sc.name === c))) {
        throw new CurtainError(
          `cannot restore ${display(t)} on its own: ${via ? `${display(via.from)} references it (constraint ${via.constraint})` : 'a table outside the restored set references it'} and it has no primary key the snapshot also has`,
          { hint: 'restore the referencing tables too (--tables), if the snapshot has them' },
        );
      }
      keys.set(display(t), pk);
      for (const fk of outside.filter((f) => display(f.to) === display(t))) await checkOutsideReferences(tx, entry, pk, fk);
    }

    const disabled = await disableUserTriggers(tx, targets);
    const replaced = targets.filter((t) => !merged.has(display(t)));
    if (replaced.length > 0) await tx.query(`TRUNCATE ${replaced.map(qualified).join(', ')}`);

    const readded = new Map<string, SnapshotColumn[]>();
    const added = new Map<string, string[]>();
    const insertable = new Map<string, string[]>();
    const casts = new Map<string, Map<string, string>>();
    for (const t of targets) {
      const entry = entryOf.get(display(t))!;
      const now = await tableColumns(tx, t);
      const missing = entry.columns.filter((c) => !now.some((n) => n.name === c.name));
      for (const c of missing) await tx.query(`ALTER TABLE ${qualified(t)} ADD COLUMN ${columnDefinition(c)}`);
      readded.set(display(t), missing);
      added.set(display(t), now.filter((n) => !entry.columns.some((c) => c.name === n.name)).map((n) => n.name));
      const current = missing.length > 0 ? await tableColumns(tx, t) : now;
      insertable.set(
        display(t),
        entry.columns.filter((c) => current.find((n) => n.name === c.name)?.generated === null).map((c) => c.name),
      );
      // A column whose type changed since (alterColumn contracted) is cast explicitly: INSERT alone only applies assignment casts.
      casts.set(
        display(t),
        new Map(entry.columns.flatMap((c) => {
          const type = current.find((n) => n.name === c.name)?.type;
          return type !== undefined && type !== c.type ? [[c.name, type] as const] : [];
        })),
      );
    }

    await tx.query('SET CONSTRAINTS ALL DEFERRED');
    const order = parentsFirst(targets, fks);
    try {
      // Children first, so a parent's stale rows are no longer referenced when they go.
      for (const t of [...order].reverse().filter((t) => merged.has(display(t)))) {
        await deleteExtraRows(tx, t, entryOf.get(display(t))!, keys.get(display(t))!);
      }
      for (const t of order) {
        const entry = entryOf.get(display(t))!;
        const cols = insertable.get(display(t))!;
        const value = valueOf(casts.get(display(t))!);
        if (merged.has(display(t))) await mergeRows(tx, t, entry, cols, keys.get(display(t))!, value);
        else {
          await tx.query(
            `INSERT INTO ${qualified(t)} (${list(cols)}) OVERRIDING SYSTEM VALUE SELECT ${cols.map(value).join(', ')} FROM ${qualified(entry.copy!)} s`,
          );
        }
      }
      await tx.query('SET CONSTRAINTS ALL IMMEDIATE');
    } catch (err) {
      throw explain(err);
    }

    for (const t of targets) {
      for (const c of readded.get(display(t))!.filter((c) => c.notNull && c.identity === '')) {
        await tx.query(`ALTER TABLE ${qualified(t)} ALTER COLUMN ${quoteIdent(c.name)} SET NOT NULL`);
      }
      await advanceSequences(tx, t);
      const { rows } = await tx.query<{ n: number }>(`SELECT count(*) AS n FROM ${qualified(t)}`);
      const expected = entryOf.get(display(t))!.rows;
      if (Number(rows[0]!.n) !== expected) {
        throw new CurtainError(`restore of ${display(t)} produced ${rows[0]!.n} rows, the snapshot has ${expected}; nothing was changed`);
      }
    }
    await enableTriggers(tx, disabled);

    const restored: RestoredTable[] = targets.map((t) => ({
      table: display(t),
      rows: entryOf.get(display(t))!.rows,
      mode: merged.has(display(t)) ? 'merge' : 'replace',
      readdedColumns: readded.get(display(t))!.map((c) => c.name),
      columnsNotInSnapshot: added.get(display(t))!,
    }));
    return { restored, safetySnapshotId: safety.id };
  });
}

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

async function checkExists(tx: Queryable, snapshot: SnapshotRecord, entries: SnapshotTable[]): Promise<void> {
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

async function lockTables(tx: Queryable, tables: TableName[], mode: string): Promise<void> {
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

function uniqueTables(tables: TableName[]): TableName[] {
  const seen = new Map(tables.map((t) => [display(t), t]));
  return [...seen.values()];
}

/** Turn constraint violations into one sentence with a way forward. */
function explain(err: unknown): unknown {
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
  return err;
}
