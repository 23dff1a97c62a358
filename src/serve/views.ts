/**
 * What the console and the JSON API show, read from the curtain schema and
 * the migrations folder: one function per view, shared by both.
 */
import { promises as fs } from 'node:fs';
import type pg from 'pg';
import { listBackfillControls, type BackfillControl } from '../backfill/control.js';
import type { Config } from '../config.js';
import { quoteIdent } from '../db/identifiers.js';
import { UsageError } from '../errors.js';
import { flagDebt, flagState, type FlagDebt } from '../flags/debt.js';
import type { UnknownSummary } from '../flags/unknown.js';
import { listFlags, type FlagEvent, type FlagRow } from '../flags/store.js';
import { flagUsage } from '../flags/usage.js';
import { isInFlight } from '../migration/machine.js';
import { Project, type MigrationEntry } from '../migration/project.js';
import { rolloutJson, rolloutLine } from '../migration/rollout-view.js';
import { listRollouts } from '../store/rollouts.js';
import { lastEvents, listEvents, type MigrationEvent } from '../store/migrations.js';
import { listSnapshots } from '../snapshots/list.js';
import type { SnapshotRecord } from '../snapshots/types.js';
import type { BackfillView, ProgressTracker } from './progress.js';

/** Everything a view reads from. */
export interface ViewContext {
  config: Config;
  pool: pg.Pool;
  progress: ProgressTracker;
}

/** A migration in the list. */
export interface MigrationView {
  name: string;
  phase: MigrationEntry['phase'];
  kind: 'schema' | 'code' | null;
  description: string | null;
  flag: string | null;
  flagState: string | null;
  enabled: boolean | null;
  rollout: number | null;
  /** The migration's rollout plan while it is in flight (`migrate switch --plan`), with its one-line summary. */
  rolloutPlan: (ReturnType<typeof rolloutJson> & { line: string }) | null;
  backfill: BackfillView | null;
  control: BackfillControl | null;
  changed: boolean;
  missingFile: boolean;
  /** Who recorded the migration (its first expand). */
  actor: string | null;
  /** When its phase last changed. */
  updatedAt: Date | null;
  /** Its newest timeline event: who last acted on it (a switch to 25 %, a pause), and when. */
  lastEvent: { event: string; actor: string; at: Date } | null;
}

/** A migration with its timeline. */
export interface MigrationDetail extends MigrationView {
  timeline: (MigrationEvent & { guards: { passed: unknown; forced: unknown } | null; snapshotId: string | null })[];
  steps: { phase: string; index: number; description: string; lock: string; attempts: number; durationMs: number; finishedAt: Date }[];
}

/**
 * Every migration (files and database rows), with flag state and backfill progress.
 *
 * @example
 * const migrations = await migrationsView({ config, pool, progress: new ProgressTracker(config.schema) });
 */
export async function migrationsView(ctx: ViewContext): Promise<MigrationView[]> {
  const project = await Project.open(ctx.config, ctx.pool);
  const flags = new Map((await listFlags(ctx.pool, ctx.config.schema)).map((f) => [f.key, f]));
  const progress = new Map((await ctx.progress.read(ctx.pool)).map((p) => [p.migration, p]));
  const controls = new Map((await listBackfillControls(ctx.pool, ctx.config.schema)).map((c) => [c.migration, c]));
  const rollouts = new Map((await listRollouts(ctx.pool, ctx.config.schema)).map((r) => [r.migration, r]));
  const last = await lastEvents(ctx.pool, ctx.config.schema);
  return project.entries.map((e) => {
    const flagKey = e.record?.flag ?? null;
    const flag = flagKey ? flags.get(flagKey) : undefined;
    const plan = isInFlight(e.phase) ? rollouts.get(e.name) : undefined;
    return {
      name: e.name,
      phase: e.phase,
      kind: e.record?.kind ?? null,
      description: e.record?.description ?? null,
      flag: flagKey,
      flagState: flag ? flagState(flag) : null,
      enabled: flag ? flag.enabled : null,
      rollout: flag ? flag.rollout : null,
      rolloutPlan: plan ? { ...rolloutJson(plan), line: rolloutLine(plan) } : null,
      backfill: progress.get(e.name) ?? null,
      control: controls.get(e.name) ?? null,
      changed: e.changed,
      missingFile: !e.file,
      actor: e.record?.actor ?? null,
      updatedAt: e.record?.updatedAt ?? null,
      lastEvent: last.get(e.name) ?? null,
    };
  });
}

