import path from 'node:path';
import type { Command } from 'commander';
import { defaultActor } from '../../actor.js';
import { acquireMigrateLock } from '../../db/advisory-lock.js';
import { parseDuration } from '../../duration.js';
import { UsageError } from '../../errors.js';
import {
  createSnapshot,
  diffSnapshot,
  dropSnapshot,
  getSnapshot,
  listSnapshots,
  previewRestore,
  pruneSnapshots,
  restoreSnapshot,
  STRATEGY_NAMES,
  strategyFor,
  type SnapshotRecord,
  type SnapshotStrategyName,
} from '../../snapshots/index.js';
import { globalsOf, withContext, type CommandContext } from '../context.js';

/**
 * `migrate snapshot create|list|show|restore|drop|prune`.
 *
 * Mutating subcommands hold the migrate lock, except around the clone
 * strategy: a clone needs the database with no other session at all (the
 * lock's own connection included), which already excludes any other migrate.
 */
export function register(program: Command): void {
  const snapshot = program.command('snapshot').description('take, inspect, restore and remove snapshots of your tables');

  snapshot
    .command('create')
    .description('take a snapshot (default: every user table, strategy from the config)')
    .option('--tables <list>', 'comma-separated tables (`users,app.orders`)')
    .option('--strategy <name>', `${STRATEGY_NAMES.join(' | ')} (default: config snapshots.strategy, else tables)`)
    .option('--reason <text>', 'why, recorded with the snapshot')
    .option('--migration <name>', 'the migration this snapshot belongs to')
    .action(async (opts: { tables?: string; strategy?: string; reason?: string; migration?: string }, command: Command) => {
      if (opts.strategy !== undefined) strategyFor(opts.strategy); // usage error before connecting
      await withContext(command, async (ctx) => {
        const strategy = (opts.strategy ?? ctx.config.snapshots.strategy) as SnapshotStrategyName;
        const run = () =>
          createSnapshot(ctx.database.pool, {
            schema: ctx.config.schema,
            tables: splitList(opts.tables),
            strategy,
            reason: opts.reason,
            migration: opts.migration,
            actor: defaultActor(),
            dir: snapshotDir(ctx),
            url: ctx.database.url,
          });
        const snap = strategy === 'clone' ? await run() : await locked(ctx, run);
        ctx.out.result(snap);
        ctx.out.line(`snapshot ${ctx.out.color.bold(snap.id)} taken (${snap.strategy}, ${snap.location})`);
        ctx.out.table(
          ['TABLE', 'ROWS', 'SIZE', 'CHECKSUM'],
          snap.tables.map((t) => [`${t.schema}.${t.name}`, t.rows, formatBytes(t.bytes), t.checksum]),
        );
      });
    });

  snapshot
    .command('list')
    .description('every snapshot, newest first')
    .action(async (_opts: unknown, command: Command) => {
      await withContext(command, async ({ config, out, database }) => {
        const all = await listSnapshots(database.pool, { schema: config.schema });
        out.result(all);
        if (all.length === 0) return out.line('no snapshots');
        out.table(
          ['ID', 'STRATEGY', 'STATUS', 'CREATED', 'TABLES', 'ROWS', 'MIGRATION', 'REASON'],
          all.map((s) => [
            s.id,
            s.strategy,
            s.status,
            s.createdAt.toISOString(),
            s.tables.length,
            s.tables.reduce((n, t) => n + t.rows, 0),
            s.migration ? `${s.migration}${s.phase ? ` (${s.phase})` : ''}` : s.phase,
            s.reason,
          ]),
        );
      });
    });

  snapshot
    .command('show')
    .description('a snapshot and what changed since: row counts and checksums then vs now')
    .argument('<id>')
    .action(async (id: string, _opts: unknown, command: Command) => {
      await withContext(command, async ({ config, out, database }) => {
        const diff = await diffSnapshot(database.pool, id, { schema: config.schema });
        out.result(diff);
        describe(out, diff.snapshot);
        out.line();
        out.table(
          ['TABLE', 'ROWS THEN', 'ROWS NOW', 'CHANGE', 'DATA', 'COLUMNS'],
          diff.tables.map((t) => [
            t.table,
            t.rowsThen,
            t.rowsNow ?? 'table gone',
            t.rowsNow === null ? '' : signed(t.rowsNow - t.rowsThen),
            t.changed ? out.paint('changed', 'yellow') : 'same',
            [...t.droppedColumns.map((c) => `-${c}`), ...t.addedColumns.map((c) => `+${c}`)].join(' '),
          ]),
        );
      });
    });

  snapshot
    .command('restore')
    .description('put a snapshot back (a safety snapshot of the current state is taken first); needs --yes, or --dry-run')
    .argument('<id>')
    .option('--tables <list>', 'restore only these tables of the snapshot (tables strategy)')
    .option('--where <condition>', 'with --tables: restore only rows matching this SQL condition in the snapshot or now; every other row stays')
    .option('--delete-inserted', 'with --where: also delete matching rows inserted since the snapshot (default: keep them)')
    .option('--dry-run', 'print how many rows would be updated, inserted and deleted per table; change nothing')
    .action(async (id: string, opts: { tables?: string; where?: string; deleteInserted?: boolean; dryRun?: boolean }, command: Command) => {
      if (opts.where !== undefined && !splitList(opts.tables)) {
        throw new UsageError('--where needs --tables: name the tables the condition applies to', `e.g. migrate snapshot restore ${id} --tables orders --where "status = 'refunded'"`);
      }
      if (opts.deleteInserted && opts.where === undefined) throw new UsageError('--delete-inserted needs --where', 'a full restore already deletes rows inserted since the snapshot');
      if (!opts.dryRun && !globalsOf(command).yes) {
        const again = [`migrate snapshot restore ${id}`, opts.tables && `--tables ${opts.tables}`, opts.where !== undefined && `--where ${shellQuote(opts.where)}`, opts.deleteInserted && '--delete-inserted']
          .filter(Boolean)
          .join(' ');
        throw new UsageError(
          opts.where !== undefined ? 'restore writes the matching rows of the snapshot back' : `restore replaces the current data of the snapshot's tables`,
          `see what would change with: ${again} --dry-run\nthen confirm with: ${again} --yes`,
        );
      }
      await withContext(command, async (ctx) => {
        const { config, out, database } = ctx;
        const options = {
          schema: config.schema,
          tables: splitList(opts.tables),
          where: opts.where,
          deleteInserted: opts.deleteInserted,
          actor: defaultActor(),
          lockTimeoutMs: config.lockTimeoutMs,
          dir: snapshotDir(ctx),
          url: database.url,
        };
        if (opts.dryRun) {
          const preview = await previewRestore(database.pool, id, options);
          out.result(preview);
          const total = preview.tables.reduce((n, t) => n + (t.changes ? t.changes.updated + t.changes.inserted + t.changes.deleted : t.rowsThen + t.rowsNow), 0);
          out.line(`dry run: restoring snapshot ${id}${preview.where !== null ? ` where ${preview.where}` : ''} would change ${total} row(s); nothing was changed`);
          out.table(
            ['TABLE', 'MODE', 'MATCHING', 'UPDATE', 'INSERT', 'DELETE', 'UNCHANGED', 'KEPT (INSERTED SINCE)'],
            preview.tables.map((t) =>
              t.changes
                ? [t.table, t.mode, t.changes.matching, t.changes.updated, t.changes.inserted, t.changes.deleted, t.changes.unchanged, t.changes.keptInserted]
                : [t.table, t.mode, '', `replaces all ${t.rowsNow} rows with the snapshot's ${t.rowsThen}`, '', '', '', ''],
            ),
          );
          for (const t of preview.tables.filter((t) => t.droppedColumns.length > 0)) {
            out.warn(`${t.table}: ${t.droppedColumns.join(', ')} dropped since the snapshot; ${t.mode === 'rows' ? 'a row-granular restore cannot restore them' : 'the restore re-adds them'}`);
          }
          return;
        }
        const snap = await getSnapshot(database.pool, id, { schema: config.schema });
        const run = () => restoreSnapshot(database.pool, id, options);
        const result = snap.strategy === 'clone' ? await run() : await locked(ctx, run);
        out.result(result);
        if (opts.where !== undefined) {
          out.table(
            ['TABLE', 'MATCHING', 'UPDATED', 'INSERTED', 'DELETED', 'UNCHANGED', 'KEPT (INSERTED SINCE)'],
            result.restored.map((r) => {
              const c = r.changes!;
              return [r.table, c.matching, c.updated, c.inserted, c.deleted, c.unchanged, c.keptInserted];
            }),
          );
        } else {
          out.table(
            ['TABLE', 'ROWS', 'MODE', 'COLUMNS RE-ADDED', 'COLUMNS NOT IN SNAPSHOT'],
            result.restored.map((r) => [r.table, r.rows, r.mode, r.readdedColumns.join(', '), r.columnsNotInSnapshot.join(', ')]),
          );
        }
        out.line(`restored snapshot ${id}${opts.where !== undefined ? ` where ${opts.where}` : ''}; to undo: migrate snapshot restore ${result.safetySnapshotId} --yes`);
        for (const r of result.restored.filter((r) => r.columnsNotInSnapshot.length > 0)) {
          out.warn(`${r.table}: ${r.columnsNotInSnapshot.join(', ')} did not exist at snapshot time and ${r.mode === 'rows' ? 'kept their current values' : 'were left at their defaults'}`);
        }
      });
    });

  snapshot
    .command('drop')
    .description('delete a snapshot and its data')
    .argument('<id>')
    .action(async (id: string, _opts: unknown, command: Command) => {
      await withContext(
        command,
        async ({ config, out, database }) => {
          await dropSnapshot(database.pool, id, { schema: config.schema, url: database.url });
          out.result({ dropped: [id] });
          out.line(`dropped snapshot ${id}`);
        },
        { mutating: 'snapshot' },
      );
    });

  snapshot
    .command('prune')
    .description('drop old snapshots: all but the newest N, and/or those older than a duration')
    .option('--keep <n>', 'keep the newest N snapshots')
    .option('--older-than <duration>', 'drop snapshots older than this (e.g. 7d, 12h)')
    .action(async (opts: { keep?: string; olderThan?: string }, command: Command) => {
      const keep = opts.keep === undefined ? undefined : parseKeep(opts.keep);
      const olderThanMs = opts.olderThan === undefined ? undefined : parseDuration(opts.olderThan, '--older-than');
      if (keep === undefined && olderThanMs === undefined) throw new UsageError('prune needs --keep N or --older-than DURATION', 'e.g. migrate snapshot prune --keep 5');
      await withContext(
        command,
        async ({ config, out, database }) => {
          const dropped = await pruneSnapshots(database.pool, { schema: config.schema, keep, olderThanMs, url: database.url });
          out.result({ dropped });
          out.line(dropped.length === 0 ? 'nothing to prune' : `dropped ${dropped.length} snapshot(s): ${dropped.join(', ')}`);
        },
        { mutating: 'snapshot' },
      );
    });
}

