import path from 'node:path';
import { quoteLiteral, quoteQualified } from '../db/identifiers.js';
import { createSnapshot } from '../snapshots/index.js';
import { reusableSnapshot } from '../snapshots/catalog.js';
import type { LifecycleContext } from './context.js';
import type { LoadedMigration } from './loader.js';
import type { Program } from './program.js';

/** Which automatic snapshot: before switch turns the flag on, or before contract drops anything. */
export type AutoSnapshotPoint = 'switch' | 'contract';

/**
 * Whether an automatic snapshot is due: the migration's own setting wins over
 * the configuration; `override` (from `--no-snapshot`) wins over both.
 */
export function snapshotWanted(point: AutoSnapshotPoint, migration: LoadedMigration, ctx: LifecycleContext, override?: boolean): boolean {
  if (override !== undefined) return override;
  const own = point === 'switch' ? migration.definition.snapshot?.beforeSwitch : migration.definition.snapshot?.beforeContract;
  return own ?? (point === 'switch' ? ctx.config.snapshots.beforeSwitch : ctx.config.snapshots.beforeContract);
}

/**
 * The tables a migration's snapshot holds: its own `snapshot.tables`, else
 * the tables contract destroys or rewrites (and, before switch, every table
 * whose columns it touches), as far as they exist.
 */
export async function snapshotTables(point: AutoSnapshotPoint, migration: LoadedMigration, plan: Program, ctx: LifecycleContext): Promise<string[]> {
  const wanted = new Set<string>(migration.definition.snapshot?.tables ?? []);
  if (wanted.size === 0) {
    for (const t of plan.affectedTables) wanted.add(`${t.schema}.${t.name}`);
    if (point === 'switch') {
      for (const touch of plan.touches) {
        const [schema, table] = touch.split('.');
        if (schema && table) wanted.add(`${schema}.${table}`);
      }
    }
  }
  const existing: string[] = [];
  for (const name of wanted) {
    const [schema, table] = name.includes('.') ? name.split('.') : ['public', name];
    // Only real tables: after a renameTable expand, the old name is a view.
    const { rows } = await ctx.pool.query(
      `SELECT 1 FROM pg_class WHERE oid = to_regclass(${quoteLiteral(quoteQualified(schema, table))}) AND relkind IN ('r', 'p')`,
    );
    if (rows.length > 0) existing.push(`${schema}.${table}`);
  }
  return existing;
}

/**
 * Take a migration's automatic snapshot and return its id (undefined when
 * the migration touches no existing table, e.g. a code migration).
 *
 * @example
 * const id = await takeAutoSnapshot('contract', migration, plan, ctx);
 */
export async function takeAutoSnapshot(
  point: AutoSnapshotPoint,
  migration: LoadedMigration,
  plan: Program,
  ctx: LifecycleContext,
): Promise<string | undefined> {
  const tables = await snapshotTables(point, migration, plan, ctx);
  if (tables.length === 0) return undefined;
  // A command killed after its snapshot but before its own commit reuses that snapshot on the rerun.
  const reusable = await reusableSnapshot(ctx.pool, ctx.config.schema, migration.name, point);
  if (reusable) return reusable;
  const strategy = ctx.config.snapshots.strategy === 'clone' ? 'tables' : ctx.config.snapshots.strategy; // a clone is refused under our own connections
  const record = await createSnapshot(ctx.pool, {
    schema: ctx.config.schema,
    tables,
    strategy,
    reason: `before ${point} of ${migration.name}`,
    migration: migration.name,
    phase: point,
    actor: ctx.actor,
    dir: path.resolve(ctx.config.root, ctx.config.snapshots.dir),
  });
  return record.id;
}
