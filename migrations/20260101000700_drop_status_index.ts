import { defineMigration, op } from 'curtain';

export default defineMigration({
  flag: 'orders.drop-status-index',
  description: 'Drop the unused index on orders.status (CONCURRENTLY, at contract)',
  operations: [op.dropIndex('orders_status_idx')],
});