/**
 * One migration with its timeline (time, actor, duration, guards, snapshot
 * ids) and executed steps; undefined when there is no such migration,
 * {@link AmbiguousMigrationName} when a short name fits several.
 *
 * @example
 * const detail = await migrationDetail(ctx, '20260101000100_split_user_name');
 */
export async function migrationDetail(ctx: ViewContext, name: string): Promise<MigrationDetail | undefined> {
  const all = await migrationsView(ctx);
  const matches = all.filter((m) => m.name.replace(/^\d+_/, '') === name);
  const view = all.find((m) => m.name === name) ?? matches[0];
  if (!view) return undefined;
  // As the CLI does (findMigration): a short name two migrations share names neither, never the first of them.
  if (view.name !== name && matches.length > 1) throw new AmbiguousMigrationName(name, matches.map((m) => m.name));
  const events = await listEvents(ctx.pool, ctx.config.schema, view.name);
  const timeline = events.map(timelineEvent);
  const { rows } = await ctx.pool.query(
    `SELECT phase, idx, description, lock, attempts, duration_ms, finished_at FROM ${quoteIdent(ctx.config.schema)}.steps
      WHERE migration = $1 ORDER BY finished_at, idx`,
    [view.name],
  );
  return {
    ...view,
    timeline,
    steps: rows.map((s) => ({ phase: s.phase, index: s.idx, description: s.description, lock: s.lock, attempts: s.attempts, durationMs: s.duration_ms, finishedAt: s.finished_at })),
  };
}

/** A short name (the part after the timestamp) that several migrations share: answered 409, naming them. */
export class AmbiguousMigrationName extends UsageError {
  readonly statusCode = 409;
  constructor(name: string, candidates: string[]) {
    super(`"${name}" matches several migrations: ${candidates.join(', ')}`, 'use the full name');
  }
}

/** Evaluations over one window. */
export interface UsageWindow {
  window: string;
  liveClients: number;
  trueCount: number;
  falseCount: number;
}

/** A flag with its usage and recent history. */
export interface FlagView extends FlagRow {
  state: string;
  usage: UsageWindow[];
  history: FlagEvent[];
}

/** The flags page: flags, flag debt, unknown keys asked of this server. */
export interface FlagsView {
  flags: FlagView[];
  debt: FlagDebt[];
  unknown: UnknownSummary | null;
}

/** Telemetry windows shown per flag. */
export const USAGE_WINDOWS: { label: string; ms: number }[] = [
  { label: '5m', ms: 5 * 60_000 },
  { label: '1h', ms: 3_600_000 },
  { label: '24h', ms: 86_400_000 },
];

/**
 * Every flag with its state, evaluations per window (from the telemetry
 * tables), its last audit events, plus flag debt.
 *
 * @example
 * const { flags, debt } = await flagsView(ctx, flagsClient.unknownKeys());
 */
