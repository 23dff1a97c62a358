import { defineMigration, op, sql } from 'curtain';

export default defineMigration({
  flag: 'orders.notes',
  description: 'Let customers leave a note on an order',
  operations: [
    op.createTable('order_notes', {
      columns: [
        { name: 'id', type: 'bigint', primaryKey: true, identity: 'by default' },
        { name: 'order_id', type: 'bigint', nullable: false, references: { table: 'orders', column: 'id', onDelete: 'CASCADE' } },
        { name: 'note', type: 'text', nullable: false },
        { name: 'created_at', type: 'timestamptz', nullable: false, default: sql`now()` },
      ],
    }),
  ],
});
