import { defineMigration, op, sql } from 'curtain';

export default defineMigration({
  flag: 'users.split-name',
  operations: [
    op.addColumn('users', { name: 'first_name', type: 'text', up: sql`split_part(full_name, ' ', 1)` }),
    op.addColumn('users', { name: 'last_name', type: 'text', up: sql`split_part(full_name, ' ', 2)` }),
    op.dropColumn('users', 'full_name', { down: sql`first_name || ' ' || last_name` }),
  ],
});
