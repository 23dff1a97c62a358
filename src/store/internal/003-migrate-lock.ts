import { quoteIdent } from '../../db/identifiers.js';

/**
 * The migrate lock's epoch: bumped each time a command takes the lock, so a
 * command that lost its lock session (and maybe its lock, to another process)
 * can prove, inside each step's transaction, that nobody else held it since.
 */
export function migrateLockEpoch(schema: string): string {
  const s = quoteIdent(schema);
  return `CREATE TABLE ${s}.migrate_lock (
  id          boolean PRIMARY KEY DEFAULT true CHECK (id),
  epoch       bigint NOT NULL,
  holder      text NOT NULL,
  backend_pid integer NOT NULL,
  acquired_at timestamptz NOT NULL DEFAULT now()
);`;
}
