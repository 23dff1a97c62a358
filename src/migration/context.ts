import type pg from 'pg';
import type { BackfillProgress } from '../backfill/index.js';
import type { Config } from '../config.js';
import type { StepEvent } from './executor.js';
import type { Phase } from './machine.js';

/** Hooks through which the lifecycle reports what it does. */
export interface LifecycleReporter {
  phase?(migration: string, message: string): void;
  step?(migration: string, event: StepEvent): void;
  backfill?(migration: string, progress: BackfillProgress): void;
}

/** What every transition needs. */
export interface LifecycleContext {
  config: Config;
  pool: pg.Pool;
  actor: string;
  reporter?: LifecycleReporter;
  /** Backfill batch size (overrides the configuration). */
  batchSize?: number;
  batchDelayMs?: number;
  /** Stop at the next step or batch boundary; a rerun resumes. */
  signal?: AbortSignal;
  /** Lint the SQL of expand and contract before running it (default true). */
  lint?: boolean;
  /** Proves, inside a step's transaction, that this process still holds the migrate lock. */
  fence?: (tx: pg.PoolClient) => Promise<void>;
}

/** The outcome of a lifecycle command for one migration. */
export interface TransitionResult {
  migration: string;
  flag: string;
  from: Phase;
  to: Phase;
  /** Nothing was done because the migration already was there. */
  noop: boolean;
  durationMs: number;
  details?: Record<string, unknown>;
}

/** Executor options for a migration's phase, from the context. */
export function executorOptions(ctx: LifecycleContext, migration: string, phase: string) {
  return {
    pool: ctx.pool,
    schema: ctx.config.schema,
    migration,
    phase,
    lockTimeoutMs: ctx.config.lockTimeoutMs,
    retries: ctx.config.lockRetries,
    fence: ctx.fence,
    signal: ctx.signal,
    onEvent: (e: StepEvent) => ctx.reporter?.step?.(migration, e),
  };
}
