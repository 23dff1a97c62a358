import { quoteIdent } from '../db/identifiers.js';
import { emptyOperationPlan, identSchema, parseOptions, qt, requireColumn, requireNoColumn, requireTable, step, tableName, tableRefSchema, touch } from './common.js';
import { constraintSteps } from './constraints.js';
import { moveDependents, qualified } from './dependents.js';
import { OperationError } from './errors.js';
import type { Operation } from './operation.js';
import { rebuildIndexes } from './rebuild-indexes.js';

/**
 * Rename a column without breaking old code. Expand adds the column under its
 * NEW name (same type, default, nullability) and keeps both in sync both ways;
 * contract drops the old one. New code uses the new name from the start, and
 * it stays valid after contract: nothing is renamed under a running writer.
 * Plain indexes and unique constraints on the column are rebuilt on the new
 * one and take their original names in contract.
 *
 * @example
 * op.renameColumn('users', 'email', 'email_address')
 */
export function renameColumn(table: string, from: string, to: string): Operation {
  const label = `op.renameColumn(${JSON.stringify(table)}, ${JSON.stringify(from)}, ${JSON.stringify(to)})`;
  parseOptions(label, tableRefSchema, table);
  parseOptions(label, identSchema, from);
  parseOptions(label, identSchema, to);
  return {
    kind: 'renameColumn',
    label,
    needs: (s) => ({ tables: [tableName(table, s)] }),
    drops: (s) => [{ kind: 'column', ...qualified(tableName(table, s)), column: from }],
    moves: (s) => [{ table: tableName(table, s), from, to }],
    validate(ctx) {
      const shape = requireTable(ctx, label, tableName(table, ctx.defaultSchema));
      const c = requireColumn(label, shape, from);
      requireNoColumn(label, shape, to);
      if (c.identity || c.generated) {
        throw new OperationError(label, `column "${from}" is ${c.identity ? 'an identity' : 'a generated'} column; curtain cannot keep a copy of it in sync`);
      }
      rebuildIndexes(ctx, label, shape, from, to); // throws on what cannot move
      moveDependents(ctx, label, { table: tableName(table, ctx.defaultSchema), from, to, final: to });
    },
    plan(ctx) {
      const t = tableName(table, ctx.defaultSchema);
      const shape = requireTable(ctx, label, t);
      const a = requireColumn(label, shape, from);
      const p = emptyOperationPlan();
      // A volatile default (nextval, gen_random_uuid) would give B a value different from A's:
      // B gets it in contract, the trigger fills B meanwhile.
      const def = a.default !== undefined && !a.defaultVolatile ? a.default : undefined;
      p.expand.push(
        step(
          `add column ${t.name}.${to} (the new name of ${from})`,
          `ALTER TABLE ${qt(t)} ADD COLUMN ${quoteIdent(to)} ${a.type}${def !== undefined ? ` DEFAULT ${def}` : ''}`,
          'ACCESS EXCLUSIVE',
        ),
      );
      p.sync.push({ table: t, pair: { old: from, new: to, up: quoteIdent(from), down: quoteIdent(to), upDeps: [], downDeps: [] } });
      const differs = `${quoteIdent(to)} IS DISTINCT FROM ${quoteIdent(from)}`;
      p.backfill.push({ table: t, set: { [to]: quoteIdent(from) }, outOfSync: differs, recheck: differs });
      const k = constraintSteps(ctx, shape, to, to, { notNull: a.notNull });
      const ix = rebuildIndexes(ctx, label, shape, from, to);
      p.expand.push(...k.expand);
      p.afterBackfill.push(...k.afterBackfill, ...ix.afterBackfill);
      // Views, SQL functions, policies, triggers and rules on the old column are re-created on the new one.
      const moved = moveDependents(ctx, label, { table: t, from, to, final: to });
      p.warnings = moved.warnings;
      p.contract.push(
        ...k.contractBefore,
        ...ix.contractBefore,
        ...(moved.contract ?? [step(`drop column ${t.name}.${from}`, `ALTER TABLE ${qt(t)} DROP COLUMN ${quoteIdent(from)}`, 'ACCESS EXCLUSIVE')]),
        ...ix.contractAfter,
      );
      if (a.default !== undefined && a.defaultVolatile) {
        p.contract.push(step(`set default of ${t.name}.${to}`, `ALTER TABLE ${qt(t)} ALTER COLUMN ${quoteIdent(to)} SET DEFAULT ${a.default}`, 'ACCESS EXCLUSIVE'));
      }
      p.abort.push(...ix.abort, step(`drop column ${t.name}.${to}`, `ALTER TABLE ${qt(t)} DROP COLUMN IF EXISTS ${quoteIdent(to)}`, 'ACCESS EXCLUSIVE'));
      p.touches.push(touch(t, from), touch(t, to));
      p.reads = ix.reads;
      p.affectedTables.push(t);
      p.addsColumns = [{ table: t, name: to, type: a.type, ...(def !== undefined ? { default: def } : {}), notNull: false }];
      return p;
    },
  };
}
