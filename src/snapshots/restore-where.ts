import type pg from 'pg';
import { transaction, type Queryable } from '../db/queryable.js';
import { CurtainError } from '../errors.js';
import { useStableOutput } from './checksum.js';
import { planColumns, type ColumnSource } from './column-map.js';
import { foreignKeysTouching, parentsFirst } from './foreign-keys.js';
import { tablesToMerge } from './merge.js';
import { checkPredicateOn, checkPredicateShape } from './predicate.js';
import { display, primaryKey, qualified, tableColumns, type TableName } from './relations.js';
import { checkExists, explain, lockTables, takeSafetySnapshot } from './restore-common.js';
import { checkNotReferenced, collectScope, countRows, deleteInsertedRows, writeRows, type RowScope } from './restore-rows.js';
import { advanceSequences } from './sequences.js';
import type { RestoreRequest } from './strategy.js';
import { disableUserTriggers, enableTriggers } from './triggers.js';
import type { RestoredTable, RestorePreview, RestorePreviewTable, RestoreResult, RowChanges, SnapshotRecord, SnapshotTable } from './types.js';

/**
 * Row-granular restore (`--where`) and the dry run of any `tables` restore.
 * Semantics in restore-rows.ts. The restore locks the tables against
 * writers only (EXCLUSIVE: readers go on), validates the predicate, counts,
 * takes the safety snapshot of the whole tables, writes with user triggers
 * disabled (as a full restore does), checks that what it wrote is what it
 * counted, and commits: all in one transaction.
 */

interface Prepared extends RowScope {
  settable: ColumnSource[];
  insertable: ColumnSource[];
  droppedColumns: string[];
  notInSnapshot: string[];
}

/** Check one table for a row-granular restore and collect its keys in scope. */
async function prepare(tx: Queryable, entry: SnapshotTable, index: number, predicate: string): Promise<Prepared> {
  const table: TableName = { schema: entry.schema, name: entry.name };
  const pk = await primaryKey(tx, table);
  if (pk.length === 0) {
    throw new CurtainError(`row-granular restore needs a primary key: ${display(table)} has none`, {
      hint: 'restore the whole table (without --where), or add a primary key first; nothing was changed',
    });
  }
  const live = await tableColumns(tx, table);
  const plan = planColumns(entry.columns, live);
  const lacking = pk.filter((c) => !plan.sources.some((s) => s.target === c && s.source === c));
  if (lacking.length > 0) {
    throw new CurtainError(`the snapshot of ${display(table)} lacks primary key column(s) ${lacking.join(', ')}: rows cannot be matched`, {
      hint: 'restore the whole table (without --where); nothing was changed',
    });
  }
  await checkPredicateOn(tx, predicate, [
    { relation: qualified(entry.copy!), alias: entry.name, what: `the snapshot's copy of ${display(table)}` },
    { relation: qualified(table), alias: entry.name, what: `${display(table)} now` },
  ]);
  const col = (name: string) => live.find((n) => n.name === name)!;
  const scope: Prepared = {
    table,
    entry,
    pk,
    scope: `curtain_restore_scope_${index}`,
    settable: plan.sources.filter((c) => !pk.includes(c.target) && col(c.target).generated === null && col(c.target).identity !== 'a'),
    insertable: plan.sources.filter((c) => col(c.target).generated === null),
    droppedColumns: plan.missing.map((c) => c.name),
    notInSnapshot: plan.notInSnapshot,
  };
  await collectScope(tx, scope, predicate);
  return scope;
}

