import { shadowColumn } from '../ops/alter-column.js';
import type { SnapshotColumn } from './types.js';

/**
 * Which snapshot column fills which live column on restore.
 *
 * Mostly by name. Two things are curtain's own and need care:
 * - internal columns (`_curtain_*`, e.g. the hidden shadow of an
 *   `alterColumn` without `name`) are never re-added: they belong to a
 *   migration in flight, and the migration's state decides whether they exist;
 * - after contract swapped a shadow in under the original name, the live
 *   column `total` IS the snapshot's `_curtain_new_total` (same attribute,
 *   renamed), not the old `total` it replaced: it is filled from the shadow,
 *   whose values already have the new type and meaning (`up` applied).
 *   Recognised by attribute number (recorded in snapshots since this
 *   version), else by type: the live column has the shadow's type and not
 *   the old column's.
 */

/** A curtain-internal column name. */
export function isInternalColumn(name: string): boolean {
  return name.startsWith('_curtain_');
}

/** One live column and where its restored value comes from. */
export interface ColumnSource {
  /** The live column. */
  target: string;
  /** The snapshot column (in the copy). */
  source: string;
  /** The live type when it differs from the snapshot column's (cast explicitly); else null. */
  cast: string | null;
}

/** The mapping for one table. */
export interface ColumnPlan {
  /** Snapshot columns missing now that a full restore adds back (never internal ones). */
  missing: SnapshotColumn[];
  /** Live columns with a snapshot source (generated ones included; the caller skips them on write). */
  sources: ColumnSource[];
  /** Live columns the snapshot knows nothing of. */
  notInSnapshot: string[];
}

/**
 * Map `snapshot` columns onto `live` columns (both in attribute order).
 *
 * @example
 * planColumns(entry.columns, await tableColumns(tx, t)).sources
 * // [{ target: 'id', source: 'id', cast: null }, { target: 'total', source: '_curtain_new_total', cast: null }]
 */
export function planColumns(snapshot: SnapshotColumn[], live: SnapshotColumn[]): ColumnPlan {
  const snap = new Map(snapshot.map((c) => [c.name, c]));
  const now = new Map(live.map((c) => [c.name, c]));
  const sourceOf = (l: SnapshotColumn): SnapshotColumn | undefined => {
    const shadow = snap.get(shadowColumn(l.name));
    if (shadow && !now.has(shadow.name) && swappedIn(l, shadow, snap.get(l.name))) return shadow;
    return snap.get(l.name);
  };
  const sources: ColumnSource[] = [];
  const notInSnapshot: string[] = [];
  for (const l of live) {
    const s = sourceOf(l);
    if (s === undefined) notInSnapshot.push(l.name);
    else sources.push({ target: l.name, source: s.name, cast: s.type === l.type ? null : l.type });
  }
  const used = new Set(sources.map((s) => s.source));
  const missing = snapshot.filter((c) => !now.has(c.name) && !used.has(c.name) && !isInternalColumn(c.name));
  return { missing, sources, notInSnapshot };
}

/** Is live column `l` the snapshot's `shadow`, renamed by contract (rather than the old column `old`)? */
function swappedIn(l: SnapshotColumn, shadow: SnapshotColumn, old: SnapshotColumn | undefined): boolean {
  if (l.attnum !== undefined && shadow.attnum !== undefined) return l.attnum === shadow.attnum;
  if (old === undefined) return true;
  return l.type === shadow.type && l.type !== old.type;
}
