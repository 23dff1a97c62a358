/**
 * Errors a user can cause carry an exit code and a hint; the CLI prints them as
 * one sentence plus the hint, never with a stack (unless `--verbose`).
 */
export const ExitCode = {
  ok: 0,
  error: 1,
  usage: 2,
  refused: 3,
  lockBusy: 4,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** The step of a migration's program where something failed. */
export interface StepInfo {
  migration?: string;
  phase: string;
  index: number;
  description: string;
  sql?: string;
}

/** Base class of every error curtain raises on purpose. */
export class CurtainError extends Error {
  readonly exitCode: ExitCode;
  readonly hint: string | undefined;
  /** Where in a migration's program it failed, when it did in one (the cause's step when wrapping). */
  readonly step: StepInfo | undefined;

  /**
   * True when the command stopped at a boundary with its progress kept (lost
   * lock, paused backfill, interrupted): the caller must not undo anything, a
   * rerun resumes.
   */
  readonly resumable: boolean;
  constructor(message: string, options: { hint?: string; exitCode?: ExitCode; cause?: unknown; step?: StepInfo; resumable?: boolean } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.exitCode = options.exitCode ?? ExitCode.error;
    this.hint = options.hint;
    this.step = options.step ?? (options.cause instanceof CurtainError ? options.cause.step : undefined);
    this.resumable = options.resumable ?? false;
  }
}

/** Bad arguments or options (exit 2). */
export class UsageError extends CurtainError {
  constructor(message: string, hint?: string) {
    super(message, { hint, exitCode: ExitCode.usage });
  }
}

/** A guard refused to proceed; nothing was changed (exit 3). */
export class GuardRefusal extends CurtainError {
  readonly guard: string;
  constructor(guard: string, message: string, hint?: string) {
    super(`refused by guard "${guard}": ${message}`, { hint, exitCode: ExitCode.refused });
    this.guard = guard;
  }
}

/** Another migrate process holds the database lock (exit 4). */
export class LockBusyError extends CurtainError {
  readonly holder: string;
  constructor(holder: string, waitedMs: number) {
    super(`another migrate holds the lock on this database (${holder}); waited ${waitedMs} ms`, {
      hint: 'wait for it to finish, or raise --lock-wait',
      exitCode: ExitCode.lockBusy,
    });
    this.holder = holder;
  }
}

/** A migration file is malformed, changed after being applied, or otherwise unusable. */
export class MigrationFileError extends CurtainError {
  readonly file: string;
  constructor(file: string, message: string, hint?: string) {
    super(`${displayPath(file)}: ${message}`, { hint });
    this.file = file;
  }
}

/** A path as the user typed it: relative to the working directory when inside it. */
function displayPath(file: string): string {
  if (!file.startsWith('/')) return file;
  const cwd = process.cwd();
  return file.startsWith(`${cwd}/`) ? file.slice(cwd.length + 1) : file;
}

/**
 * The command no longer holds the migrate lock (its lock session ended, or
 * another process took the lock since): it stops at the boundary where it
 * noticed, before recording anything more (exit 4).
 */
export class LockLostError extends CurtainError {
  readonly why: string;
  constructor(why: string, progress = 'nothing after the last finished step ran') {
    super(`lost the migrate lock (${why}); ${progress}; rerun to resume`, {
      hint: 'check "migrate status" first: another migrate may have taken over',
      exitCode: ExitCode.lockBusy,
      resumable: true,
    });
    this.why = why;
  }
}

/**
 * A backfill waited as long as it may for row locks held by the application
 * and stopped; its checkpoint is kept, so a rerun resumes there (exit 1).
 */
export class BackfillPausedError extends CurtainError {
  readonly table: string;
  /** Where the backfill stopped: `key (id)=(500)`, `page 12`, or `the first key`. */
  readonly position: string;
  constructor(table: string, position: string, why: string) {
    super(`expand paused at ${position} of ${table} (${why}); rerun to resume`, {
      hint: 'the backfill checkpoint is kept and nothing was undone: a rerun continues from there; raise backfill.maxLockWait or lockRetries to wait longer',
      resumable: true,
    });
    this.table = table;
    this.position = position;
  }
}

/**
 * A migration's own `up` expression fails on a row (a cast error, a
 * constraint): the message names the table, the row's key, the column(s)
 * and the expression.
 */
export class BackfillRowError extends CurtainError {
  readonly table: string;
  readonly key: string;
  readonly columns: string[];
  constructor(table: string, row: { key: string; columns: string[]; expressions: string[]; message: string }, cause: unknown) {
    super(`the backfill of ${table} fails on the row ${row.key}, column ${row.columns.join(', ')}: ${row.message} (in ${row.expressions.join('; ')})`, {
      hint: 'fix the up expression (or that row) and expand again',
      cause,
    });
    this.table = table;
    this.key = row.key;
    this.columns = row.columns;
  }
}