/** See the module comment. */
export async function restoreWhere(pool: pg.Pool, snapshot: SnapshotRecord, entries: SnapshotTable[], request: RestoreRequest): Promise<RestoreResult> {
  const predicate = await checkPredicateShape(request.where!);
  const deleteInserted = request.deleteInserted === true;
  const targets: TableName[] = entries.map((e) => ({ schema: e.schema, name: e.name }));
  return transaction(pool, async (tx) => {
    if (request.lockTimeoutMs !== undefined) await tx.query(`SELECT set_config('lock_timeout', $1, true)`, [`${request.lockTimeoutMs}ms`]);
    await checkExists(tx, snapshot, entries);
    await lockTables(tx, targets, 'EXCLUSIVE');
    await useStableOutput(tx);
    const scopes: Prepared[] = [];
    for (const [i, e] of entries.entries()) scopes.push(await prepare(tx, e, i, predicate));
    const counted = new Map<string, RowChanges>();
    for (const s of scopes) counted.set(display(s.table), await countRows(tx, s, s.settable, deleteInserted));
    const fks = await foreignKeysTouching(tx, targets);
    if (deleteInserted) {
      for (const s of scopes) await checkNotReferenced(tx, s, fks.filter((fk) => display(fk.to) === display(s.table)));
    }

    const safety = await takeSafetySnapshot(tx, pool, snapshot, request, targets);
    await useStableOutput(tx);
    const disabled = await disableUserTriggers(tx, targets);
    const byName = new Map(scopes.map((s) => [display(s.table), s]));
    const order = parentsFirst(targets, fks).map((t) => byName.get(display(t))!);
    const done = new Map<string, { updated: number; inserted: number; deleted: number }>();
    try {
      await tx.query('SET CONSTRAINTS ALL DEFERRED');
      for (const s of order) done.set(display(s.table), { ...(await writeRows(tx, s, s.settable, s.insertable)), deleted: 0 });
      if (deleteInserted) for (const s of [...order].reverse()) done.get(display(s.table))!.deleted = await deleteInsertedRows(tx, s);
      await tx.query('SET CONSTRAINTS ALL IMMEDIATE');
    } catch (err) {
      throw explainRows(err);
    }
    for (const s of scopes) {
      const want = counted.get(display(s.table))!;
      const got = done.get(display(s.table))!;
      // The tables are locked against writers, so this only fails on a bug; then nothing is committed.
      if (want.updated !== got.updated || want.inserted !== got.inserted || want.deleted !== got.deleted) {
        throw new CurtainError(`restore of ${display(s.table)} wrote ${JSON.stringify(got)} but counted ${JSON.stringify(want)}; nothing was changed`);
      }
      await advanceSequences(tx, s.table);
    }
    await enableTriggers(tx, disabled);
    const restored: RestoredTable[] = scopes.map((s) => ({
      table: display(s.table),
      rows: s.entry.rows,
      mode: 'rows',
      readdedColumns: [],
      columnsNotInSnapshot: s.notInSnapshot,
      changes: counted.get(display(s.table))!,
    }));
    return { restored, safetySnapshotId: safety.id };
  });
}

/**
 * What a restore would change, per table; changes nothing (the dry run).
 * With `where`: the row-granular counts. Without: a full restore's, where
 * every row is in scope and rows inserted since are deleted; a table with no
 * primary key the snapshot also has is replaced as a whole (`changes: null`).
 */
export async function previewTables(
  pool: pg.Pool,
  snapshot: SnapshotRecord,
  entries: SnapshotTable[],
  options: { where?: string; deleteInserted?: boolean },
): Promise<RestorePreview> {
  const predicate = options.where === undefined ? undefined : await checkPredicateShape(options.where);
  const targets: TableName[] = entries.map((e) => ({ schema: e.schema, name: e.name }));
  const tables = await transaction(
    pool,
    async (tx) => {
      await checkExists(tx, snapshot, entries);
      await useStableOutput(tx);
      const merged = tablesToMerge(targets, await foreignKeysTouching(tx, targets));
      const out: RestorePreviewTable[] = [];
      for (const [i, e] of entries.entries()) {
        const t = { schema: e.schema, name: e.name };
        const rowsNow = Number((await tx.query<{ n: number }>(`SELECT count(*) AS n FROM ${qualified(t)}`)).rows[0]!.n);
        const base = { table: display(t), rowsThen: e.rows, rowsNow };
        if (predicate !== undefined) {
          const s = await prepare(tx, e, i, predicate);
          const changes = await countRows(tx, s, s.settable, options.deleteInserted === true);
          out.push({ ...base, mode: 'rows', changes, droppedColumns: s.droppedColumns, columnsNotInSnapshot: s.notInSnapshot });
          continue;
        }
        const mode = merged.has(display(t)) ? 'merge' : 'replace';
        const plan = planColumns(e.columns, await tableColumns(tx, t));
        const pk = await primaryKey(tx, t);
        const matchable = pk.length > 0 && pk.every((c) => plan.sources.some((s) => s.target === c && s.source === c));
        let changes: RowChanges | null = null;
        if (matchable) {
          const s = await prepare(tx, e, i, 'true');
          changes = await countRows(tx, s, s.settable, true);
        }
        out.push({ ...base, mode, changes, droppedColumns: plan.missing.map((c) => c.name), columnsNotInSnapshot: plan.notInSnapshot });
      }
      return out;
    },
    { isolation: 'REPEATABLE READ' },
  );
  return { snapshotId: snapshot.id, where: predicate ?? null, tables };
}

/** Row-granular wording: the conflict is with rows outside the condition. */
function explainRows(err: unknown): unknown {
  const e = err as { code?: string; message?: string; detail?: string; constraint?: string };
  if (e.code === '23505') {
    return new CurtainError(`a restored row collides with a row outside the condition (unique constraint ${e.constraint ?? 'unknown'}): ${e.detail ?? e.message}`, {
      hint: 'change that row first (or restore it on its own), then restore again; nothing was changed',
      cause: err,
    });
  }
  if (e.code === '23503') {
    return new CurtainError(`restore would break a foreign key (${e.constraint ?? 'unknown'}): ${e.detail ?? e.message}`, {
      hint: 'restore the referenced rows first (their table with its own --where), then these; nothing was changed',
      cause: err,
    });
  }
  return explain(err);
}
