import { quoteIdent, quoteLiteral } from '../../db/identifiers.js';

/** The NOTIFY channel on which flag changes are announced. */
export function flagChannel(schema: string): string {
  return `${schema}_flags`;
}

/**
 * The first version of the curtain schema: everything the tool persists.
 * Later versions are new files; this one never changes once released.
 */
export function initialSchema(schema: string): string {
  const s = quoteIdent(schema);
  const channel = quoteLiteral(flagChannel(schema));
  const seq = quoteLiteral(`${s}.flag_version_seq`);
  return `
CREATE SCHEMA IF NOT EXISTS ${s};

CREATE TABLE ${s}.migrations (
  name          text PRIMARY KEY,
  checksum      text NOT NULL,
  phase         text NOT NULL CHECK (phase IN ('expanding','expanded','switched','contracting','contracted','aborting','aborted')),
  flag          text NOT NULL,
  kind          text NOT NULL CHECK (kind IN ('schema','code')),
  description   text,
  touches       jsonb NOT NULL DEFAULT '[]',
  plan          jsonb NOT NULL DEFAULT '{}',
  verification  jsonb,
  actor         text NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  expanded_at   timestamptz,
  switched_at   timestamptz,
  contracted_at timestamptz,
  aborted_at    timestamptz,
  updated_at    timestamptz NOT NULL DEFAULT now()
);

-- The timeline of every migration: phases, guards, snapshots, forced overrides.
CREATE TABLE ${s}.migration_events (
  id          bigserial PRIMARY KEY,
  migration   text NOT NULL,
  event       text NOT NULL,
  actor       text NOT NULL,
  at          timestamptz NOT NULL DEFAULT now(),
  duration_ms integer,
  details     jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX ON ${s}.migration_events (migration, id);

-- Steps the executor ran, with timings; a finished transactional step is never rerun.
CREATE TABLE ${s}.steps (
  migration   text NOT NULL,
  phase       text NOT NULL,
  idx         integer NOT NULL,
  description text NOT NULL,
  sql         text NOT NULL,
  lock        text NOT NULL,
  attempts    integer NOT NULL DEFAULT 1,
  started_at  timestamptz NOT NULL,
  finished_at timestamptz NOT NULL DEFAULT now(),
  duration_ms integer NOT NULL,
  PRIMARY KEY (migration, phase, idx)
);

CREATE TABLE ${s}.backfill_checkpoints (
  migration   text NOT NULL,
  table_name  text NOT NULL,
  last_key    jsonb,
  rows_done   bigint NOT NULL DEFAULT 0,
  rows_total  bigint,
  done        boolean NOT NULL DEFAULT false,
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (migration, table_name)
);

-- Global, monotonically increasing: pollers ask for "anything newer than N".
CREATE SEQUENCE ${s}.flag_version_seq;

CREATE TABLE ${s}.flags (
  key         text PRIMARY KEY CHECK (key ~ '^[a-z0-9][a-z0-9._-]*$' AND length(key) <= 128),
  enabled     boolean NOT NULL DEFAULT false,
  rollout     integer NOT NULL DEFAULT 100 CHECK (rollout BETWEEN 0 AND 100),
  group_name  text CHECK (group_name IS NULL OR (group_name ~ '^[a-z0-9][a-z0-9._-]*$' AND length(group_name) <= 128)),
  description text,
  migration   text,
  retired     boolean NOT NULL DEFAULT false,
  version     bigint NOT NULL DEFAULT nextval(${seq}::regclass),
  fully_on_since timestamptz,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Deleted flags leave a tombstone version so pollers notice the removal.
CREATE TABLE ${s}.flag_tombstones (
  key     text PRIMARY KEY,
  version bigint NOT NULL,
  at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE ${s}.flag_events (
  id      bigserial PRIMARY KEY,
  key     text NOT NULL,
  actor   text NOT NULL,
  at      timestamptz NOT NULL DEFAULT now(),
  action  text NOT NULL,
  before  jsonb,
  after   jsonb,
  reason  text
);
CREATE INDEX ON ${s}.flag_events (key, id);

CREATE FUNCTION ${s}.notify_flag_change() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  PERFORM pg_notify(${channel}, json_build_object(
    'op', TG_OP,
    'key', COALESCE(NEW.key, OLD.key),
    'version', CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE NEW.version END
  )::text);
  RETURN NULL;
END
$fn$;
CREATE TRIGGER flags_notify AFTER INSERT OR UPDATE OR DELETE ON ${s}.flags
  FOR EACH ROW EXECUTE FUNCTION ${s}.notify_flag_change();

-- Flag clients register themselves and report what they evaluated.
CREATE TABLE ${s}.clients (
  id           text PRIMARY KEY,
  app_name     text NOT NULL,
  host         text NOT NULL,
  pid          integer NOT NULL,
  started_at   timestamptz NOT NULL DEFAULT now(),
  last_seen_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE ${s}.flag_usage (
  client_id    text NOT NULL,
  key          text NOT NULL,
  window_start timestamptz NOT NULL,
  true_count   bigint NOT NULL DEFAULT 0,
  false_count  bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (client_id, key, window_start)
);
CREATE INDEX ON ${s}.flag_usage (key, window_start);

CREATE TABLE ${s}.snapshots (
  id         text PRIMARY KEY,
  strategy   text NOT NULL CHECK (strategy IN ('tables','dump','clone')),
  status     text NOT NULL DEFAULT 'complete',
  reason     text,
  migration  text,
  phase      text,
  actor      text NOT NULL,
  location   text NOT NULL,
  tables     jsonb NOT NULL DEFAULT '[]',
  created_at timestamptz NOT NULL DEFAULT now()
);
`;
}
