import type pg from 'pg';
import { sleep } from '../db/transaction.js';
import { getBackfillControl, reportBackfillThrottle } from './control.js';
import { createThrottle, type Throttle, type ThrottleOptions } from './throttle.js';

/** What the batch loop may use for the next batch: overrides set live with `migrate backfill set`. */
export interface Pace {
  batchSize?: number;
  batchDelayMs?: number;
}

/** Between batches: the live control row (pause, batch size and delay, replica lag) and the throttle. */
export interface Pacer {
  /**
   * Wait while the backfill is paused or throttled (no transaction open, no
   * lock held), saying why through `onWait`; then return the overrides for
   * the next batch. Returns early when the signal aborts.
   */
  beforeBatch(): Promise<Pace>;
  close(): Promise<void>;
}

/** How often a paused or throttled backfill looks again. */
const RECHECK_MS = 500;

/**
 * Pace a backfill: read its control row and check the throttle before every
 * batch. A paused or throttled backfill reports the reason in the control row
 * (`migrate status`, the console) and in its progress, and resumes by itself.
 *
 * @example
 * const pacer = await createPacer(pool, { schema: 'curtain', migration: name, throttle: throttleOptionsFrom(config.backfill) });
 * const pace = await pacer.beforeBatch();
 */
export async function createPacer(
  pool: pg.Pool,
  o: { schema: string; migration: string; throttle?: ThrottleOptions; signal?: AbortSignal; onWait?: (reason: string | null) => void },
): Promise<Pacer> {
  let lagMs = o.throttle?.maxReplicaLagMs;
  let throttle: Throttle | undefined = o.throttle ? await createThrottle(pool, o.throttle) : undefined;
  let reported: string | null = null;
  const report = async (reason: string | null) => {
    if (reason === reported) return;
    reported = reason;
    o.onWait?.(reason);
    await reportBackfillThrottle(pool, o.schema, o.migration, reason);
  };
  return {
    async beforeBatch() {
      for (;;) {
        if (o.signal?.aborted) return {};
        const control = await getBackfillControl(pool, o.schema, o.migration);
        // The replica-lag threshold can be changed while the backfill runs.
        if (o.throttle && control.maxReplicaLagMs !== null && control.maxReplicaLagMs !== lagMs) {
          await throttle?.close();
          lagMs = control.maxReplicaLagMs;
          throttle = await createThrottle(pool, { ...o.throttle, maxReplicaLagMs: lagMs });
        }
        let reason: string | null = null;
        if (control.paused) reason = `paused${control.updatedBy ? ` by ${control.updatedBy}` : ''} (migrate backfill resume ${o.migration})`;
        else if (throttle?.active) {
          const state = await throttle.check();
          if (state.throttled) reason = `throttled: ${state.reason}`;
        }
        await report(reason);
        if (reason === null) {
          return {
            ...(control.batchSize !== null ? { batchSize: control.batchSize } : {}),
            ...(control.batchDelayMs !== null ? { batchDelayMs: control.batchDelayMs } : {}),
          };
        }
        await sleep(RECHECK_MS, o.signal);
      }
    },
    async close() {
      await throttle?.close();
      if (reported !== null) await reportBackfillThrottle(pool, o.schema, o.migration, null).catch(() => {});
    },
  };
}
