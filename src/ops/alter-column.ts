import { z } from 'zod';
import { quoteIdent } from '../db/identifiers.js';
import type { ColumnShape } from '../db/catalog.js';
import { referencedColumns } from './expression.js';
import {
  emptyOperationPlan, expressionSchema, generatedName, identSchema, looksVolatile, parseOptions, qt, rejectGeneratedReads, requireColumn, validateStep,
  requireNoColumn, requireTable, step, tableName, tableRefSchema, touch, typeSchema,
} from './common.js';
import { checkSchema, constraintSteps, referencesSchema, uniqueSchema, type CheckOption, type ReferencesOptions } from './constraints.js';
import { OperationError } from './errors.js';
import type { Operation, OperationPlan, PlanContext } from './operation.js';
import { renameNotNullSql } from './not-null-name.js';
import { rebuildIndexes } from './rebuild-indexes.js';
import { moveDependents, qualified } from './dependents.js';
import { expressionText, type Expression } from './sql.js';

/** Options of {@link alterColumn}; at least one must be given. */
export interface AlterColumnOptions {
  /** New type; needs `up`. */
  type?: string;
  /** The new value computed from the old row (bare column names). */
  up?: Expression;
  /** The old value computed from the new row; needed with `name` (new code then writes the new column). */
  down?: Expression;
  /**
   * The name new code uses for the new definition. With `name`, new code
   * reads and writes `name` from switch on and keeps doing so after contract
   * (contract only drops the old column). Without it, the new definition is
   * built in a hidden shadow column that contract swaps in under the
   * original name; new code keeps using the original name throughout (so it
   * sees the new type only after contract).
   */
  name?: string;
  nullable?: boolean;
  /** New default; `null` removes it. */
  default?: Expression | null;
  check?: CheckOption;
  unique?: boolean | { name?: string };
  references?: ReferencesOptions;
}

const schema = z
  .strictObject({
    type: typeSchema.optional(),
    up: expressionSchema.optional(),
    down: expressionSchema.optional(),
    name: identSchema.optional(),
    nullable: z.boolean().optional(),
    default: expressionSchema.nullable().optional(),
    check: checkSchema.optional(),
    unique: uniqueSchema.optional(),
    references: referencesSchema.optional(),
  })
  .refine((o) => Object.values(o).some((v) => v !== undefined), 'give at least one change (type, nullable, default, check, unique, references, name)');

/**
 * The hidden column holding the new definition until contract swaps it in.
 *
 * @example
 * shadowColumn('total') // '_curtain_new_total'
 */
export function shadowColumn(column: string): string {
  return generatedName('_curtain_new', column);
}

/**
 * Change a column's type, nullability, default or constraints online.
 *
 * @example
 * op.alterColumn('orders', 'total', { type: 'bigint', up: sql`total::bigint`, down: sql`total::integer` })
 * op.alterColumn('users', 'email', { nullable: false, up: sql`coalesce(email, 'unknown')` })
 */
