/**
 * A foreign key whose referencing table is partitioned. PostgreSQL (before
 * 18) refuses `NOT VALID` on a partitioned table, and a plain ADD CONSTRAINT
 * scans every partition while holding SHARE ROW EXCLUSIVE on them and on the
 * referenced table (writes to both wait for the whole scan). What it allows:
 * add the constraint NOT VALID on each partition (brief), VALIDATE each one
 * (a scan under SHARE UPDATE EXCLUSIVE: writes go on), then add it to the
 * parent, which attaches the partitions' validated constraints instead of
 * scanning: a short SHARE ROW EXCLUSIVE on the parent and its partitions and
 * an ACCESS EXCLUSIVE on the referenced table, bounded by the lock timeout.
 * Partitions created after expand get the constraint when it reaches the parent.
 */
import type { TableShape } from '../db/catalog.js';
import { quoteIdent, quoteQualified } from '../db/identifiers.js';
import { qt, step, validateStep } from './common.js';
import type { Step } from './operation.js';

export interface ForeignKeySteps {
  /** NOT VALID on each partition (or on the table). */
  add: Step[];
  /** VALIDATE scans, each in its own transaction. */
  validate: Step[];
  /** For a partitioned table: the constraint on the parent, attaching the validated ones. */
  attach: Step[];
  abort: Step[];
}

/**
 * The steps of foreign key `name` (`FOREIGN KEY (...) REFERENCES ...`) on `table`.
 *
 * @example
 * foreignKeySteps(payment, 'payment_customer_fkey', 'FOREIGN KEY ("customer_id") REFERENCES "public"."customer" ("id")');
 */
export function foreignKeySteps(table: TableShape, name: string, definition: string): ForeignKeySteps {
  const t = { schema: table.schema, name: table.name };
  const q = quoteIdent(name);
  if (table.kind !== 'p') {
    return {
      add: [step(`add foreign key ${name} (not valid)`, `ALTER TABLE ${qt(t)} ADD CONSTRAINT ${q} ${definition} NOT VALID`, 'SHARE ROW EXCLUSIVE')],
      validate: [validateStep(`validate foreign key ${name}`, qt(t), name)],
      attach: [],
      abort: [step(`drop foreign key ${name}`, `ALTER TABLE ${qt(t)} DROP CONSTRAINT IF EXISTS ${q}`, 'SHARE ROW EXCLUSIVE')],
    };
  }
  const parts = table.partitions ?? [];
  return {
    add: parts.map((p) =>
      step(`add foreign key ${name} on partition ${p.name} (not valid)`, `ALTER TABLE ${quoteQualified(p.schema, p.name)} ADD CONSTRAINT ${q} ${definition} NOT VALID`, 'SHARE ROW EXCLUSIVE'),
    ),
    validate: parts.map((p) => validateStep(`validate foreign key ${name} on partition ${p.name}`, quoteQualified(p.schema, p.name), name)),
    attach: [
      step(
        `add foreign key ${name} to the partitioned table (attaches the validated partitions' constraints, no scan)`,
        `ALTER TABLE ${qt(t)} ADD CONSTRAINT ${q} ${definition} -- curtain:allow constraint-missing-not-valid every partition's constraint is already validated: this attaches them without a scan`,
        'SHARE ROW EXCLUSIVE',
      ),
    ],
    abort: [
      step(`drop foreign key ${name} from the partitioned table`, `ALTER TABLE ${qt(t)} DROP CONSTRAINT IF EXISTS ${q}`, 'SHARE ROW EXCLUSIVE'),
      ...parts.map((p) => step(`drop foreign key ${name} of partition ${p.name}`, `ALTER TABLE ${quoteQualified(p.schema, p.name)} DROP CONSTRAINT IF EXISTS ${q}`, 'SHARE ROW EXCLUSIVE')),
    ],
  };
}
