/**
 * Turning a replica's WAL position into a time lag.
 *
 * `pg_stat_replication.replay_lag` is only measured while replay advances:
 * with replay stalled (paused, or stuck behind a conflict) it keeps its last
 * small value, and it is NULL once a standby has caught up. The LSN distance
 * is always right but is in bytes. So every throttle check also samples the
 * primary's `pg_current_wal_lsn()` with the local clock, and a replica whose
 * replay position is behind is as late as the oldest sample that already lay
 * beyond it: "the primary had written WAL this replica has not replayed for
 * at least N seconds". The estimate is a lower bound, exact to one check
 * interval, and needs no clock agreement between servers.
 */

/** A `pg_lsn` as text (`16/B374D848`) to a byte position. */
export function parseLsn(text: string): bigint {
  const m = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(text.trim());
  if (!m) throw new Error(`not a pg_lsn: ${JSON.stringify(text)}`);
  return (BigInt(`0x${m[1]}`) << 32n) + BigInt(`0x${m[2]}`);
}

/**
 * A replica this close to the primary's position is caught up: an idle
 * primary's write position can sit past the last record by a page header,
 * which a standby never "replays".
 */
export const CAUGHT_UP_SLACK_BYTES = 64n;

/** WAL bytes `replayed` is behind `primary` (0 within the slack). */
export function bytesBehind(primary: bigint, replayed: bigint): bigint {
  const d = primary - replayed;
  return d > CAUGHT_UP_SLACK_BYTES ? d : 0n;
}

interface Sample {
  at: number;
  lsn: bigint;
}

/**
 * The primary's WAL position over time, as seen by one throttle.
 *
 * @example
 * const h = new WalHistory();
 * h.record(Date.now(), parseLsn('0/3000000'));
 * h.lagMs(parseLsn('0/2000000'), Date.now() + 6000); // 6000: WAL past 0/2000000 existed 6 s ago
 */
export class WalHistory {
  private readonly samples: Sample[] = [];

  /** @param maxSamples older samples are dropped beyond this (the estimate then stays a lower bound). */
  constructor(private readonly maxSamples = 4096) {}

  /** Record the primary's position `lsn` observed at `at` (ms since the epoch). */
  record(at: number, lsn: bigint): void {
    const last = this.samples.at(-1);
    // Same position as the previous sample: keep the older one, it carries the information.
    if (last && last.lsn >= lsn) return;
    this.samples.push({ at, lsn });
    if (this.samples.length > this.maxSamples) this.samples.splice(0, this.samples.length - this.maxSamples);
  }

  /** The newest recorded position, if any. */
  latest(): bigint | undefined {
    return this.samples.at(-1)?.lsn;
  }

  /**
   * How long, at `now`, the primary has had WAL past `replayed`: 0 when
   * `replayed` is at or beyond every sample.
   */
  lagMs(replayed: bigint, now: number): number {
    const first = this.samples.find((s) => bytesBehind(s.lsn, replayed) > 0n);
    return first === undefined ? 0 : Math.max(0, now - first.at);
  }
}
