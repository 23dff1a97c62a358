/**
 * The plan is the program: every phase of a migration as the final, ordered
 * list of typed steps the executor runs, bookkeeping and custom functions
 * included. It is built once, persisted at expand, and consumed as it is by
 * the executor, `migrate plan`, lint and the golden files.
 */

import type { BackfillTask, LockMode, MigrationPlan, Step, TableName } from '../ops/operation.js';

/** A SQL statement written by a planner (or by the user in `op.sql`). */
export interface SqlStep extends Step {
  kind: 'sql';
}

/** Fill new columns from old ones in keyset batches (resumable by checkpoints). */
export interface BackfillStep {
  kind: 'backfill';
  description: string;
  lock: LockMode;
  task: BackfillTask;
}

/** Count rows where a new side differs from up(old side); expand fails if any. */
export interface VerifyStep {
  kind: 'verify';
  description: string;
  lock: LockMode;
  tasks: BackfillTask[];
}

/** One of the migration's own functions (`expand`, `contract`, `abort`), run with a Kysely transaction. */
export interface CustomStep {
  kind: 'custom';
  description: string;
  lock: LockMode;
  fn: 'expand' | 'contract' | 'abort';
}

/** What curtain records about itself, in the same transaction as the neighbouring work. */
export type BookkeepingAction =
  | 'expand.start'
  | 'expand.done'
  | 'switch.on'
  | 'switch.off'
  | 'contract.start'
  | 'contract.done'
  | 'abort.start'
  | 'abort.flag-off'
  | 'abort.done';

export interface BookkeepingStep {
  kind: 'bookkeeping';
  description: string;
  lock: LockMode;
  action: BookkeepingAction;
}

/** The contract guards (flag fully on, soak, telemetry, verification, code references). */
export interface GuardsStep {
  kind: 'guards';
  description: string;
  lock: LockMode;
}

/**
 * Run the destructive steps in a transaction that is rolled back, so that
 * whatever PostgreSQL would refuse (a view using a dropped column, a
 * constraint already gone) is found before anything is destroyed.
 */
export interface RehearseStep {
  kind: 'rehearse';
  description: string;
  lock: LockMode;
  /** Indexes (in the same phase) of the steps rehearsed. */
  steps: number[];
}

/** An automatic snapshot of the tables the phase is about to change. */
export interface SnapshotStep {
  kind: 'snapshot';
  description: string;
  lock: LockMode;
  point: 'switch' | 'contract';
}

/** Wait until every live flags client has seen the flag's latest version (or the drain time passed). */
export interface DrainStep {
  kind: 'drain';
  description: string;
  lock: LockMode;
}

export type ProgramStep = SqlStep | BackfillStep | VerifyStep | CustomStep | BookkeepingStep | GuardsStep | RehearseStep | SnapshotStep | DrainStep;

/** The program's phases, one per lifecycle command. */
export type ProgramPhase = 'expand' | 'switch' | 'switch-off' | 'contract' | 'abort';

/** A migration's whole program, as persisted at expand. */
export interface Program {
  version: 2;
  phases: Record<ProgramPhase, ProgramStep[]>;
  /** "schema.table.column" (or "schema.table.*") this migration changes. */
  touches: string[];
  /** Tables whose data contract destroys or rewrites: what a snapshot must hold. */
  affectedTables: TableName[];
  /** Columns the migration's catalog objects read (constraints, indexes): another migration must not change them meanwhile. */
  reads: string[];
  /** Functions that may break, objects that go with a dropped column (shown by plan and lint). */
  warnings: string[];
}

/** What the program needs to know of the migration besides its plan. */
export interface ProgramOptions {
  /** Which of the migration's custom functions exist. */
  custom: { expand?: boolean; contract?: boolean; abort?: boolean };
  /** A code migration: a flag and no schema. */
  kind: 'schema' | 'code';
}

/** Steps that run inside one transaction with their transactional neighbours. */
export function isTransactional(s: ProgramStep): boolean {
  return (s.kind === 'sql' && s.transactional) || s.kind === 'custom' || s.kind === 'bookkeeping';
}

/** Steps that destroy or rewrite data of the old state. */
export function isDestructive(s: ProgramStep): boolean {
  return s.kind === 'sql' && !s.ownTransaction;
}

const sql = (s: Step): SqlStep => ({ ...s, kind: 'sql' });
const book = (action: BookkeepingAction, description: string): BookkeepingStep => ({ kind: 'bookkeeping', action, description, lock: 'none' });
const custom = (fn: CustomStep['fn']): CustomStep => ({ kind: 'custom', fn, description: `custom ${fn} function`, lock: 'ACCESS EXCLUSIVE' });

/**
 * Turn a merged operation plan into the program of every phase.
 *
 * @example
 * const program = buildProgram(await planMigration(ops, ctx), { custom: {}, kind: 'schema' });
 * program.phases.contract.map((s) => s.description);
 */
