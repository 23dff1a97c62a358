/**
 * Evaluations of keys that are not flags, counted in memory only: a typo in
 * an application, or anyone who can reach `migrate serve` asking for made-up
 * keys, must not turn into rows in the telemetry tables.
 */

/** What {@link UnknownKeys.summary} reports. */
export interface UnknownSummary {
  /** Evaluations of unknown keys since the start (or the last reset). */
  evaluations: number;
  /** Distinct unknown keys seen (counted up to a limit; see `overflow`). */
  keys: number;
  /** Evaluations of keys beyond the distinct-key limit, not attributed to a key. */
  overflow: number;
  /** The most evaluated unknown keys, most first. */
  top: { key: string; count: number }[];
  since: Date;
}

/** Most distinct keys remembered: a loop over generated keys must not grow memory. */
const MAX_KEYS = 1000;

/**
 * The counter behind `flags.unknownKeys()`.
 *
 * @example
 * const unknown = new UnknownKeys();
 * unknown.count('checkout.v3');
 * unknown.summary().top; // [{ key: 'checkout.v3', count: 1 }]
 */
export class UnknownKeys {
  private counts = new Map<string, number>();
  private evaluations = 0;
  private overflow = 0;
  private since = new Date();

  /** Count one evaluation of `key`. */
  count(key: string): void {
    this.evaluations++;
    const n = this.counts.get(key);
    if (n !== undefined) this.counts.set(key, n + 1);
    else if (this.counts.size < MAX_KEYS) this.counts.set(key, 1);
    else this.overflow++;
  }

  /** The counts so far; with `reset`, start counting afresh. */
  summary(options: { top?: number; reset?: boolean } = {}): UnknownSummary {
    const top = [...this.counts.entries()]
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .slice(0, options.top ?? 10)
      .map(([key, count]) => ({ key, count }));
    const summary = { evaluations: this.evaluations, keys: this.counts.size, overflow: this.overflow, top, since: this.since };
    if (options.reset) {
      this.counts = new Map();
      this.evaluations = 0;
      this.overflow = 0;
      this.since = new Date();
    }
    return summary;
  }
}