export async function flagsView(ctx: ViewContext, unknown: UnknownSummary | null, options: { historyLimit?: number } = {}): Promise<FlagsView> {
  const { schema } = ctx.config;
  const rows = await listFlags(ctx.pool, schema);
  const usage = await Promise.all(USAGE_WINDOWS.map(async (w) => new Map((await flagUsage(ctx.pool, schema, undefined, { windowMs: w.ms })).map((u) => [u.key, u]))));
  const { rows: events } = await ctx.pool.query(
    `SELECT id, key, actor, at, action, before, after, reason FROM (
       SELECT e.*, row_number() OVER (PARTITION BY key ORDER BY id DESC) AS n FROM ${quoteIdent(schema)}.flag_events e
     ) x WHERE n <= $1 ORDER BY key, id DESC`,
    [options.historyLimit ?? 10],
  );
  const history = new Map<string, FlagEvent[]>();
  for (const e of events) history.set(e.key, [...(history.get(e.key) ?? []), { ...e, id: Number(e.id) }]);
  const flags = rows.map((f) => ({
    ...f,
    state: flagState(f),
    usage: USAGE_WINDOWS.map((w, i) => {
      const u = usage[i]!.get(f.key);
      return { window: w.label, liveClients: u?.liveClients ?? 0, trueCount: u?.trueCount ?? 0, falseCount: u?.falseCount ?? 0 };
    }),
    history: history.get(f.key) ?? [],
  }));
  const debt = await flagDebt(rows, { root: ctx.config.root, sourceGlobs: ctx.config.flags.sourceGlobs, maxAgeMs: ctx.config.flags.maxAgeMs });
  return { flags, debt, unknown };
}

/** A snapshot with what it covers and what it occupies. */
export interface SnapshotView extends Omit<SnapshotRecord, 'tables'> {
  tables: { table: string; rows: number; bytes: number }[];
  rows: number;
  /** Bytes the snapshot occupies now (copies, dump file or cloned database); null when gone. */
  sizeBytes: number | null;
}

/**
 * Every snapshot, newest first, with its coverage and current size.
 *
 * @example
 * for (const s of await snapshotsView(ctx)) console.log(s.id, s.sizeBytes);
 */
export async function snapshotsView(ctx: ViewContext): Promise<SnapshotView[]> {
  const records = await listSnapshots(ctx.pool, { schema: ctx.config.schema });
  const out: SnapshotView[] = [];
  for (const r of records) {
    out.push({
      ...r,
      tables: r.tables.map((t) => ({ table: `${t.schema}.${t.name}`, rows: t.rows, bytes: t.bytes })),
      rows: r.tables.reduce((n, t) => n + t.rows, 0),
      sizeBytes: await sizeOf(ctx.pool, r),
    });
  }
  return out;
}

async function sizeOf(pool: pg.Pool, r: SnapshotRecord): Promise<number | null> {
  try {
    if (r.strategy === 'dump') return (await fs.stat(r.location)).size;
    if (r.strategy === 'clone') {
      const { rows } = await pool.query('SELECT pg_database_size(datname)::bigint AS n FROM pg_database WHERE datname = $1', [r.location]);
      return rows[0] ? Number(rows[0].n) : null;
    }
    const copies = r.tables.filter((t) => t.copy).map((t) => `${quoteIdent(t.copy!.schema)}.${quoteIdent(t.copy!.name)}`);
    if (copies.length === 0) return 0;
    const { rows } = await pool.query(
      'SELECT sum(pg_total_relation_size(to_regclass(c)))::bigint AS n, bool_and(to_regclass(c) IS NOT NULL) AS present FROM unnest($1::text[]) AS c',
      [copies],
    );
    return rows[0]?.present ? Number(rows[0].n) : null;
  } catch {
    return null;
  }
}

function snapshotIdOf(details: Record<string, unknown>): string | null {
  const id = details.snapshotId ?? details.snapshot;
  return typeof id === 'string' ? id : null;
}

/** One line of a migration's timeline. */
export type TimelineEvent = MigrationDetail['timeline'][number];

/**
 * Every migration's timeline in one query, oldest event first.
 *
 * @example
 * const timelines = await allTimelines(ctx); // Map name → events
 */
export async function allTimelines(ctx: ViewContext): Promise<Map<string, TimelineEvent[]>> {
  const out = new Map<string, TimelineEvent[]>();
  for (const e of await listEvents(ctx.pool, ctx.config.schema)) out.set(e.migration, [...(out.get(e.migration) ?? []), timelineEvent(e)]);
  return out;
}

function timelineEvent(e: MigrationEvent): TimelineEvent {
  const details = e.details ?? {};
  return {
    ...e,
    details,
    guards: Array.isArray(details.passed) ? { passed: details.passed, forced: details.forced ?? [] } : null,
    snapshotId: snapshotIdOf(details),
  };
}
