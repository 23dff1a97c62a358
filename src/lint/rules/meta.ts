/**
 * Rules whose findings the engine produces itself (they have no `check`):
 * they live in the table so suppression, docs and fixtures treat them alike.
 */
import type { RuleDefinition } from '../types.js';
import { ALWAYS_ERROR, ALWAYS_WARNING } from './severity.js';

export const syntaxError: RuleDefinition = {
  id: 'syntax-error',
  severity: ALWAYS_ERROR,
  why: 'PostgreSQL cannot parse the SQL, so the migration would fail at this point (possibly half-way through a phase).',
  fix: 'Fix the SQL at the reported position; nothing else in this string was linted.',
};

export const suppressionWithoutReason: RuleDefinition = {
  id: 'suppression-without-reason',
  severity: ALWAYS_ERROR,
  why: 'A suppression with no reason hides a hazard without telling reviewers why it is acceptable.',
  fix: 'Write the reason after the rule id: -- curtain:allow <rule-id> <why this is safe here>.',
};

export const unknownSuppressionRule: RuleDefinition = {
  id: 'unknown-suppression-rule',
  severity: ALWAYS_WARNING,
  why: 'A suppression naming a rule that does not exist suppresses nothing (often a typo).',
  fix: 'Use one of the rule ids listed by the linter (see the rules table).',
};

export const unusedSuppression: RuleDefinition = {
  id: 'unused-suppression',
  severity: ALWAYS_WARNING,
  why: 'A suppression that matches no finding is stale or attached to the wrong statement, and would silently hide a future one.',
  fix: 'Delete it, or move it to the line directly above (or the end of) the statement it is meant for.',
};
