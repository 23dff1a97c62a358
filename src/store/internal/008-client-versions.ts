import { quoteIdent } from '../../db/identifiers.js';

/**
 * Flags clients report the flags version they have loaded and how often they
 * report, and file their evaluation counts under the flags version they were
 * made with: abort waits until every live client has seen the flag off, and
 * the telemetry guard tells evaluations made before a client loaded a change
 * from those made after, without waiting for clock windows to pass.
 */
export function clientVersions(schema: string): string {
  const s = quoteIdent(schema);
  return `ALTER TABLE ${s}.clients ADD COLUMN flags_version bigint, ADD COLUMN report_every_ms integer;
ALTER TABLE ${s}.flag_usage ADD COLUMN flags_version bigint NOT NULL DEFAULT 0;
ALTER TABLE ${s}.flag_usage DROP CONSTRAINT flag_usage_pkey;
ALTER TABLE ${s}.flag_usage ADD PRIMARY KEY (client_id, key, window_start, flags_version);`;
}
