/**
 * Starting points for `migrate create <name> --template <t>`: one per
 * operation kind, plus a code migration (flag only) and custom functions.
 */
const header = `import { defineMigration, op, sql } from 'curtain';\n\n`;

const bodies: Record<string, (name: string) => string> = {
  code: (name) => `import { defineMigration } from 'curtain';

// A code migration: no schema change, just a flag. Ship the new code path dark
// behind isEnabled('${name}'), switch it on, and contract once the old path is
// deleted from the source.
export default defineMigration({
  description: 'TODO: what the new code path does',
});
`,
  createTable: () => `${header}export default defineMigration({
  description: 'Create the audit_log table',
  operations: [
    op.createTable('audit_log', {
      columns: [
        { name: 'id', type: 'bigint', identity: 'always', primaryKey: true },
        { name: 'message', type: 'text', nullable: false },
        { name: 'created_at', type: 'timestamptz', nullable: false, default: sql\`now()\` },
      ],
    }),
  ],
});
`,
  dropTable: () => `${header}export default defineMigration({
  description: 'Drop the legacy_sessions table (renamed aside until contract)',
  operations: [op.dropTable('legacy_sessions')],
});
`,
  renameTable: () => `${header}export default defineMigration({
  description: 'Rename customers to accounts',
  operations: [op.renameTable('customers', 'accounts')],
});
`,
  addColumn: () => `${header}export default defineMigration({
  description: 'Add users.first_name, filled from full_name',
  operations: [
    op.addColumn('users', { name: 'first_name', type: 'text', up: sql\`split_part(full_name, ' ', 1)\` }),
  ],
});
`,
  dropColumn: () => `${header}export default defineMigration({
  description: 'Drop users.nickname (kept filled for old code until contract)',
  operations: [op.dropColumn('users', 'nickname', { down: sql\`NULL\` })],
});
`,
  renameColumn: () => `${header}export default defineMigration({
  description: 'Rename users.email to email_address',
  operations: [op.renameColumn('users', 'email', 'email_address')],
});
`,
  alterColumn: () => `${header}export default defineMigration({
  description: 'orders.total from integer cents to bigint',
  operations: [
    op.alterColumn('orders', 'total', { type: 'bigint', up: sql\`total::bigint\`, down: sql\`total::integer\` }),
  ],
});
`,
  createIndex: () => `${header}export default defineMigration({
  description: 'Index orders by user',
  operations: [op.createIndex('orders', { columns: ['user_id'] })],
});
`,
  dropIndex: () => `${header}export default defineMigration({
  description: 'Drop an unused index',
  operations: [op.dropIndex('orders_legacy_idx')],
});
`,
  addConstraint: () => `${header}export default defineMigration({
  description: 'Orders must have a positive total',
  operations: [op.addConstraint('orders', { type: 'check', name: 'orders_total_positive', expression: sql\`total > 0\` })],
});
`,
  sql: () => `${header}export default defineMigration({
  description: 'Raw SQL with its inverse',
  operations: [
    op.sql({
      up: 'CREATE VIEW active_users AS SELECT * FROM users WHERE deleted_at IS NULL',
      down: 'DROP VIEW active_users',
    }),
  ],
});
`,
  custom: () => `import { defineMigration } from 'curtain';

// Custom phases run in the phase's transaction, with lock_timeout set:
// \`query\` runs raw SQL, \`db\` is a Kysely instance on the same transaction.
export default defineMigration({
  description: 'Custom additive work',
  async expand({ query }) {
    await query('CREATE TABLE IF NOT EXISTS feature_notes (id bigint PRIMARY KEY, note text)');
  },
  async abort({ query }) {
    await query('DROP TABLE IF EXISTS feature_notes');
  },
});
`,
};

/** The template names `migrate create --template` accepts. */
export const TEMPLATE_NAMES = Object.keys(bodies);

/** The text of a new migration file from template `template`. */
export function renderTemplate(template: string, name: string): string | undefined {
  return bodies[template]?.(name);
}
