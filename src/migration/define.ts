import type { Kysely } from 'kysely';

/** What a custom phase function receives. */
export interface PhaseContext {
  /** A Kysely instance bound to the phase's transaction. */
  db: Kysely<any>;
  /** Run raw SQL in the phase's transaction. */
  query<R extends Record<string, unknown> = Record<string, unknown>>(text: string, values?: unknown[]): Promise<{ rows: R[] }>;
}

/** A custom expand, contract or abort step. */
export type PhaseFunction = (ctx: PhaseContext) => Promise<void> | void;

/** The minimum every operation object has; the full interface lives in src/ops. */
export interface OperationLike {
  readonly kind: string;
}

/** What a migration file's default export describes. */
export interface MigrationDefinition<Op extends OperationLike = OperationLike> {
  /** The flag that switches to the new state; defaults to the file's name (without the timestamp). */
  flag?: string;
  description?: string;
  /** Declarative schema changes (see `op`). */
  operations?: readonly Op[];
  /** Custom additive work, run in expand's transaction after the operations. */
  expand?: PhaseFunction;
  /** Custom destructive work, run in contract's transaction after the operations. */
  contract?: PhaseFunction;
  /** Undo `expand`, run in abort's transaction before the operations are undone. */
  abort?: PhaseFunction;
  /** Per-migration snapshot settings; default to the configuration's. */
  snapshot?: { beforeSwitch?: boolean; beforeContract?: boolean; tables?: string[] };
}

const BRAND = Symbol.for('curtain.migration');

/** A validated migration definition, as returned by {@link defineMigration}. */
export type Migration = MigrationDefinition & { readonly [BRAND]: true };

/**
 * Declare a migration. A migration without operations and custom functions is
 * a code migration: it only owns a flag.
 *
 * @example
 * export default defineMigration({
 *   description: 'Split users.full_name',
 *   operations: [op.addColumn('users', { name: 'first_name', type: 'text', up: sql`split_part(full_name, ' ', 1)` })],
 * });
 */
export function defineMigration<Op extends OperationLike>(definition: MigrationDefinition<Op>): Migration {
  return Object.freeze({ ...definition, [BRAND]: true as const }) as Migration;
}

/** True for objects made by {@link defineMigration}. */
export function isMigration(value: unknown): value is Migration {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
}

/** A code migration has a flag and nothing else to do to the database. */
export function isCodeMigration(m: MigrationDefinition): boolean {
  return (m.operations?.length ?? 0) === 0 && !m.expand && !m.contract && !m.abort;
}
