/**
 * Backfill progress as the console shows it: rows done out of the estimate,
 * a rate and an ETA. The backfill persists only its checkpoint (rows done,
 * at what time) after every batch, so the rate is measured here from
 * successive checkpoints, over a sliding window.
 */
import { formatDuration } from '../duration.js';
import { quoteIdent } from '../db/identifiers.js';
import type { Queryable } from '../db/queryable.js';

/** One migration's backfill, summed over its tables. */
export interface BackfillView {
  migration: string;
  rowsDone: number;
  /** The estimate at the start (rows done when it was exceeded); null when unknown. */
  rowsTotal: number | null;
  done: boolean;
  tables: { table: string; rowsDone: number; rowsTotal: number | null; done: boolean }[];
  /** Measured over the last checkpoints this server saw; null until two were seen. */
  rowsPerSecond: number | null;
  etaSeconds: number | null;
  paused: boolean;
  /** Why it waits, as the backfill reported it. */
  throttled: string | null;
  updatedAt: Date | null;
  /** One line for people: "1,200 / 10,000 rows (12%) · 850 rows/s · ETA 10.4s". */
  text: string;
}

const WINDOW_MS = 30_000;

/**
 * Reads every backfill's checkpoints and control rows, keeping a few samples
 * per migration to measure the rate.
 *
 * @example
 * const tracker = new ProgressTracker('curtain');
 * const views = await tracker.read(pool); // call it again later: rows/s and ETA appear
 */
export class ProgressTracker {
  private samples = new Map<string, { rows: number; at: number }[]>();

  constructor(private readonly schema: string) {}

  /** The current progress of every migration with checkpoints. */
  async read(q: Queryable): Promise<BackfillView[]> {
    const s = quoteIdent(this.schema);
    const { rows } = await q.query(
      `SELECT cp.migration, cp.table_name, cp.rows_done, cp.rows_total, cp.done, cp.updated_at,
              COALESCE(c.paused, false) AS paused, c.throttled
         FROM ${s}.backfill_checkpoints cp LEFT JOIN ${s}.backfill_control c ON c.migration = cp.migration
        ORDER BY cp.migration, cp.table_name`,
    );
    const byMigration = new Map<string, BackfillView>();
    for (const r of rows) {
      let v = byMigration.get(r.migration);
      if (!v) {
        v = { migration: r.migration, rowsDone: 0, rowsTotal: 0, done: true, tables: [], rowsPerSecond: null, etaSeconds: null, paused: r.paused, throttled: r.throttled, updatedAt: null, text: '' };
        byMigration.set(r.migration, v);
      }
      const done = Number(r.rows_done);
      const total = r.rows_total === null ? null : Math.max(Number(r.rows_total), done);
      v.tables.push({ table: r.table_name, rowsDone: done, rowsTotal: total, done: r.done });
      v.rowsDone += done;
      v.rowsTotal = v.rowsTotal === null || total === null ? null : v.rowsTotal + total;
      v.done &&= r.done;
      if (!v.updatedAt || r.updated_at > v.updatedAt) v.updatedAt = r.updated_at;
    }
    for (const v of byMigration.values()) {
      this.measure(v);
      v.text = progressText(v);
    }
    return [...byMigration.values()];
  }

  private measure(v: BackfillView): void {
    // A pause is not part of the rate: samples from before it would spread the next batches over the pause's length.
    // (Throttle waits are kept: they are what the backfill really goes at, so the ETA should count them.)
    if (v.done || v.paused) {
      this.samples.delete(v.migration);
      return;
    }
    const at = v.updatedAt?.getTime() ?? Date.now();
    const list = this.samples.get(v.migration) ?? [];
    const last = list[list.length - 1];
    if (!last || last.rows !== v.rowsDone) list.push({ rows: v.rowsDone, at });
    while (list.length > 2 && at - list[0]!.at > WINDOW_MS) list.shift();
    this.samples.set(v.migration, list);
    const first = list[0]!;
    const newest = list[list.length - 1]!;
    if (list.length >= 2 && newest.at > first.at) {
      v.rowsPerSecond = ((newest.rows - first.rows) / (newest.at - first.at)) * 1000;
      if (v.rowsTotal !== null && v.rowsPerSecond > 0) v.etaSeconds = Math.max(0, v.rowsTotal - v.rowsDone) / v.rowsPerSecond;
    }
  }
}

/**
 * The progress line of a backfill.
 *
 * @example
 * progressText({ rowsDone: 1200, rowsTotal: 10000, done: false, rowsPerSecond: 850, etaSeconds: 10.4, paused: false, throttled: null })
 * // '1,200 / 10,000 rows (12%) · 850 rows/s · ETA 10.4s'
 */
export function progressText(v: Pick<BackfillView, 'rowsDone' | 'rowsTotal' | 'done' | 'rowsPerSecond' | 'etaSeconds' | 'paused' | 'throttled'>): string {
  const n = (x: number) => Math.round(x).toLocaleString('en-US');
  if (v.done) return `${n(v.rowsDone)} rows, done`;
  const parts = [v.rowsTotal ? `${n(v.rowsDone)} / ${n(v.rowsTotal)} rows (${Math.floor((100 * v.rowsDone) / Math.max(1, v.rowsTotal))}%)` : `${n(v.rowsDone)} rows`];
  if (v.rowsPerSecond !== null) parts.push(`${n(v.rowsPerSecond)} rows/s`);
  if (v.etaSeconds !== null) parts.push(`ETA ${formatDuration(v.etaSeconds * 1000)}`);
  if (v.paused) parts.push('paused');
  if (v.throttled) parts.push(`throttled: ${v.throttled}`);
  return parts.join(' · ');
}
