import pg from 'pg';
import type { Config } from '../config.js';
import { connect, type Database } from '../db/connect.js';
import { quoteIdent } from '../db/identifiers.js';
import { CurtainError } from '../errors.js';
import { ensureStore } from '../store/store.js';
import { schemaFingerprint } from '../testing/catalog.js';
import { openMigrator } from './migrator.js';
import { Project, type MigrationEntry } from './project.js';

/** One object that differs between the live catalog and the schema the migrations produce. */
export interface DriftItem {
  /** `columns`, `constraints`, `indexes`, `relations`, `triggers`, `functions`, `views`. */
  kind: string;
  /** `extra`: only in the live database; `missing`: the migrations produce it, the database lacks it. */
  change: 'extra' | 'missing';
  object: string;
}

/** What {@link drift} found. */
export interface DriftReport {
  items: DriftItem[];
  /** Migrations replayed to build the expected schema, with the phase each was brought to. */
  replayed: { name: string; phase: string }[];
}

/**
 * Remember the outcome of a drift check (for `migrate status`).
 *
 * @example
 * await recordDriftCheck(pool, 'curtain', report.items, 'you@laptop');
 */
export async function recordDriftCheck(pool: pg.Pool, schema: string, items: DriftItem[], actor: string): Promise<void> {
  await pool.query(`INSERT INTO ${quoteIdent(schema)}.drift_checks (actor, items) VALUES ($1, $2)`, [actor, JSON.stringify(items)]);
}

/**
 * The last drift check, if any: when, and how many objects differed.
 *
 * @example
 * const last = await lastDriftCheck(pool, 'curtain'); // { checkedAt, items: [...] } | undefined
 */
export async function lastDriftCheck(pool: pg.Pool, schema: string): Promise<{ checkedAt: Date; items: DriftItem[] } | undefined> {
  const { rows } = await pool.query(`SELECT checked_at, items FROM ${quoteIdent(schema)}.drift_checks ORDER BY id DESC LIMIT 1`);
  return rows[0] && { checkedAt: rows[0].checked_at, items: rows[0].items };
}

/** A fingerprint with column positions removed: an online change re-creates a column at the end, which is not drift. */
async function shape(q: pg.Pool, exclude: string[]): Promise<Record<string, string[]>> {
  const f = await schemaFingerprint(q, { exclude });
  return { ...f, columns: (f.columns ?? []).map((c) => c.replace(/ #\d+$/, '')) };
}

/**
 * The differences between the live catalog and the schema the recorded
 * migrations (and the baseline) produce: every migration file is replayed, to
 * the phase the database records for it, into a scratch database on the same
 * server (dropped afterwards), and the two catalogs are compared per object.
 *
 * @example
 * const { items } = await drift(config, pool, url);
 * for (const d of items) console.log(d.change, d.kind, d.object);
 */
export async function drift(config: Config, pool: pg.Pool, url: string): Promise<DriftReport> {
  const project = await Project.open(config, pool);
  project.assertUnchanged();
  const entries = project.entries.filter((e) => e.file && e.record && e.phase !== 'pending');
  return replayInto(config, pool, url, entries, async (db, replayed) => {
    const exclude = [config.schema, 'curtain_snapshots'];
    const [live, expected] = [await shape(pool, exclude), await shape(db.pool, exclude)];
    const items: DriftItem[] = [];
    for (const kind of Object.keys(expected)) {
      const have = new Set(live[kind] ?? []);
      const want = new Set(expected[kind] ?? []);
      for (const o of have) if (!want.has(o)) items.push({ kind, change: 'extra', object: o });
      for (const o of want) if (!have.has(o)) items.push({ kind, change: 'missing', object: o });
    }
    return { items, replayed };
  });
}

/**
 * Replay `entries` (to the phase each has here) into a scratch database on
 * the same server, hand it to `fn`, and drop it however `fn` ends.
 *
 * @example
 * await replayInto(config, pool, url, entries, async (db) => schemaFingerprint(db.pool));
 */
export async function replayInto<T>(
  config: Config,
  pool: pg.Pool,
  url: string,
  entries: MigrationEntry[],
  fn: (db: Database, replayed: DriftReport['replayed'], scratchUrl: string) => Promise<T>,
): Promise<T> {
  const scratch = `curtain_drift_${process.pid}_${Date.now().toString(36)}`.slice(0, 63);
  const scratchUrl = new URL(url);
  scratchUrl.pathname = `/${scratch}`;
  try {
    await pool.query(`CREATE DATABASE ${quoteIdent(scratch)}`);
  } catch (err) {
    throw new CurtainError(`drift replays the migrations into a scratch database and could not create one: ${(err as Error).message}`, {
      hint: 'the role needs CREATEDB on this server',
      cause: err,
    });
  }
  const replayed: DriftReport['replayed'] = [];
  try {
    const db = await connect(scratchUrl.toString(), { applicationName: 'curtain: migrate drift (replay)' });
    try {
      await ensureStore(db.pool, config.schema);
      const migrator = openMigrator({ config, pool: db.pool, actor: 'migrate drift' });
      const skipGuards = { force: ['soak'], takeSnapshot: false, falseEvaluations: async () => undefined, codeReferences: async () => [] };
      for (const entry of entries) {
        const phase = entry.phase;
        if (!['expanded', 'switched', 'contracted'].includes(phase)) {
          throw new CurtainError(`${entry.name} is ${phase} (a command was interrupted): the expected schema is not defined`, {
            hint: `finish it first (see "migrate status ${entry.name}")`,
          });
        }
        await migrator.expand(entry.name, { lint: false });
        if (phase !== 'expanded') await migrator.switch(entry.name, { snapshot: false });
        if (phase === 'contracted') await migrator.contract(entry.name, { ...skipGuards, lint: false });
        replayed.push({ name: entry.name, phase });
      }
      return await fn(db, replayed, scratchUrl.toString());
    } finally {
      await db.close();
    }
  } finally {
    await pool.query(`DROP DATABASE IF EXISTS ${quoteIdent(scratch)} WITH (FORCE)`).catch(() => {});
  }
}
