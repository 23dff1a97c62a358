import { defineMigration, op } from 'curtain';

export default defineMigration({
  flag: 'orders.recent-view',
  description: 'A view of the last day of orders, for the new dashboard',
  operations: [
    op.sql({
      up: `CREATE VIEW recent_orders AS SELECT id, user_id, total, created_at FROM orders WHERE created_at > now() - interval '1 day'`,
      down: 'DROP VIEW recent_orders',
      touches: ['public.recent_orders.*'],
    }),
  ],
});
