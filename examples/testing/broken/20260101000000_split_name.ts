import { defineMigration, op, sql } from 'curtain';

// The deliberate bug: `down` puts the last name first.
export default defineMigration({
  flag: 'users.split-name',
  operations: [
    op.addColumn('users', { name: 'first_name', type: 'text', up: sql`split_part(full_name, ' ', 1)` }),
    op.addColumn('users', { name: 'last_name', type: 'text', up: sql`split_part(full_name, ' ', 2)` }),
    op.dropColumn('users', 'full_name', { down: sql`last_name || ' ' || first_name` }),
  ],
});
