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
  constructor(message: string, options: { hint?: string; exitCode?: ExitCode; cause?: unknown; step?: StepInfo } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.exitCode = options.exitCode ?? ExitCode.error;
    this.hint = options.hint;
    this.step = options.step ?? (options.cause instanceof CurtainError ? options.cause.step : undefined);
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
