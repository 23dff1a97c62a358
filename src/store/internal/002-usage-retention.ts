import { quoteIdent } from '../../db/identifiers.js';

/** Flag clients prune telemetry older than the retention period: index the column they prune by. */
export function usageRetention(schema: string): string {
  const s = quoteIdent(schema);
  return `CREATE INDEX flag_usage_window_start ON ${s}.flag_usage (window_start);
CREATE INDEX clients_last_seen_at ON ${s}.clients (last_seen_at);`;
}