export function alterColumn(table: string, column: string, options: AlterColumnOptions): Operation {
  const label = `op.alterColumn(${JSON.stringify(table)}, ${JSON.stringify(column)})`;
  parseOptions(label, tableRefSchema, table);
  parseOptions(label, identSchema, column);
  const o = parseOptions(label, schema, options) as AlterColumnOptions;
  const shadowed = o.type !== undefined || o.up !== undefined || o.name !== undefined;
  return {
    kind: 'alterColumn',
    label,
    needs: (s) => ({ tables: [tableName(table, s)] }),
    ...(shadowed
      ? {
          drops: (s: string) => [{ kind: 'column' as const, ...qualified(tableName(table, s)), column }],
          moves: (s: string) => [{ table: tableName(table, s), from: column, to: target(column), ...(o.type !== undefined ? { type: o.type } : {}) }],
        }
      : {}),
    validate(ctx) {
      const shape = requireTable(ctx, label, tableName(table, ctx.defaultSchema));
      const a = requireColumn(label, shape, column);
      if (o.type !== undefined && o.up === undefined) {
        throw new OperationError(label, `changing the type of "${column}" to ${o.type} needs \`up\` (the new value computed from the old row, e.g. sql\`${column}::${o.type}\`)`);
      }
      if (!shadowed) return;
      rejectGeneratedReads(label, shape, 'up', o.up);
      rejectGeneratedReads(label, shape, 'down', o.down);
      if (a.identity || a.generated) {
        throw new OperationError(label, `column "${column}" is ${a.identity ? 'an identity' : 'a generated'} column; curtain cannot shadow it`);
      }
      if (o.name !== undefined && o.name !== column) requireNoColumn(label, shape, o.name);
      if (o.name !== undefined && o.type !== undefined && o.down === undefined) {
        throw new OperationError(label, `with \`name\` and a new type, new code writes "${o.name}": give \`down\` to compute "${column}" from it`);
      }
      requireNoColumn(label, shape, shadowColumn(column));
      rebuildIndexes(ctx, label, shape, column, target(column)); // throws on what cannot move
      moveDependents(ctx, label, { table: tableName(table, ctx.defaultSchema), from: column, to: target(column), final: o.name !== undefined && o.name !== column ? o.name : column });
    },
    plan(ctx) {
      const t = tableName(table, ctx.defaultSchema);
      const shape = requireTable(ctx, label, t);
      const a = requireColumn(label, shape, column);
      return shadowed ? planShadow(ctx, label, a, o) : planInPlace(ctx, a, o);
    },
  };

  function target(c: string): string {
    return o.name !== undefined && o.name !== c ? o.name : shadowColumn(c);
  }

  function planShadow(ctx: PlanContext, label: string, a: ColumnShape, o: AlterColumnOptions): OperationPlan {
    const t = tableName(table, ctx.defaultSchema);
    const shape = requireTable(ctx, label, t);
    const p = emptyOperationPlan();
    const named = o.name !== undefined && o.name !== column;
    const b = target(column);
    const type = o.type ?? a.type;
    const given = o.default === undefined ? undefined : o.default === null ? null : expressionText(o.default);
    // A volatile default (nextval, gen_random_uuid) is attached on contract: on ADD COLUMN it would rewrite the table.
    const def = given === null ? undefined : given ?? a.default;
    const volatile = def !== undefined && (given !== undefined ? looksVolatile(def) : a.defaultVolatile);
    const columns = shape.columns.map((c) => c.name);
    const up = o.up !== undefined ? expressionText(o.up) : quoteIdent(column);
    const down = o.down !== undefined ? expressionText(o.down) : o.type === undefined ? quoteIdent(b) : undefined;
    p.expand.push(
      step(
        named ? `add column ${t.name}.${b} (new definition of ${column})` : `add shadow column ${t.name}.${b} for ${column}`,
        `ALTER TABLE ${qt(t)} ADD COLUMN ${quoteIdent(b)} ${type}${def !== undefined && !volatile ? ` DEFAULT ${def}` : ''}`,
        'ACCESS EXCLUSIVE',
      ),
    );
    const upDeps = referencedColumns(up, columns).filter((c) => c !== column);
    // Without `name`, new code writes the old column, so only old → new is needed.
    const pairDown = named && down !== undefined ? down : undefined;
    const downDeps = pairDown !== undefined ? referencedColumns(pairDown, [...columns, b]).filter((c) => c !== b) : [];
    p.sync.push({
      table: t,
      pair: { old: column, new: b, up: `(${up})`, ...(pairDown !== undefined ? { down: `(${pairDown})` } : {}), upDeps, downDeps },
    });
    const differs = `${quoteIdent(b)} IS DISTINCT FROM (${up})`;
    // A shadow column is only ever written by the trigger: it must still equal up(A) at contract.
    p.backfill.push({ table: t, set: { [b]: `(${up})` }, outOfSync: differs, ...(named ? {} : { recheck: differs }) });
    const k = constraintSteps(ctx, shape, b, named ? b : column, {
      notNull: o.nullable !== undefined ? !o.nullable : a.notNull,
      ...(o.check !== undefined ? { check: o.check } : {}),
      ...(o.unique !== undefined ? { unique: o.unique } : {}),
      ...(o.references !== undefined ? { references: o.references } : {}),
    });
    const ix = rebuildIndexes(ctx, label, shape, column, b);
    p.expand.push(...k.expand);
    p.afterBackfill.push(...k.afterBackfill, ...ix.afterBackfill);
    // Views, SQL functions, policies, triggers and rules on the old column are re-created on the new one.
    const moved = moveDependents(ctx, label, { table: t, from: column, to: b, final: named ? b : column });
    p.warnings = moved.warnings;
    if (moved.contract) {
      p.contract.push(...k.contractBefore, ...ix.contractBefore, ...moved.contract);
    } else {
      p.contract.push(...k.contractBefore, ...ix.contractBefore, step(`drop column ${t.name}.${column}`, `ALTER TABLE ${qt(t)} DROP COLUMN ${quoteIdent(column)}`, 'ACCESS EXCLUSIVE'));
      if (!named) {
        p.contract.push(step(`swap: rename ${b} to ${column}`, `ALTER TABLE ${qt(t)} RENAME COLUMN ${quoteIdent(b)} TO ${quoteIdent(column)};\n${renameNotNullSql(t, column)}`, 'ACCESS EXCLUSIVE'));
      }
    }
    p.contract.push(...ix.contractAfter, ...k.contractAfter);
    if (def !== undefined && volatile) {
      const finalName = named ? b : column;
      p.contract.push(step(`set default of ${t.name}.${finalName}`, `ALTER TABLE ${qt(t)} ALTER COLUMN ${quoteIdent(finalName)} SET DEFAULT ${def}`, 'ACCESS EXCLUSIVE'));
    }
    p.abort.push(...ix.abort, ...k.abort, step(`drop column ${t.name}.${b}`, `ALTER TABLE ${qt(t)} DROP COLUMN IF EXISTS ${quoteIdent(b)}`, 'ACCESS EXCLUSIVE'));
    p.touches.push(touch(t, column), touch(t, b), ...upDeps.map((d) => touch(t, d)), ...downDeps.map((d) => touch(t, d)));
    p.reads = ix.reads;
    p.affectedTables.push(t);
    p.addsColumns = [{ table: t, name: b, type, ...(def !== undefined && !volatile ? { default: def } : {}), notNull: false }];
    return p;
  }

  function planInPlace(ctx: PlanContext, a: ColumnShape, o: AlterColumnOptions): OperationPlan {
    const t = tableName(table, ctx.defaultSchema);
    const shape = requireTable(ctx, label, t);
    const p = emptyOperationPlan();
    const col = quoteIdent(column);
    const k = constraintSteps(ctx, shape, column, column, {
      notNull: o.nullable === false && !a.notNull,
      ...(o.check !== undefined ? { check: o.check } : {}),
      ...(o.unique !== undefined ? { unique: o.unique } : {}),
      ...(o.references !== undefined ? { references: o.references } : {}),
    });
    if (o.nullable === true && a.notNull) {
      // Relaxing is additive: new code may write NULL from switch on. Abort restores it (and fails if NULLs were written).
      p.expand.push(step(`drop NOT NULL on ${t.name}.${column}`, `ALTER TABLE ${qt(t)} ALTER COLUMN ${col} DROP NOT NULL`, 'ACCESS EXCLUSIVE'));
      // Through a validated CHECK, so SET NOT NULL does not scan the table under ACCESS EXCLUSIVE.
      const nn = quoteIdent(generatedName('_curtain_nn', ctx.migration, t.name, column));
      p.abort.push(
        step(`add NOT NULL check (not valid) on ${t.name}.${column}`, `ALTER TABLE ${qt(t)} ADD CONSTRAINT ${nn} CHECK (${col} IS NOT NULL) NOT VALID`, 'ACCESS EXCLUSIVE'),
        validateStep(`validate NOT NULL check on ${t.name}.${column}`, qt(t), generatedName('_curtain_nn', ctx.migration, t.name, column)),
        step(`restore NOT NULL on ${t.name}.${column} (uses the validated check, no scan)`, `ALTER TABLE ${qt(t)} ALTER COLUMN ${col} SET NOT NULL`, 'ACCESS EXCLUSIVE'),
        step(`drop the NOT NULL check`, `ALTER TABLE ${qt(t)} DROP CONSTRAINT ${nn}`, 'ACCESS EXCLUSIVE'),
      );
    }
    p.expand.push(...k.expand);
    p.afterBackfill.push(...k.afterBackfill);
    p.contract.push(...k.contractBefore, ...k.contractAfter);
    if (o.default !== undefined) {
      // Old code may rely on the old default until contract.
      p.contract.push(
        o.default === null
          ? step(`drop default of ${t.name}.${column}`, `ALTER TABLE ${qt(t)} ALTER COLUMN ${col} DROP DEFAULT`, 'ACCESS EXCLUSIVE')
          : step(`set default of ${t.name}.${column}`, `ALTER TABLE ${qt(t)} ALTER COLUMN ${col} SET DEFAULT ${expressionText(o.default)}`, 'ACCESS EXCLUSIVE'),
      );
    }
    p.abort.push(...k.abort, ...k.abortConstraints);
    p.touches.push(touch(t, column));
    return p;
  }
}
