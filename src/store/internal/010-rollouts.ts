import { quoteIdent } from '../../db/identifiers.js';

/**
 * Rollout plans (`migrate switch <name> --plan 1,10,50,100 --every 10m`): one
 * row per migration, so a killed runner resumes at its step and time, and
 * `migrate status` shows the plan, the step and why a rollout stopped.
 */
export function rollouts(schema: string): string {
  const s = quoteIdent(schema);
  return `CREATE TABLE ${s}.rollouts (
  migration       text PRIMARY KEY,
  flag            text NOT NULL,
  steps           jsonb NOT NULL,
  targeting       jsonb,
  step            integer NOT NULL,
  every_ms        bigint NOT NULL CHECK (every_ms > 0),
  check_sql       text,
  verify_baseline integer,
  error_baseline  jsonb,
  actor           text NOT NULL,
  started_at      timestamptz NOT NULL DEFAULT now(),
  step_started_at timestamptz NOT NULL DEFAULT now(),
  next_at         timestamptz,
  status          text NOT NULL CHECK (status IN ('running', 'completed', 'stopped', 'cancelled')),
  stop_reason     text,
  updated_at      timestamptz NOT NULL DEFAULT now()
);`;
}
