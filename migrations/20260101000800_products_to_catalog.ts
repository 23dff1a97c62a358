import { defineMigration, op } from 'curtain';

// The table is renamed at expand and a view keeps the old name working for
// old code until contract.
export default defineMigration({
  flag: 'catalog.items',
  description: 'Rename products to catalog_items',
  operations: [op.renameTable('products', 'catalog_items')],
});
