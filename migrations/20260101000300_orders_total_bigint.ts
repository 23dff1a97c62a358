import { defineMigration, op, sql } from 'curtain';

// A type change without a rewrite under lock: a shadow bigint column is kept
// in sync and swapped in under the same name at contract.
export default defineMigration({
  flag: 'orders.total-bigint',
  description: 'Widen orders.total from integer to bigint',
  operations: [op.alterColumn('orders', 'total', { type: 'bigint', up: sql`total::bigint`, down: sql`total::integer` })],
});
