import { defineMigration, op } from 'curtain';

// New code uses email_address from the first switch on; old code keeps email.
export default defineMigration({
  flag: 'users.email-address',
  description: 'Rename users.email to email_address',
  operations: [op.renameColumn('users', 'email', 'email_address')],
});
