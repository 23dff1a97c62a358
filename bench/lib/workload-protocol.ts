/** Messages between the benchmark and the application-like workload process (lib/workload-child.ts). */

export interface WorkloadConfig {
  url: string;
  /** Concurrent client loops, each with its own connection. */
  clients: number;
  /** Scheduled requests per second per client (open loop). */
  ratePerClient: number;
  /** Highest existing order id; requests pick ids in 1..maxId. */
  maxId: number;
  /** The migration's flag; without it every request takes the old path. */
  flag?: string;
  /** The column new code uses instead of `total`. */
  newColumn?: string;
  /** The application's statement_timeout: a request slower than this fails. */
  statementTimeoutMs: number;
  /** pg_stat_activity sampling interval. */
  sampleMs: number;
  seed: number;
}

/** Per-request records, column-wise (compact over IPC). Times are epoch ms (lib/clock.ts nowMs). */
export interface RequestLog {
  /** When the request was due (open-loop schedule). */
  due: number[];
  start: number[];
  end: number[];
  /** 1 ok, 0 failed. */
  ok: number[];
  /** 1 new path (flag on for the subject), 0 old path. */
  newPath: number[];
  /** Backend pid of the connection that ran it. */
  pid: number[];
}

/** A client backend seen waiting on a lock (`wait_event_type = 'Lock'`). */
export interface LockSample {
  pid: number;
  at: number;
  /** Server-side: how long the statement had been running when sampled. */
  runningMs: number;
  waitEvent: string;
}

export type WorkloadMessage =
  | { type: 'ready' }
  | { type: 'result'; requests: RequestLog; samples: LockSample[]; errors: Record<string, number> }
  | { type: 'fatal'; message: string };

export const isMessage = <K extends WorkloadMessage['type']>(type: K) =>
  (m: unknown): m is Extract<WorkloadMessage, { type: K }> => typeof m === 'object' && m !== null && (m as { type?: unknown }).type === type;
