/**
 * An index on a partitioned table, built without blocking writes. PostgreSQL
 * refuses CREATE INDEX CONCURRENTLY on a partitioned table, and a plain CREATE
 * INDEX on it locks every partition against writes for the whole build. So:
 * the parent's index is created `ON ONLY` the parent (no build; it stays
 * invalid), each partition's index is built CONCURRENTLY, and each is attached
 * to the parent's; once all are attached the parent's index is valid. A
 * unique index must include the partition key (PostgreSQL enforces uniqueness
 * per partition). Partitions created later get the index automatically.
 */
import type { TableShape } from '../db/catalog.js';
import { quoteIdent, quoteQualified } from '../db/identifiers.js';
import { generatedName, qt, step } from './common.js';
import { OperationError } from './errors.js';
import type { Step, TableName } from './operation.js';

/** Expand and abort steps for an index `name` with body `body` (`USING ... (...) INCLUDE ... WHERE ...`). */
export interface PartitionedIndexSteps {
  expand: Step[];
  abort: Step[];
}

/**
 * Plan the index on a partitioned table.
 *
 * @example
 * partitionedIndex(label, payment, 'payment_customer_idx', '("customer_id")', { unique: false, columns: ['customer_id'] });
 */
export function partitionedIndex(
  label: string,
  table: TableShape,
  name: string,
  body: string,
  o: { unique: boolean; columns: string[] },
): PartitionedIndexSteps {
  const t: TableName = { schema: table.schema, name: table.name };
  const key = table.partitionKey ?? [];
  if (o.unique) {
    const missing = key.filter((k) => k === null || !o.columns.includes(k));
    if (missing.length > 0) {
      throw new OperationError(
        label,
        `a unique index on partitioned table ${t.schema}.${t.name} must include its partition key (${key.map((k) => k ?? '(expression)').join(', ')}): PostgreSQL enforces uniqueness within each partition`,
        `add ${missing.filter((k): k is string => k !== null).join(', ') || 'the key'} to columns`,
      );
    }
  }
  const nested = (table.partitions ?? []).filter((p) => p.kind === 'p');
  if (nested.length > 0) {
    throw new OperationError(label, `partition ${nested[0]!.schema}.${nested[0]!.name} of ${t.schema}.${t.name} is itself partitioned; curtain builds indexes one partition level deep`);
  }
  const unique = o.unique ? 'UNIQUE ' : '';
  const parent = quoteQualified(t.schema, name);
  const expand: Step[] = [
    step(`create index ${name} on only the partitioned table (no build; valid once every partition's is attached)`, `CREATE ${unique}INDEX ${quoteIdent(name)} ON ONLY ${qt(t)} ${body}`, 'SHARE'),
  ];
  const abort: Step[] = [];
  for (const p of table.partitions ?? []) {
    const child = generatedName(name, p.name);
    const q = quoteQualified(p.schema, child);
    expand.push(
      step(`build index ${child} on partition ${p.name} concurrently`, `CREATE ${unique}INDEX CONCURRENTLY IF NOT EXISTS ${quoteIdent(child)} ON ${quoteQualified(p.schema, p.name)} ${body}`, 'SHARE UPDATE EXCLUSIVE', false, `DROP INDEX CONCURRENTLY IF EXISTS ${q}`),
      // Catalog-only; a brief lock on the two indexes.
      step(`attach ${child} to ${name}`, `ALTER INDEX ${parent} ATTACH PARTITION ${q}`, 'SHARE UPDATE EXCLUSIVE', false),
    );
    abort.push(step(`drop index ${child} of partition ${p.name} concurrently`, `DROP INDEX CONCURRENTLY IF EXISTS ${q}`, 'SHARE UPDATE EXCLUSIVE', false));
  }
  // Dropping the parent's index drops the attached ones with it; a partitioned index cannot be dropped concurrently.
  abort.unshift(step(`drop index ${name} (partitioned; not concurrently)`, `DROP INDEX IF EXISTS ${parent}`, 'ACCESS EXCLUSIVE'));
  return { expand, abort };
}
