import { quoteIdent } from '../../db/identifiers.js';

/**
 * Tracked events (`flags.track(key, 'error')`) counted per client, flag,
 * event, the value the flag had for the subject (true = new path) and minute,
 * beside the evaluation counts of `flag_usage`: a rollout compares the error
 * rate of each side.
 */
export function flagTracking(schema: string): string {
  const s = quoteIdent(schema);
  return `CREATE TABLE ${s}.flag_tracking (
  client_id    text NOT NULL,
  key          text NOT NULL,
  event        text NOT NULL,
  value        boolean NOT NULL,
  window_start timestamptz NOT NULL,
  count        bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (client_id, key, event, value, window_start)
);
CREATE INDEX flag_tracking_key_event ON ${s}.flag_tracking (key, event, window_start);
CREATE INDEX flag_tracking_window_start ON ${s}.flag_tracking (window_start);`;
}
