/**
 * Figure 1 — zero downtime. An N-row `orders` table (1,000,000; quick
 * 100,000) under a steady mixed read/write workload from 6 client loops
 * (300 requests/s, old- and new-code paths chosen per request through the
 * flag), while `total` is widened to bigint: (a) in place, by one ALTER
 * TABLE run through Kysely's Migrator, as the usual tools do it; (b) by
 * curtain, expand → switch 50 % → 100 % → contract. For the requests
 * overlapping the change: failed requests (errors, including the app's
 * 5 s statement_timeout), p50/p99/max latency, the longest lock wait (see
 * lib/workload.ts for the method), and the time the change took.
 * Curtain must show 0 failed requests and no lock wait above its 1 s lock_timeout.
 */
import { rows } from '../lib/args.js';
import { measureChange, workloadShape, type ChangeResult } from '../lib/change.js';
import { ratio } from '../lib/stats.js';
import type { BenchContext, Figure, Scenario } from '../lib/types.js';

export const LOCK_TIMEOUT_MS = 1_000;

/** Both approaches at `n` rows, cached for the run (the scale scenario reuses them). */
export async function changeAt(ctx: BenchContext, n: number): Promise<{ inPlace: ChangeResult; curtain: ChangeResult }> {
  const key = `change:${n}`;
  const cached = ctx.shared.get(key) as { inPlace: ChangeResult; curtain: ChangeResult } | undefined;
  if (cached) return cached;
  const inPlace = await measureChange(ctx, 'in-place', n);
  const curtain = await measureChange(ctx, 'curtain', n);
  const both = { inPlace, curtain };
  ctx.shared.set(key, both);
  return both;
}

export const zeroDowntime: Scenario = {
  name: 'zero-downtime',
  title: 'Zero downtime: widen orders.total to bigint under load',
  async run(ctx) {
    const n = rows(ctx.options, 1_000_000, 100_000);
    const { inPlace, curtain } = await changeAt(ctx, n);
    const size = `${n.toLocaleString('en-US')} rows`;
    const base = 'in-place ALTER';
    const shape = workloadShape(ctx);
    const details = {
      workload: `${shape.clients} clients × ${shape.ratePerClient} req/s (70% read, 25% update, 5% insert by id), statement_timeout ${shape.statementTimeoutMs} ms`,
      curtain: summary(curtain),
      inPlace: summary(inPlace),
    };
    const fig = (label: string, unit: string, pick: (r: ChangeResult) => number, meaning: string, extra: Partial<Figure> = {}): Figure => ({
      scenario: 'zero-downtime',
      label: `${size}: ${label}`,
      unit,
      value: pick(curtain),
      baseline: { label: base, value: pick(inPlace) },
      ratio: ratio(pick(curtain), pick(inPlace)),
      meaning,
      ...extra,
    });
    return [
      fig('failed requests during the change', 'requests', (r) => r.during.failed, 'Requests that errored or hit the app\'s 5 s statement_timeout while the change ran.', {
        target: '0',
        pass: curtain.during.failed === 0,
        details,
      }),
      fig('p50 request latency during the change', 'ms', (r) => r.during.p50, 'Typical request latency while the schema changes (from the request\'s due time).'),
      fig('p99 request latency during the change', 'ms', (r) => r.during.p99, 'Tail latency while the schema changes.'),
      fig('max request latency during the change', 'ms', (r) => r.during.max, 'The worst single request while the schema changes.'),
      fig('longest lock wait of a request', 'ms', (r) => r.during.longestLockWaitMs, 'The longest any request\'s statement waited on a lock (sampled pg_stat_activity; capped by the app\'s 5 s statement_timeout, after which the request fails).', {
        target: `≤ ${LOCK_TIMEOUT_MS} ms`,
        pass: curtain.during.longestLockWaitMs <= LOCK_TIMEOUT_MS,
        note: lockNote(curtain, inPlace),
      }),
      fig('time to complete the change', 's', (r) => r.changeMs / 1000, 'Wall time of the change (curtain: its phases without the dwell, including loading the migration file, see migrationLoadMs).', {
        details: { curtainPhases: curtain.phases, inPlacePhases: inPlace.phases },
        note: timeNote(curtain),
      }),
    ];
  },
};

const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** Where curtain's time went: phases, and the cost of loading the migration file (measured separately). */
export function timeNote(curtain: ChangeResult): string {
  const phases = curtain.phases.map((p) => `${p.name} ${secs(p.ms)}`).join(', ');
  const load = curtain.migrationLoadMs === undefined ? '' : `; one load of the migration file (TS source via jiti, uncached) took ${secs(curtain.migrationLoadMs)}`;
  const bf = curtain.backfillRowsPerSecond === undefined ? '' : `; backfill ${Math.round(curtain.backfillRowsPerSecond).toLocaleString('en-US')} rows/s under load`;
  return `${phases}${bf}${load}`;
}

/** What the longest waits were waiting for, and when. */
export function lockNote(curtain: ChangeResult, inPlace: ChangeResult): string {
  const c = curtain.during.longestLockWaitEvent ? `curtain's longest wait was on a ${curtain.during.longestLockWaitEvent} lock during ${curtain.longestLockWaitPhase}` : 'no curtain request was seen waiting on a lock';
  const i = inPlace.during.longestLockWaitEvent ? `in place on a ${inPlace.during.longestLockWaitEvent} lock` : 'no in-place request was seen waiting';
  return `${c} (${curtain.during.lockWaited} requests waited); ${i} (${inPlace.during.lockWaited} requests waited, ${inPlace.during.failed} failed)`;
}

function summary(r: ChangeResult) {
  const round = (x: number) => Math.round(x * 100) / 100;
  return {
    changeMs: round(r.changeMs),
    spanMs: round(r.spanMs),
    phases: r.phases.map((p) => ({ name: p.name, ms: round(p.ms) })),
    lockRetries: r.lockRetries,
    migrationLoadMs: r.migrationLoadMs === undefined ? undefined : Math.round(r.migrationLoadMs),
    slowestSteps: [...r.steps].sort((a, b) => b.ms - a.ms).slice(0, 3),
    backfillRowsPerSecond: r.backfillRowsPerSecond === undefined ? undefined : Math.round(r.backfillRowsPerSecond),
    quiet: { requests: r.before.requests, p50: round(r.before.p50), p99: round(r.before.p99), max: round(r.before.max) },
    during: {
      requests: r.during.requests,
      newPath: r.during.newPath,
      failed: r.during.failed,
      p50: round(r.during.p50),
      p99: round(r.during.p99),
      max: round(r.during.max),
      lockWaitedRequests: r.during.lockWaited,
      longestLockWaitMs: round(r.during.longestLockWaitMs),
      longestLockWaitEvent: r.during.longestLockWaitEvent,
      longestLockWaitPhase: r.longestLockWaitPhase,
      longestSampledWaitMs: round(r.during.longestSampledWaitMs),
    },
    errors: r.errors,
  };
}
