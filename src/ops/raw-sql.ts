import { z } from 'zod';
import { emptyOperationPlan, expressionSchema, parseOptions, step } from './common.js';
import type { LockMode, Operation } from './operation.js';
import { expressionText, type Expression } from './sql.js';

/** Options of {@link rawSql}. */
export interface SqlOperationOptions {
  /** Run in expand. */
  up: Expression;
  /** Run on abort: must undo `up` exactly. Without it abort cannot undo this operation. */
  down?: Expression;
  /** Run in contract. */
  onContract?: Expression;
  /** False for statements PostgreSQL refuses in a transaction (CREATE INDEX CONCURRENTLY, ...). Default true. */
  transactional?: boolean;
  /** The strongest lock the statements take, for `migrate plan` (default ACCESS EXCLUSIVE: assume the worst). */
  lock?: LockMode;
  /** `schema.table.column` entries this SQL changes, for the in-flight conflict check. */
  touches?: string[];
}

const schema = z.strictObject({
  up: expressionSchema,
  down: expressionSchema.optional(),
  onContract: expressionSchema.optional(),
  transactional: z.boolean().optional(),
  lock: z
    .enum(['ACCESS EXCLUSIVE', 'EXCLUSIVE', 'SHARE ROW EXCLUSIVE', 'SHARE', 'SHARE UPDATE EXCLUSIVE', 'ROW EXCLUSIVE', 'ROW SHARE', 'ACCESS SHARE', 'none'])
    .optional(),
  touches: z.array(z.string()).optional(),
});

/**
 * Raw SQL for what the operations do not cover.
 *
 * @example
 * op.sql({ up: 'CREATE EXTENSION IF NOT EXISTS citext', down: 'DROP EXTENSION IF EXISTS citext' })
 */
export function rawSql(options: SqlOperationOptions): Operation {
  const label = 'op.sql()';
  const o = parseOptions(label, schema, options) as SqlOperationOptions;
  const tx = o.transactional ?? true;
  const lock = o.lock ?? 'ACCESS EXCLUSIVE';
  return {
    kind: 'sql',
    label,
    needs: () => ({ tables: [] }),
    validate() {},
    plan() {
      const p = emptyOperationPlan();
      p.expand.push({ ...step('raw SQL (up)', expressionText(o.up), lock, tx), origin: 'user' });
      if (o.down !== undefined) p.abort.push({ ...step('raw SQL (down)', expressionText(o.down), lock, tx), origin: 'user' });
      if (o.onContract !== undefined) p.contract.push({ ...step('raw SQL (on contract)', expressionText(o.onContract), lock, tx), origin: 'user' });
      p.touches.push(...(o.touches ?? []));
      return p;
    },
  };
}
