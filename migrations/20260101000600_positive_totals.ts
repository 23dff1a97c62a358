import { defineMigration, op, sql } from 'curtain';

// NOT VALID at expand (no scan under lock), VALIDATE at contract.
export default defineMigration({
  flag: 'orders.positive-total',
  description: 'Orders must have a positive total',
  operations: [op.addConstraint('orders', { type: 'check', name: 'orders_total_positive', expression: sql`total > 0` })],
});
