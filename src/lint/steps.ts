/**
 * Linting a sequence of SQL strings that run one after the other (a
 * migration plan's steps for one phase), so that facts from earlier steps
 * and fix-ups in later ones are taken into account.
 */
import { parseSync, type Node, type RawStmt } from 'libpg-query';
import { createLintSession } from './context.js';
import { lintSqlSync, loadLinter } from './engine.js';
import type { Finding, LintOptions } from './types.js';

export interface LintStep {
  sql: string;
  /** Where this step's SQL starts in `file`; see {@link LintOptions}. */
  file?: string;
  line?: number;
  column?: number;
  /** Overrides the shared option for this step. */
  generated?: boolean;
  /** The step runs inside a transaction block (curtain: `step.transactional`). */
  inTransaction?: boolean;
}

/**
 * Lints steps in order with one shared session: a table created, a check
 * validated or a lock_timeout SET by an earlier step counts for later ones,
 * and a later compatibility view excuses an earlier table rename.
 *
 * @example
 * const findings = await lintSteps(
 *   plan.expand.map((s) => ({ sql: s.sql, inTransaction: s.transactional })),
 *   { phase: 'expand', generated: true, file: 'migrations/0042_rename.ts' },
 * );
 */
export async function lintSteps(steps: readonly LintStep[], options: Omit<LintOptions, 'session' | 'line' | 'column'>): Promise<Finding[]> {
  await loadLinter();
  const parsed: Node[][] = steps.map((s) => statementsOf(s.sql));
  const session = createLintSession();
  const findings: Finding[] = [];
  steps.forEach((step, i) => {
    session.facts.upcoming = parsed.slice(i + 1).flat();
    const stepOptions: LintOptions = { ...options, session };
    if (step.file !== undefined) stepOptions.file = step.file;
    if (step.line !== undefined) stepOptions.line = step.line;
    if (step.column !== undefined) stepOptions.column = step.column;
    if (step.generated !== undefined) stepOptions.generated = step.generated;
    if (step.inTransaction !== undefined) stepOptions.inTransaction = step.inTransaction;
    findings.push(...lintSqlSync(step.sql, stepOptions));
  });
  return findings;
}

function statementsOf(sql: string): Node[] {
  if (sql.trim() === '') return [];
  try {
    const stmts = (parseSync(sql) as { stmts?: RawStmt[] }).stmts ?? [];
    return stmts.map((s) => s.stmt).filter((n): n is Node => n !== undefined);
  } catch {
    return []; // reported as syntax-error when the step itself is linted
  }
}
