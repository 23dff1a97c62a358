import { quoteIdent } from '../../db/identifiers.js';

/**
 * Flags clients report the flags version they have loaded and how often they
 * report: abort waits until every live client has seen the flag off, and the
 * telemetry guard knows how long one full reporting interval of each is.
 */
export function clientVersions(schema: string): string {
  const s = quoteIdent(schema);
  return `ALTER TABLE ${s}.clients ADD COLUMN flags_version bigint, ADD COLUMN report_every_ms integer;`;
}
