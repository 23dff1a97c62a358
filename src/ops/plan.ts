import { readCatalog, tableKey, type Catalog, type TableShape } from '../db/catalog.js';
import { readDefinitions } from '../db/definitions.js';
import { describeTarget, findDependents, type Dependent } from '../db/dependents.js';
import type { Queryable } from '../db/queryable.js';
import { rewriteOnColumn } from '../db/rewrite.js';
import { rewriteKey } from './rebuild-indexes.js';
import { step, withColumn } from './common.js';
import { emptyPlan, type BackfillTask, type MigrationPlan, type Operation, type OperationPlan, type PlanContext, type Step, type SyncPair, type TableName } from './operation.js';
import { dualWriteTrigger, type DualWriteTrigger } from './triggers.js';

/** What {@link planMigration} needs besides the operations. */
export interface PlanMigrationContext {
  /** Where to read the catalog. */
  db: Queryable;
  migration: string;
  flag: string;
  /** The curtain schema. */
  schema: string;
  /** Schema for unqualified table names (default `public`). */
  defaultSchema?: string;
}

/**
 * Read the live shape of every table the operations touch, validate each
 * operation against it (in order: later operations see what earlier ones
 * add), and merge their plans into one {@link MigrationPlan} with one
 * dual-write trigger per table.
 *
 * @example
 * const plan = await planMigration([op.renameColumn('users', 'email', 'email_address')],
 *   { db: pool, migration: '20240101_rename_email', flag: 'users.email-address', schema: 'curtain' });
 * plan.expand.map((s) => s.sql);
 */
export async function planMigration(operations: readonly Operation[], ctx: PlanMigrationContext): Promise<MigrationPlan> {
  const defaultSchema = ctx.defaultSchema ?? 'public';
  const tables: TableName[] = [];
  const indexes: TableName[] = [];
  for (const o of operations) {
    const n = o.needs(defaultSchema);
    tables.push(...n.tables);
    indexes.push(...(n.indexes ?? []));
  }
  const catalog = await readCatalog(ctx.db, tables, indexes);
  await readDependents(ctx.db, catalog, operations, defaultSchema, ctx.schema);
  return planFromCatalog(operations, { catalog, migration: ctx.migration, flag: ctx.flag, curtainSchema: ctx.schema, defaultSchema });
}

/**
 * What depends on each object the operations drop or replace, and the
 * definitions contract needs to re-create it, read into the catalog so the
 * planners stay free of database access.
 */
async function readDependents(db: Queryable, catalog: Catalog, operations: readonly Operation[], defaultSchema: string, curtainSchema: string): Promise<void> {
  for (const m of operations.flatMap((o) => o.moves?.(defaultSchema) ?? [])) {
    const shape = catalog.tables.get(tableKey(m.table));
    const column = shape?.columns.find((c) => c.name === m.from);
    if (!shape || !column) continue; // the planner reports it
    catalog.rewrites ??= new Map();
    catalog.rewrites.set(rewriteKey(m.table, m.from, m.to), await rewriteOnColumn(db, shape, m.from, m.to, m.type ?? column.type));
  }
  const targets = operations.flatMap((o) => o.drops?.(defaultSchema) ?? []);
  if (targets.length === 0) return;
  catalog.dependents = new Map();
  const all: Dependent[] = [];
  for (const t of targets) {
    const deps = await findDependents(db, [t], { skipSchemas: [curtainSchema] });
    catalog.dependents.set(describeTarget(t), deps);
    all.push(...deps);
    // A replaced view's own definition (owner, grants, options) is needed too.
    if (t.kind === 'table') {
      const { rows } = await db.query<{ oid: number }>(
        `SELECT c.oid::int AS oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('v', 'm')`,
        [t.schema, t.name],
      );
      if (rows[0]) all.push({ kind: 'view', schema: t.schema, name: t.name, on: '', certainty: 'depends', object: { catalog: 'pg_class', oid: rows[0].oid } });
    }
  }
  catalog.definitions = await readDefinitions(db, all);
}

/**
 * The database-free half of {@link planMigration}: plan against a given catalog.
 *
 * @example
 * const plan = planFromCatalog(ops, { catalog, migration: 'm1', flag: 'm1', curtainSchema: 'curtain', defaultSchema: 'public' });
 */
