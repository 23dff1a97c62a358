/**
 * Figure 7 — scale. The zero-downtime change (figure 1) at 100k, 1M and 5M
 * rows (quick: 10k, 50k, 100k), both approaches, to show how the time of
 * the change grows with the table while curtain's longest lock wait should
 * stay flat (bounded by its 1 s lock_timeout and its short backfill
 * batches), whereas the in-place ALTER blocks requests for as long as the
 * rewrite takes. Whatever the figures show is reported as measured.
 * Sizes already measured by figure 1 in the same run are reused.
 */
import { rows } from '../lib/args.js';
import { ratio } from '../lib/stats.js';
import type { Figure, Scenario } from '../lib/types.js';
import { changeAt, LOCK_TIMEOUT_MS, lockNote } from './zero-downtime.js';

export const scale: Scenario = {
  name: 'scale',
  title: 'Scale: the same change at growing table sizes',
  async run(ctx) {
    const sizes = ctx.options.quick
      ? [rows(ctx.options, 10_000, 10_000), rows(ctx.options, 50_000, 50_000), rows(ctx.options, 100_000, 100_000)]
      : [rows(ctx.options, 100_000, 0), rows(ctx.options, 1_000_000, 0), rows(ctx.options, 5_000_000, 0)];
    const figures: Figure[] = [];
    for (const n of sizes) {
      const { inPlace, curtain } = await changeAt(ctx, n);
      const size = `${n.toLocaleString('en-US')} rows`;
      figures.push(
        {
          scenario: 'scale',
          label: `${size}: longest lock wait`,
          unit: 'ms',
          value: curtain.during.longestLockWaitMs,
          baseline: { label: 'in-place ALTER', value: inPlace.during.longestLockWaitMs },
          ratio: ratio(curtain.during.longestLockWaitMs, inPlace.during.longestLockWaitMs),
          target: `≤ ${LOCK_TIMEOUT_MS} ms, flat`,
          pass: curtain.during.longestLockWaitMs <= LOCK_TIMEOUT_MS,
          note: lockNote(curtain, inPlace),
          meaning: 'Longest time a request waited on a lock at this size: curtain must stay under its 1 s lock_timeout at every size; in place it grows with the rewrite.',
          details: { curtainWaitedFor: curtain.during.longestLockWaitEvent, curtainWaitPhase: curtain.longestLockWaitPhase, inPlaceWaitedFor: inPlace.during.longestLockWaitEvent, curtainFailed: curtain.during.failed, inPlaceFailed: inPlace.during.failed, curtainP99: curtain.during.p99, inPlaceP99: inPlace.during.p99 },
        },
        {
          scenario: 'scale',
          label: `${size}: time to complete the change`,
          unit: 's',
          value: curtain.changeMs / 1000,
          baseline: { label: 'in-place ALTER', value: inPlace.changeMs / 1000 },
          ratio: ratio(curtain.changeMs, inPlace.changeMs),
          meaning: 'Both grow with the table; curtain pays for the online backfill with time, not with blocked requests.',
          details: { curtainPhases: curtain.phases, curtainSlowestSteps: [...curtain.steps].sort((a, b) => b.ms - a.ms).slice(0, 3), migrationLoadMs: curtain.migrationLoadMs },
        },
      );
    }
    return figures;
  },
};
