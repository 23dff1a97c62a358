import { defineMigration, op, sql } from 'curtain';

// users.full_name → first_name + last_name. Old code keeps writing full_name
// (the trigger fills the new columns); new code writes first/last (the
// trigger fills full_name through `down`) until contract drops it.
export default defineMigration({
  flag: 'users.split-name',
  description: 'Split users.full_name into first_name and last_name',
  operations: [
    op.addColumn('users', { name: 'first_name', type: 'text', nullable: false, up: sql`split_part(full_name, ' ', 1)` }),
    op.addColumn('users', { name: 'last_name', type: 'text', up: sql`nullif(substr(full_name, length(split_part(full_name, ' ', 1)) + 2), '')` }),
    op.dropColumn('users', 'full_name', { down: sql`trim(first_name || ' ' || coalesce(last_name, ''))` }),
  ],
});
