import { defineMigration, op } from 'curtain';

// Renamed aside at expand (old code still writes through a view), dropped at contract.
export default defineMigration({
  flag: 'sessions.drop-legacy',
  description: 'Drop legacy_sessions',
  operations: [op.dropTable('legacy_sessions')],
});
