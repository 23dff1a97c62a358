/**
 * Run the application-like workload (lib/workload-child.ts) in a child
 * process while something else changes the schema, and analyse what its
 * requests went through in a time window.
 *
 * Lock waits: the child samples `pg_stat_activity` every `sampleMs` for its
 * client backends with `wait_event_type = 'Lock'` (table, row and
 * transaction locks). A request counts as having waited on a lock when a
 * sample saw its backend waiting between the request's start and end; its
 * lock wait is then the wall time of that request's statement (each request
 * is one statement). A wait longer than the sampling interval cannot be
 * missed; shorter ones may be, which cannot change the longest wait.
 */
import type { ChildProcess } from 'node:child_process';
import { forkTs, nextMessage } from './child.js';
import { summarize } from './stats.js';
import { isMessage, type LockSample, type RequestLog, type WorkloadConfig, type WorkloadMessage } from './workload-protocol.js';

export interface WorkloadRun {
  requests: RequestLog;
  samples: LockSample[];
  errors: Record<string, number>;
}

/** A started workload; `stop()` ends it and returns everything it recorded. */
export interface Workload {
  stop(): Promise<WorkloadRun>;
}

/**
 * Start the workload and wait until its loops are running.
 *
 * @example
 * const w = await startWorkload({ url, clients: 6, ratePerClient: 50, maxId: 100_000, statementTimeoutMs: 5000, sampleMs: 20, seed: 1 });
 * const run = await w.stop();
 */
export async function startWorkload(config: WorkloadConfig): Promise<Workload> {
  const child: ChildProcess = forkTs('lib/workload-child.ts', [JSON.stringify(config)]);
  child.stdout?.resume();
  const isReady = isMessage('ready');
  const isFatal = isMessage('fatal');
  const first = await nextMessage(child, (m): m is WorkloadMessage => isReady(m) || isFatal(m), 60_000);
  if (first.type === 'fatal') throw new Error(`the workload failed to start: ${first.message}`);
  return {
    async stop() {
      const result = nextMessage(child, isMessage('result'), 120_000);
      child.send({ type: 'stop' });
      const r = await result;
      await new Promise<void>((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', () => resolve())));
      return { requests: r.requests, samples: r.samples, errors: r.errors };
    },
  };
}

/** What requests overlapping a window went through. */
export interface WindowStats {
  requests: number;
  failed: number;
  /** Requests on the new code path. */
  newPath: number;
  /** Latency from due time to completion, ms. */
  p50: number;
  p99: number;
  max: number;
  /** Requests seen waiting on a lock, and the longest such statement, ms (0 when none). */
  lockWaited: number;
  longestLockWaitMs: number;
  /** What the longest-waiting request waited for (`relation`: a table lock, e.g. DDL; `transactionid`/`tuple`: a row lock). */
  longestLockWaitEvent: string | null;
  /** When that request started (epoch ms), null when none waited. */
  longestLockWaitAt: number | null;
  /** The longest a sampled statement had been running while waiting (server clock), ms. */
  longestSampledWaitMs: number;
}

/**
 * Stats of the requests whose [due, end] overlaps [from, to] (epoch ms).
 *
 * @example
 * analyseWindow(run, changeStart, changeEnd)
 */
export function analyseWindow(run: WorkloadRun, from: number, to: number): WindowStats {
  const { requests: r, samples } = run;
  const byPid = new Map<number, LockSample[]>();
  for (const s of samples) {
    if (!byPid.has(s.pid)) byPid.set(s.pid, []);
    byPid.get(s.pid)!.push(s);
  }
  for (const list of byPid.values()) list.sort((a, b) => a.at - b.at);
  const latencies: number[] = [];
  let failed = 0;
  let newPath = 0;
  let lockWaited = 0;
  let longestLockWaitMs = 0;
  let longestLockWaitEvent: string | null = null;
  let longestLockWaitAt: number | null = null;
  for (let i = 0; i < r.due.length; i++) {
    if (r.end[i]! < from || r.due[i]! > to) continue;
    latencies.push(r.end[i]! - r.due[i]!);
    if (r.ok[i] === 0) failed++;
    if (r.newPath[i] === 1) newPath++;
    const seen = sampledWithin(byPid.get(r.pid[i]!), r.start[i]!, r.end[i]!);
    if (seen) {
      lockWaited++;
      if (r.end[i]! - r.start[i]! > longestLockWaitMs) {
        longestLockWaitMs = r.end[i]! - r.start[i]!;
        longestLockWaitEvent = seen.waitEvent;
        longestLockWaitAt = r.start[i]!;
      }
    }
  }
  const s = summarize(latencies);
  const longestSampledWaitMs = samples.filter((x) => x.at >= from && x.at <= to).reduce((m, x) => Math.max(m, x.runningMs), 0);
  return { requests: s.n, failed, newPath, p50: s.p50, p99: s.p99, max: s.max, lockWaited, longestLockWaitMs, longestLockWaitEvent, longestLockWaitAt, longestSampledWaitMs };
}

/** The first sample (sorted by time) taken within [start, end], if any. */
function sampledWithin(sorted: LockSample[] | undefined, start: number, end: number): LockSample | undefined {
  if (!sorted) return undefined;
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]!.at < start) lo = mid + 1;
    else hi = mid;
  }
  const s = sorted[lo];
  return s !== undefined && s.at <= end ? s : undefined;
}
