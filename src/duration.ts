import { UsageError } from './errors.js';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/**
 * Parse a human duration (`500ms`, `30s`, `15m`, `2h`, `7d`, `1w`, or a number
 * of milliseconds) into milliseconds.
 *
 * @example
 * parseDuration('15m'); // 900000
 */
export function parseDuration(value: string | number, what = 'duration'): number {
  if (typeof value === 'number') {
    if (Number.isFinite(value) && value >= 0) return value;
    throw new UsageError(`${what} must be a non-negative number of milliseconds, got ${value}`);
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$/.exec(value);
  if (!m) throw new UsageError(`${what} ${JSON.stringify(value)} is not a duration`, 'use e.g. 500ms, 30s, 15m, 2h, 7d');
  return Math.round(Number(m[1]) * UNITS[m[2] ?? 'ms']!);
}

/** Format milliseconds for people: `850ms`, `12.3s`, `4m 05s`, `2h 10m`, `3d 4h`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.floor(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(s / 86_400)}d ${Math.floor((s % 86_400) / 3600)}h`;
}
