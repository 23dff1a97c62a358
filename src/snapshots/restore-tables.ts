import type pg from 'pg';
import { quoteIdent } from '../db/identifiers.js';
import { transaction } from '../db/queryable.js';
import { CurtainError } from '../errors.js';
import { useStableOutput } from './checksum.js';
import { planColumns, type ColumnSource } from './column-map.js';
import { foreignKeysTouching, parentsFirst } from './foreign-keys.js';
import { checkOutsideReferences, deleteExtraRows, list, mergeRows, tablesToMerge } from './merge.js';
import { display, primaryKey, qualified, tableColumns, type TableName } from './relations.js';
import { dropIndexesForReload, notNullColumns, rebuildIndexes, type DroppedIndex } from './reload-indexes.js';
import { checkExists, explain, lockTables, pickEntries, takeSafetySnapshot, uniqueTables } from './restore-common.js';
import { restoreWhere } from './restore-where.js';
import { advanceSequences } from './sequences.js';
import type { RestoreRequest } from './strategy.js';
import { disableUserTriggers, enableTriggers } from './triggers.js';
import type { RestoredTable, RestoreResult, SnapshotColumn, SnapshotRecord } from './types.js';

export { pickEntries } from './restore-common.js';

/**
 * Put a `tables` snapshot back, in ONE transaction (with `request.where`:
 * row by row, see restore-where.ts):
 *
 * 1. lock the tables against writers (EXCLUSIVE: readers go on) and copy
 *    their current state into a safety snapshot, in the same transaction, so
 *    the undo point is exactly the state being replaced and a failed restore
 *    leaves no safety record (its checksums run on a second session meanwhile);
 * 2. take ACCESS EXCLUSIVE, re-add columns dropped since the snapshot (type,
 *    default, identity or generated expression; NOT NULL once the data is
 *    back), never curtain's internal ones (column-map.ts);
 * 3. disable the enabled user triggers (dual-write `curtain_*` triggers
 *    included) so restored rows are written as they were, not rewritten;
 * 4. `TRUNCATE` the tables together, drop their indexes (reload-indexes.ts),
 *    `INSERT ... SELECT` them back parents first, and build the indexes again
 *    (set-based, never row by row). A table that a table outside the
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
  if (request.where !== undefined) return restoreWhere(pool, snapshot, entries, request);
  const targets: TableName[] = entries.map((e) => ({ schema: e.schema, name: e.name }));
  const entryOf = new Map(entries.map((e) => [display(e), e]));
  return transaction(pool, async (tx) => {
    if (request.lockTimeoutMs !== undefined) await tx.query(`SELECT set_config('lock_timeout', $1, true)`, [`${request.lockTimeoutMs}ms`]);
    await checkExists(tx, snapshot, entries);
    await lockTables(tx, targets, 'EXCLUSIVE');

    const fks = await foreignKeysTouching(tx, targets);
    const merged = tablesToMerge(targets, fks);
    const outside = fks.filter((fk) => !entryOf.has(display(fk.from)));
    await lockTables(tx, uniqueTables(outside.map((fk) => fk.from)), 'SHARE');

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

    const safety = await takeSafetySnapshot(tx, pool, snapshot, request, targets);
    try {
      await lockTables(tx, targets, 'ACCESS EXCLUSIVE');
    } catch (err) {
      throw explain(err);
    }
    await useStableOutput(tx);

    const disabled = await disableUserTriggers(tx, targets);
    const replaced = targets.filter((t) => !merged.has(display(t)));
    if (replaced.length > 0) await tx.query(`TRUNCATE ${replaced.map(qualified).join(', ')}`);
    const dropped: DroppedIndex[] = [];
    const notNull = new Map<string, { table: TableName; columns: string[] }>();
    for (const t of replaced) {
      notNull.set(display(t), { table: t, columns: await notNullColumns(tx, t) });
      dropped.push(...(await dropIndexesForReload(tx, t)));
    }

    const readded = new Map<string, SnapshotColumn[]>();
    const added = new Map<string, string[]>();
    const insertable = new Map<string, ColumnSource[]>();
    for (const t of targets) {
      const entry = entryOf.get(display(t))!;
      let now = await tableColumns(tx, t);
      const { missing } = planColumns(entry.columns, now);
      for (const c of missing) await tx.query(`ALTER TABLE ${qualified(t)} ADD COLUMN ${columnDefinition(c)}`);
      if (missing.length > 0) now = await tableColumns(tx, t);
      const plan = planColumns(entry.columns, now);
      readded.set(display(t), missing);
      added.set(display(t), plan.notInSnapshot);
      insertable.set(display(t), plan.sources.filter((c) => now.find((n) => n.name === c.target)?.generated === null));
    }

    const inserted = new Map<string, number>();
    try {
      await tx.query('SET CONSTRAINTS ALL DEFERRED');
      const order = parentsFirst(targets, fks);
      // Children first, so a parent's stale rows are no longer referenced when they go.
      for (const t of [...order].reverse().filter((t) => merged.has(display(t)))) {
        await deleteExtraRows(tx, t, entryOf.get(display(t))!, keys.get(display(t))!);
      }
      for (const t of order) {
        const entry = entryOf.get(display(t))!;
        const cols = insertable.get(display(t))!;
        if (merged.has(display(t))) {
          const byTarget = new Map(cols.map((c) => [c.target, c]));
          await mergeRows(tx, t, entry, cols.map((c) => c.target), keys.get(display(t))!, (col) => valueOf(byTarget.get(col)!));
        } else {
          const r = await tx.query(
            `INSERT INTO ${qualified(t)} (${list(cols.map((c) => c.target))}) OVERRIDING SYSTEM VALUE SELECT ${cols.map(valueOf).join(', ')} FROM ${qualified(entry.copy!)} s`,
          );
          inserted.set(display(t), r.rowCount ?? -1);
        }
      }
      // One sort per index instead of one B-tree insert per row and index.
      await rebuildIndexes(tx, dropped, notNull);
      await tx.query('SET CONSTRAINTS ALL IMMEDIATE');
    } catch (err) {
      throw explain(err);
    }

    for (const t of targets) {
      for (const c of readded.get(display(t))!.filter((c) => c.notNull && c.identity === '')) {
        await tx.query(`ALTER TABLE ${qualified(t)} ALTER COLUMN ${quoteIdent(c.name)} SET NOT NULL`);
      }
      await advanceSequences(tx, t);
      // A replaced table was empty before the INSERT: its row count is the INSERT's.
      const n = inserted.get(display(t)) ?? Number((await tx.query<{ n: number }>(`SELECT count(*) AS n FROM ${qualified(t)}`)).rows[0]!.n);
      const expected = entryOf.get(display(t))!.rows;
      if (n !== expected) {
        throw new CurtainError(`restore of ${display(t)} produced ${n} rows, the snapshot has ${expected}; nothing was changed`);
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

/** `s.col`, or `CAST(s.col AS <current type>)` when the type changed since the snapshot. */
export function valueOf(c: ColumnSource): string {
  return c.cast === null ? `s.${quoteIdent(c.source)}` : `CAST(s.${quoteIdent(c.source)} AS ${c.cast})`;
}

/** `name type [GENERATED ... | DEFAULT ...]`, NOT NULL left for after the data is back. */
function columnDefinition(c: SnapshotColumn): string {
  let def = `${quoteIdent(c.name)} ${c.type}`;
  if (c.generated !== null) def += ` GENERATED ALWAYS AS (${c.generated}) STORED`;
  else if (c.identity !== '') def += ` GENERATED ${c.identity === 'a' ? 'ALWAYS' : 'BY DEFAULT'} AS IDENTITY`;
  else if (c.default !== null) def += ` DEFAULT ${c.default}`;
  return def;
}
