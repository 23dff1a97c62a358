import { defineMigration, op } from 'curtain';

export default defineMigration({
  flag: 'orders.user-index',
  description: 'Index orders by user (built CONCURRENTLY)',
  operations: [op.createIndex('orders', { columns: ['user_id'], name: 'orders_user_id_idx' })],
});
