import type { Node } from 'libpg-query';
import type { LintSession } from './context.js';

/** The migration phase the SQL runs in; `any` when the caller cannot tell (a loose .sql file). */
export type Phase = 'expand' | 'contract' | 'abort' | 'any';
export const PHASES: readonly Phase[] = ['expand', 'contract', 'abort', 'any'];

export type Severity = 'error' | 'warning';
/** A rule's severity in one phase; `off` means the statement is expected there. */
export type PhaseSeverity = Severity | 'off';

/** What the linter knows about the live schema; optional, used to judge type changes. */
export interface Catalog {
  /** The column's current type as `format_type` prints it (`character varying(50)`), or undefined when unknown. */
  columnType(table: string, column: string): string | undefined;
}

export interface LintOptions {
  phase: Phase;
  /** Reported in findings; the linter never reads it. */
  file?: string;
  /** 1-based line where this SQL string starts in `file` (default 1). */
  line?: number;
  /** 1-based column where this SQL string starts on that line (default 1). */
  column?: number;
  /** SQL produced by curtain's own operations: still linted, findings tagged `generated`. */
  generated?: boolean;
  /** The caller runs the whole string inside a transaction block. */
  inTransaction?: boolean;
  catalog?: Catalog;
  /** Share facts (tables created, checks validated, lock_timeout) with earlier calls; see createLintSession. */
  session?: LintSession;
}

export interface Finding {
  rule: string;
  severity: Severity;
  message: string;
  /** One line: what goes wrong in production. */
  why: string;
  /** The safe alternative. */
  fix: string;
  file?: string;
  /** 1-based, already offset by the options' line. */
  line: number;
  /** 1-based, in characters, already offset by the options' column on the first line. */
  column: number;
  /** The statement's text (trimmed of surrounding comments and whitespace). */
  statement: string;
  /** Set when the SQL came from curtain's own operations. */
  generated?: boolean;
}

/** One problem a rule found in one statement. */
export interface RuleHit {
  message: string;
  /** UTF-8 byte offset into the linted SQL (a parser `location`); defaults to the statement start. */
  location?: number;
  /** Downgrade to a warning when the rule cannot be sure (never upgrades the phase severity). */
  severity?: Severity;
}

/** What a rule sees besides the statement: state accumulated from the statements before it. */
export interface RuleContext {
  readonly phase: Phase;
  readonly generated: boolean;
  readonly catalog: Catalog | undefined;
  /** Inside BEGIN ... COMMIT in this string, or the caller said the string runs in a transaction. */
  readonly inTransaction: boolean;
  /** A non-zero `lock_timeout` was set by an earlier statement. */
  readonly lockTimeoutSet: boolean;
  /** The table was created earlier in the same SQL: nobody else can hold a lock on it or read it yet. */
  isNewTable(schema: string | undefined, table: string): boolean;
  /** An earlier statement added and validated `CHECK (column IS NOT NULL)` on the table. */
  hasValidatedNotNullCheck(schema: string | undefined, table: string, column: string): boolean;
  /** Statements that run after this one: the rest of this string, then the later steps of a `lintSteps` call. */
  following(): readonly Node[];
  /** True the first time it is called with `key` for this SQL string (for once-per-string rules). */
  once(key: string): boolean;
}

export interface RuleDefinition {
  id: string;
  severity: Readonly<Record<Phase, PhaseSeverity>>;
  /** One line: why the statement is dangerous. */
  why: string;
  /** The safe alternative. */
  fix: string;
  /** Absent for findings the engine itself produces (syntax errors, suppressions). */
  check?: (stmt: Node, ctx: RuleContext) => RuleHit[];
}