export function buildProgram(
  plan: Pick<MigrationPlan, 'expand' | 'backfill' | 'afterBackfill' | 'contract' | 'abort' | 'touches' | 'affectedTables'> & {
    authority: { old: Step[]; new: Step[] };
    reads?: string[];
    warnings?: string[];
  },
  options: ProgramOptions,
): Program {
  const expand: ProgramStep[] = [
    book('expand.start', 'record the migration and create its flag (off)'),
    ...plan.expand.filter((s) => s.transactional).map(sql),
    ...(options.custom.expand ? [custom('expand')] : []),
    ...plan.expand.filter((s) => !s.transactional).map(sql),
    ...plan.backfill.map((task): BackfillStep => ({
      kind: 'backfill',
      description: `backfill ${task.table.schema}.${task.table.name}: ${Object.keys(task.set).join(', ')}`,
      lock: 'ROW EXCLUSIVE',
      task,
    })),
    ...(plan.backfill.length > 0
      ? [{ kind: 'verify', description: 'verify: no row where a new column differs from up(old)', lock: 'ACCESS SHARE', tasks: plan.backfill } satisfies VerifyStep]
      : []),
    ...plan.afterBackfill.map(sql),
    book('expand.done', 'mark the migration expanded'),
  ];

  const switchOn: ProgramStep[] = [
    { kind: 'snapshot', point: 'switch', description: 'snapshot the tables new code will write (when the flag goes from off to on)', lock: 'ACCESS SHARE' },
    ...plan.authority.new.map(sql),
    book('switch.on', 'turn the flag on (for the requested percentage)'),
  ];
  const switchOff: ProgramStep[] = [...plan.authority.old.map(sql), book('switch.off', 'turn the flag off')];

  // Contract in two halves: everything that can fail without destroying anything
  // (guards, VALIDATE, a rolled-back rehearsal of the drops, the snapshot), then the
  // destructive steps, the first of them in the transaction that marks the migration contracting.
  const validates = plan.contract.filter((s) => s.ownTransaction).map(sql);
  const destructive: ProgramStep[] = [
    ...plan.contract.filter((s) => !s.ownTransaction).map(sql),
    ...(options.custom.contract ? [custom('contract')] : []),
  ];
  const firstDestructive = 1 + validates.length + 3;
  const rehearsed = destructive.flatMap((s, i) => (s.kind === 'sql' ? [firstDestructive + i] : []));
  const contract: ProgramStep[] = [
    { kind: 'guards', description: 'check the contract guards', lock: 'none' },
    ...validates,
    {
      kind: 'rehearse',
      description: 'rehearse the destructive steps in a transaction that is rolled back (finds dependent objects)',
      lock: rehearsed.length === 0 ? 'none' : destructive.some((s) => s.lock === 'ACCESS EXCLUSIVE') ? 'ACCESS EXCLUSIVE' : 'SHARE ROW EXCLUSIVE',
      steps: rehearsed,
    },
    { kind: 'snapshot', point: 'contract', description: 'snapshot what contract removes', lock: 'ACCESS SHARE' },
    book('contract.start', 'mark the migration contracting'),
    ...destructive,
    book('contract.done', 'lock the flag on and mark the migration contracted'),
  ];

  const abort: ProgramStep[] = [
    book('abort.start', 'mark the migration aborting'),
    book('abort.flag-off', 'turn the flag off (if it is on)'),
    { kind: 'drain', description: 'wait until every live flags client has seen the flag off', lock: 'none' },
    ...(options.custom.abort ? [custom('abort')] : []),
    ...plan.abort.map(sql),
    book('abort.done', 'delete the flag and mark the migration aborted'),
  ];

  return {
    version: 2,
    phases: { expand, switch: switchOn, 'switch-off': switchOff, contract, abort },
    touches: plan.touches,
    affectedTables: plan.affectedTables,
    reads: plan.reads ?? [],
    warnings: plan.warnings ?? [],
  };
}

/** The index of the step that starts contract's destructive half (its bookkeeping). */
export function destructiveStart(steps: ProgramStep[]): number {
  return steps.findIndex((s) => s.kind === 'bookkeeping' && s.action === 'contract.start');
}

/**
 * A plan persisted before programs existed (version 1: step lists per phase)
 * as a program, so migrations in flight across an upgrade keep running.
 */
export function programOf(stored: unknown, options: ProgramOptions): Program {
  const s = stored as Program | (MigrationPlanV1 & { version?: undefined });
  if (s.version === 2) return { ...s, reads: s.reads ?? [], warnings: s.warnings ?? [] };
  return buildProgram(s, options);
}

interface MigrationPlanV1 {
  expand: Step[];
  backfill: BackfillTask[];
  afterBackfill: Step[];
  contract: Step[];
  abort: Step[];
  authority: { old: Step[]; new: Step[] };
  touches: string[];
  affectedTables: TableName[];
}

/** Every backfill task of the program (for the contract's re-verification and status). */
export function backfillTasks(program: Program): BackfillTask[] {
  return program.phases.expand.flatMap((s) => (s.kind === 'backfill' ? [s.task] : []));
}
