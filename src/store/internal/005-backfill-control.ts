import { quoteIdent, quoteLiteral } from '../../db/identifiers.js';
import { flagChannel } from '../channel.js';

/**
 * Version 5: what live operation needs.
 * - `backfill_control`: one row per migration, steering its backfill from
 *   another process (pause, batch size, delay, replica lag limit) and where
 *   the backfill reports why it waits (`throttled`).
 * - The flag-change trigger announces on a channel name bounded to 63 bytes
 *   (see channel.ts): with a schema name of 58 bytes or more, every flag
 *   change used to fail with "channel name too long".
 */
export function backfillControl(schema: string): string {
  const s = quoteIdent(schema);
  return `
CREATE TABLE ${s}.backfill_control (
  migration           text PRIMARY KEY,
  paused              boolean NOT NULL DEFAULT false,
  batch_size          integer CHECK (batch_size IS NULL OR batch_size > 0),
  batch_delay_ms      integer CHECK (batch_delay_ms IS NULL OR batch_delay_ms >= 0),
  max_replica_lag_ms  integer CHECK (max_replica_lag_ms IS NULL OR max_replica_lag_ms >= 0),
  throttled           text,
  throttled_at        timestamptz,
  updated_by          text NOT NULL,
  updated_at          timestamptz NOT NULL DEFAULT now()
);

CREATE OR REPLACE FUNCTION ${s}.notify_flag_change() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  PERFORM pg_notify(${quoteLiteral(flagChannel(schema))}, json_build_object(
    'op', TG_OP,
    'key', COALESCE(NEW.key, OLD.key),
    'version', CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE NEW.version END
  )::text);
  RETURN NULL;
END
$fn$;
`;
}