/**
 * Run `fn` holding the migrate lock. create and restore take it here rather
 * than through withContext's `mutating`, because the clone strategy must run
 * without it (see register).
 */
async function locked<T>(ctx: CommandContext, fn: () => Promise<T>): Promise<T> {
  const lock = await acquireMigrateLock(ctx.database.pool, ctx.config.schema, { command: 'snapshot', waitMs: ctx.config.lockWaitMs });
  try {
    return await fn();
  } finally {
    await lock.release();
  }
}

function snapshotDir(ctx: CommandContext): string {
  return path.resolve(ctx.config.root, ctx.config.snapshots.dir);
}

function splitList(value: string | undefined): string[] | undefined {
  const parts = value?.split(',').map((s) => s.trim()).filter(Boolean);
  return parts && parts.length > 0 ? parts : undefined;
}

/** Single-quote for a POSIX shell, for commands we suggest. */
function shellQuote(s: string): string {
  return /^[\w.,=:@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

function parseKeep(value: string): number {
  if (!/^\d+$/.test(value.trim())) throw new UsageError(`--keep must be a whole number, got "${value}"`);
  return Number(value);
}

function describe(out: CommandContext['out'], s: SnapshotRecord): void {
  out.line(`snapshot  ${out.color.bold(s.id)}`);
  out.line(`strategy  ${s.strategy} (${s.status})`);
  out.line(`created   ${s.createdAt.toISOString()} by ${s.actor}`);
  if (s.migration || s.phase) out.line(`migration ${s.migration ?? '-'}${s.phase ? ` (${s.phase})` : ''}`);
  if (s.reason) out.line(`reason    ${s.reason}`);
  out.line(`location  ${s.location}`);
}

function signed(n: number): string {
  return n > 0 ? `+${n}` : String(n);
}

function formatBytes(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(1)} ${units[i]}`;
}
