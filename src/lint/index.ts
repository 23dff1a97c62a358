/**
 * The SQL safety linter: PostgreSQL's own parser plus phase-aware rules.
 *
 * @example
 * import { lintSql, formatFindings } from './lint/index.js';
 * const findings = await lintSql(sql, { phase: 'expand', file: 'migrations/0001_x.ts', line: 12, column: 9 });
 * if (findings.some((f) => f.severity === 'error')) process.exitCode = 1;
 */
export { createLintSession } from './context.js';
export type { LintSession } from './context.js';
export { lintSql, lintSqlSync, loadLinter } from './engine.js';
export { lintSteps } from './steps.js';
export type { LintStep } from './steps.js';
export { findingsToJson, formatFindings, rulesMarkdown, summarize } from './format.js';
export type { FindingsJson } from './format.js';
export { ruleById, rules } from './rules/index.js';
export { parseSuppression } from './suppressions.js';
export { isSafeTypeChange, parseTypeString } from './type-change.js';
export { PHASES } from './types.js';
export type { Catalog, Finding, LintOptions, Phase, PhaseSeverity, RuleContext, RuleDefinition, RuleHit, Severity } from './types.js';
