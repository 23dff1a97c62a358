import { quoteIdent } from '../../db/identifiers.js';

/** The outcome of each `migrate drift`, so `migrate status` can say whether the schema drifted without replaying. */
export function driftChecks(schema: string): string {
  const s = quoteIdent(schema);
  return `CREATE TABLE ${s}.drift_checks (
  id bigserial PRIMARY KEY,
  checked_at timestamptz NOT NULL DEFAULT now(),
  actor text NOT NULL,
  items jsonb NOT NULL
);`;
}