export function planFromCatalog(operations: readonly Operation[], context: PlanContext): MigrationPlan {
  // A private copy: planning simulates each operation's effect for the next ones.
  const catalog: Catalog = { ...context.catalog, tables: new Map(context.catalog.tables), indexes: new Map(context.catalog.indexes) };
  const replacedViews = new Set(operations.flatMap((o) => (o.replacesView ? [o.replacesView(context.defaultSchema)] : [])));
  const ctx: PlanContext = { ...context, catalog, replacedViews };
  const plans: OperationPlan[] = [];
  for (const o of operations) {
    o.validate(ctx);
    const p = o.plan(ctx);
    plans.push(p);
    simulate(catalog, p);
  }
  return merge(ctx, plans);
}

function simulate(catalog: Catalog, p: OperationPlan): void {
  for (const t of p.addsTables ?? []) catalog.tables.set(tableKey(t), t);
  for (const c of p.addsColumns ?? []) {
    const shape = catalog.tables.get(tableKey(c.table));
    if (shape) catalog.tables.set(tableKey(c.table), withColumn(shape, c));
  }
}

function merge(ctx: PlanContext, plans: OperationPlan[]): MigrationPlan {
  const plan = emptyPlan();
  const first: Step[] = [];
  const pairs = new Map<string, { table: TableName; pairs: SyncPair[] }>();
  const tasks = new Map<string, BackfillTask[]>();
  for (const p of plans) {
    plan.expand.push(...p.expand);
    plan.afterBackfill.push(...p.afterBackfill);
    plan.contract.push(...p.contract);
    for (const s of p.sync) {
      const k = tableKey(s.table);
      if (!pairs.has(k)) pairs.set(k, { table: s.table, pairs: [] });
      pairs.get(k)!.pairs.push(s.pair);
    }
    for (const b of p.backfill) {
      const k = tableKey(b.table);
      if (!tasks.has(k)) tasks.set(k, []);
      tasks.get(k)!.push(b);
    }
    plan.touches.push(...p.touches);
    plan.affectedTables.push(...p.affectedTables);
    plan.reads.push(...(p.reads ?? []));
    plan.warnings.push(...(p.warnings ?? []));
    first.push(...(p.contractFirst ?? []));
  }
  // Abort undoes operations in reverse order.
  for (const p of [...plans].reverse()) plan.abort.push(...p.abort);

  const triggers: DualWriteTrigger[] = [];
  for (const [key, { table, pairs: ps }] of pairs) {
    const shape = ctx.catalog.tables.get(key) as TableShape;
    const trg = dualWriteTrigger(ctx.migration, shape, ps);
    triggers.push(trg);
    plan.expand.push(
      step(`dual-write function for ${table.name}`, trg.functionSql('old'), 'none'),
      step(`dual-write trigger on ${table.name}`, trg.createTriggerSql, 'SHARE ROW EXCLUSIVE'),
    );
  }
  const drops: Step[] = triggers.map((t) => step(`drop dual-write trigger ${t.triggerName}`, t.dropSql, 'SHARE ROW EXCLUSIVE'));
  // VALIDATE scans run first, each in its own transaction, while the triggers still keep
  // both sides filled; the triggers go in the same transaction that drops the old side,
  // so no writer ever meets the old column without the trigger that fills it.
  const validates = plan.contract.filter((x) => x.ownTransaction);
  // View replacements run before any operation drops what the old view definitions read.
  plan.contract = [...validates, ...drops, ...first, ...plan.contract.filter((x) => !x.ownTransaction)];
  plan.abort.unshift(...drops);
  plan.authority = (side) =>
    triggers.map((t) => step(`make the ${side} side authoritative in ${t.functionName}`, t.functionSql(side), 'none'));

  for (const list of tasks.values()) {
    const first = list[0]!;
    const rechecks = list.flatMap((b) => (b.recheck === undefined ? [] : [b.recheck]));
    plan.backfill.push({
      table: first.table,
      set: Object.assign({}, ...list.map((b) => b.set)),
      outOfSync: list.length === 1 ? first.outOfSync : list.map((b) => `(${b.outOfSync})`).join(' OR '),
      ...(rechecks.length === 0 ? {} : { recheck: rechecks.length === 1 ? rechecks[0] : rechecks.map((r) => `(${r})`).join(' OR ') }),
    });
  }
  plan.touches = [...new Set(plan.touches)];
  plan.reads = [...new Set(plan.reads)].filter((r) => !plan.touches.includes(r));
  plan.warnings = [...new Set(plan.warnings)];
  const seen = new Set<string>();
  plan.affectedTables = plan.affectedTables.filter((t) => !seen.has(tableKey(t)) && seen.add(tableKey(t)) !== undefined);
  return plan;
}
