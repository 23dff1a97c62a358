/**
 * Column constraints added the online way: CHECK and FOREIGN KEY as NOT VALID
 * in expand and VALIDATEd in contract; NOT NULL as a NOT VALID check that
 * contract validates, turns into SET NOT NULL (which then skips the scan) and
 * drops; UNIQUE as an index built CONCURRENTLY after the backfill and attached
 * as a constraint in contract.
 */
import { z } from 'zod';
import { quoteIdent, quoteQualified } from '../db/identifiers.js';
import type { TableShape } from '../db/catalog.js';
import { exprSql, expressionSchema, generatedName, identSchema, qt, step, tableName, tableRefSchema, validateStep } from './common.js';
import type { PlanContext, Step, TableName } from './operation.js';
import type { Expression } from './sql.js';

const action = z.enum(['NO ACTION', 'RESTRICT', 'CASCADE', 'SET NULL', 'SET DEFAULT']);
export type ReferentialAction = z.infer<typeof action>;

/** `references: { table: 'users', column: 'id', onDelete: 'CASCADE' }` */
export interface ReferencesOptions {
  table: string;
  column: string;
  name?: string;
  onDelete?: ReferentialAction;
  onUpdate?: ReferentialAction;
}

/** `check: sql\`price > 0\`` or `{ name, expression }`. */
export type CheckOption = Expression | { name?: string; expression: Expression };

export const referencesSchema = z.strictObject({
  table: tableRefSchema,
  column: identSchema,
  name: identSchema.optional(),
  onDelete: action.optional(),
  onUpdate: action.optional(),
});

export const checkSchema = z.union([expressionSchema, z.strictObject({ name: identSchema.optional(), expression: expressionSchema })]);

export const uniqueSchema = z.union([z.boolean(), z.strictObject({ name: identSchema.optional() })]);

/** Constraints a new or altered column may carry. */
export interface ColumnConstraints {
  notNull?: boolean;
  check?: CheckOption;
  unique?: boolean | { name?: string };
  references?: ReferencesOptions;
}

/** Steps for constraints on `physical` (the column during expand), named after `final` (its name after contract). */
export interface ConstraintSteps {
  expand: Step[];
  afterBackfill: Step[];
  /** Run before the old column goes away (they name the physical column). */
  contractBefore: Step[];
  /** Run after it (attaching names that the old column's objects held). */
  contractAfter: Step[];
  abort: Step[];
  /** Drops of the constraints themselves: needed only when the column survives abort (in-place changes). */
  abortConstraints: Step[];
}

/** Build the steps; names avoid the table's existing constraints and indexes. */
export function constraintSteps(
  ctx: PlanContext,
  table: TableShape,
  physical: string,
  final: string,
  c: ColumnConstraints,
): ConstraintSteps {
  const t: TableName = { schema: table.schema, name: table.name };
  const out: ConstraintSteps = { expand: [], afterBackfill: [], contractBefore: [], contractAfter: [], abort: [], abortConstraints: [] };
  const dropConstraint = (name: string) =>
    step(`drop constraint ${name}`, `ALTER TABLE ${qt(t)} DROP CONSTRAINT IF EXISTS ${quoteIdent(name)}`, 'ACCESS EXCLUSIVE');
  const taken = new Set(table.constraints.map((k) => k.name));
  const free = (base: string) => {
    let name = generatedName(base);
    for (let i = 1; taken.has(name); i++) name = generatedName(base, String(i));
    taken.add(name);
    return name;
  };
  const col = quoteIdent(physical);
  if (c.notNull) {
    const nn = generatedName('_curtain_nn', ctx.migration, table.name, final);
    // After the backfill, not in expand: a CHECK is tested on every UPDATE of the
    // row, and the trigger only fires for updates of the involved columns, so an
    // unrelated update of a not-yet-backfilled row would fail against it.
    out.afterBackfill.push(
      step(`add NOT NULL check (not valid) on ${table.name}.${physical}`, `ALTER TABLE ${qt(t)} ADD CONSTRAINT ${quoteIdent(nn)} CHECK (${col} IS NOT NULL) NOT VALID`, 'ACCESS EXCLUSIVE'),
    );
    out.abortConstraints.push(dropConstraint(nn));
    out.contractBefore.push(
      validateStep(`validate NOT NULL check on ${table.name}.${physical}`, qt(t), nn),
      step(`set NOT NULL on ${table.name}.${physical} (uses the validated check, no scan)`, `ALTER TABLE ${qt(t)} ALTER COLUMN ${col} SET NOT NULL`, 'ACCESS EXCLUSIVE'),
      step(`drop the NOT NULL check`, `ALTER TABLE ${qt(t)} DROP CONSTRAINT ${quoteIdent(nn)}`, 'ACCESS EXCLUSIVE'),
    );
  }
  if (c.check !== undefined) {
    const given = typeof c.check === 'object' && 'expression' in c.check ? c.check : { expression: c.check as Expression };
    const name = given.name ?? free(`${table.name}_${final}_check`);
    out.expand.push(
      step(`add check ${name} (not valid)`, `ALTER TABLE ${qt(t)} ADD CONSTRAINT ${quoteIdent(name)} CHECK ${exprSql(given.expression)} NOT VALID`, 'ACCESS EXCLUSIVE'),
    );
    out.abortConstraints.push(dropConstraint(name));
    out.contractBefore.push(validateStep(`validate check ${name}`, qt(t), name));
  }
  if (c.references) {
    const r = c.references;
    const ref = tableName(r.table, ctx.defaultSchema);
    const name = r.name ?? free(`${table.name}_${final}_fkey`);
    const actions = `${r.onDelete ? ` ON DELETE ${r.onDelete}` : ''}${r.onUpdate ? ` ON UPDATE ${r.onUpdate}` : ''}`;
    out.expand.push(
      step(
        `add foreign key ${name} (not valid)`,
        `ALTER TABLE ${qt(t)} ADD CONSTRAINT ${quoteIdent(name)} FOREIGN KEY (${col}) REFERENCES ${quoteQualified(ref.schema, ref.name)} (${quoteIdent(r.column)})${actions} NOT VALID`,
        'SHARE ROW EXCLUSIVE',
      ),
    );
    out.abortConstraints.push(dropConstraint(name));
    out.contractBefore.push(validateStep(`validate foreign key ${name}`, qt(t), name));
  }
  if (c.unique) {
    const name = (typeof c.unique === 'object' ? c.unique.name : undefined) ?? `${table.name}_${final}_key`;
    const idx = generatedName('_curtain_uq', ctx.migration, table.name, final);
    const qi = quoteQualified(t.schema, idx);
    out.afterBackfill.push(
      step(
        `build unique index for ${table.name}.${physical} concurrently`,
        `CREATE UNIQUE INDEX CONCURRENTLY ${quoteIdent(idx)} ON ${qt(t)} (${col})`,
        'SHARE UPDATE EXCLUSIVE',
        false,
        `DROP INDEX CONCURRENTLY IF EXISTS ${qi}`,
      ),
    );
    out.contractAfter.push(
      step(`attach unique constraint ${name}`, `ALTER TABLE ${qt(t)} ADD CONSTRAINT ${quoteIdent(name)} UNIQUE USING INDEX ${quoteIdent(idx)}`, 'ACCESS EXCLUSIVE'),
    );
    out.abort.push(step(`drop unique index ${idx}`, `DROP INDEX CONCURRENTLY IF EXISTS ${qi}`, 'SHARE UPDATE EXCLUSIVE', false));
  }
  return out;
}
