import { Kysely, PostgresDialect } from 'kysely';
import type pg from 'pg';
import { runBackfill, throttleOptionsFrom, verifyBackfill } from '../../backfill/index.js';
import { describeOutOfSync } from '../../backfill/verify.js';
import { isConnectionError } from '../../db/connection-error.js';
import { CurtainError, GuardRefusal, UsageError } from '../../errors.js';
import type { LifecycleContext, TransitionResult } from '../context.js';
import type { StepRuntime } from '../executor.js';
import type { LoadedMigration } from '../loader.js';
import { describe, outcome, type Command, type Outcome } from '../machine.js';
import type { BookkeepingAction, ProgramStep } from '../program.js';
import type { MigrationEntry } from '../project.js';

/**
 * Ask the machine whether `command` runs on `entry`: returns the outcome to
 * run, a no-op result, or throws the table's refusal with its hint.
 */
export function admit(command: Command, entry: MigrationEntry, flag: string | undefined): { run: Extract<Outcome, { action: 'run' }> } | { noop: TransitionResult } {
  const o = outcome(command, entry.phase);
  if (o.action === 'run') return { run: o };
  if (o.action === 'noop') {
    return { noop: { migration: entry.name, flag: flag ?? entry.record?.flag ?? '', from: entry.phase, to: entry.phase, noop: true, durationMs: 0 } };
  }
  const names = { name: entry.name, flag: flag ?? entry.record?.flag };
  if (o.as === 'guard') throw new GuardRefusal(o.guard ?? command, describe(o.why, names), describe(o.hint, names));
  throw new UsageError(describe(o.why, names), describe(o.hint, names));
}

/** Handlers a transition gives for the step kinds it owns. */
export interface TransitionHandlers {
  bookkeeping?: (action: BookkeepingAction, tx: pg.PoolClient) => Promise<void>;
  guards?: () => Promise<void>;
  rehearse?: (step: Extract<ProgramStep, { kind: 'rehearse' }>) => Promise<void>;
  snapshot?: (step: Extract<ProgramStep, { kind: 'snapshot' }>) => Promise<void>;
  drain?: () => Promise<void>;
}

/**
 * The runtime for a migration's program: custom functions, backfills and
 * verification are the same in every phase; the rest comes from the transition.
 */
export function stepRuntime(ctx: LifecycleContext, migration: LoadedMigration, handlers: TransitionHandlers): StepRuntime {
  const missing = (step: ProgramStep): never => {
    throw new Error(`no handler for ${step.kind} step "${step.description}" in this phase`);
  };
  return {
    async inTransaction(step, tx) {
      if (step.kind === 'bookkeeping') return handlers.bookkeeping ? handlers.bookkeeping(step.action, tx) : missing(step);
      if (step.kind === 'custom') {
        const fn = migration.definition[step.fn];
        if (!fn) throw new CurtainError(`the program calls the migration's ${step.fn} function, but ${migration.name} has none`);
        await fn({ db: kyselyOn(tx), query: async (text, values) => ({ rows: (await tx.query(text, values)).rows }) });
        return;
      }
      missing(step);
    },
    async alone(step) {
      switch (step.kind) {
        case 'backfill':
          await runBackfill(ctx.pool, step.task, {
            schema: ctx.config.schema,
            migration: migration.name,
            batchSize: ctx.batchSize ?? ctx.config.backfill.batchSize,
            batchDelayMs: ctx.batchDelayMs ?? ctx.config.backfill.batchDelayMs,
            targetBatchMs: ctx.config.backfill.targetBatchTimeMs,
            lockTimeoutMs: ctx.config.lockTimeoutMs,
            lockRetries: ctx.config.lockRetries,
            maxLockWaitMs: ctx.config.backfill.maxLockWaitMs,
            fence: ctx.fence,
            throttle: throttleOptionsFrom(ctx.config.backfill),
            signal: ctx.signal,
            onProgress: (p) => ctx.reporter?.backfill?.(migration.name, p),
          });
          if (ctx.signal?.aborted) throw new CurtainError(`backfill of ${migration.name} was interrupted`, { hint: `rerun "migrate expand ${migration.name}" to resume` });
          return;
        case 'verify': {
          let outOfSync = 0;
          const where: string[] = [];
          for (const task of step.tasks) {
            const r = await verifyBackfill(ctx.pool, task);
            outOfSync += r.outOfSync;
            if (r.outOfSync > 0) where.push(describeOutOfSync(r));
          }
          if (outOfSync > 0) {
            throw new CurtainError(`verification found ${outOfSync} row(s) where the new columns differ from up(old): ${where.join('; ')}`, {
              hint: 'check the up expressions and the triggers',
            });
          }
          return;
        }
        case 'guards':
          return handlers.guards ? handlers.guards() : missing(step);
        case 'rehearse':
          return handlers.rehearse ? handlers.rehearse(step) : missing(step);
        case 'snapshot':
          return handlers.snapshot ? handlers.snapshot(step) : missing(step);
        case 'drain':
          return handlers.drain ? handlers.drain() : missing(step);
        default:
          missing(step);
      }
    },
  };
}

/** A Kysely instance that runs every query on one client (inside its transaction). */
function kyselyOn(client: pg.PoolClient): Kysely<any> {
  const pool = {
    connect: async () => ({ query: (...args: unknown[]) => (client.query as (...a: unknown[]) => unknown)(...args), release: () => {} }),
    end: async () => {},
  };
  return new Kysely<any>({ dialect: new PostgresDialect({ pool: pool as unknown as pg.Pool }) });
}

export { isConnectionError };
