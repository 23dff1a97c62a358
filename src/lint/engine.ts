/**
 * Parses SQL with the real PostgreSQL parser (libpg-query, WASM), runs every
 * rule over every statement in order, applies suppressions, and maps parser
 * byte offsets to file line/column.
 */
import { hasSqlDetails, loadModule, parseSync } from 'libpg-query';
import type { Node, RawStmt } from 'libpg-query';
import { LintState } from './context.js';
import { rules, ruleById } from './rules/index.js';
import { SourceText } from './source.js';
import { findSuppressions, type Span } from './suppressions.js';
import { PHASES, type Finding, type LintOptions, type PhaseSeverity, type RuleDefinition, type RuleHit, type Severity } from './types.js';

let loaded: Promise<void> | undefined;
let ready = false;

/**
 * Loads the parser's WASM module once; required before {@link lintSqlSync}.
 *
 * @example
 * await loadLinter();
 * const findings = lintSqlSync('DROP TABLE users', { phase: 'expand' });
 */
export function loadLinter(): Promise<void> {
  loaded ??= loadModule().then(() => {
    ready = true;
  });
  return loaded;
}

/**
 * Lints one SQL string (any number of statements) for the given phase.
 * Never throws on bad SQL: that is a `syntax-error` finding.
 *
 * @example
 * const findings = await lintSql('CREATE INDEX i ON users (email);', { phase: 'expand', file: 'm.sql' });
 * // [{ rule: 'create-index-non-concurrently', severity: 'error', line: 1, column: 1, ... }, ...]
 */
export async function lintSql(sql: string, options: LintOptions): Promise<Finding[]> {
  await loadLinter();
  return lintSqlSync(sql, options);
}

interface Pending {
  rule: RuleDefinition;
  severity: Severity;
  message: string;
  /** Character index the finding points at. */
  at: number;
  statement: number | undefined;
  /** Text to report as the statement when `statement` is undefined. */
  text?: string;
}

/**
 * Synchronous {@link lintSql}, for callers that already awaited {@link loadLinter}.
 *
 * @example
 * await loadLinter();
 * lintSqlSync('VACUUM FULL users', { phase: 'any' }).map((f) => f.rule); // ['vacuum-full']
 */
export function lintSqlSync(sql: string, options: LintOptions): Finding[] {
  if (!ready) throw new Error('the SQL linter is not loaded yet: await loadLinter() (or use lintSql) first');
  if (!PHASES.includes(options.phase)) throw new TypeError(`unknown lint phase "${String(options.phase)}" (expected ${PHASES.join(', ')})`);
  const source = new SourceText(sql);
  let raw: RawStmt[];
  try {
    // The wrapper refuses blank input ("Query cannot be empty"); PostgreSQL accepts it as no statements.
    raw = sql.trim() === '' ? [] : ((parseSync(sql) as { stmts?: RawStmt[] }).stmts ?? []);
  } catch (error) {
    return [syntaxErrorFinding(source, error, options)];
  }

  const spans: Span[] = raw.map((r) => {
    const from = source.charIndex(r.stmt_location ?? 0);
    // stmt_len 0 means "to the end of the string" (last statement without a semicolon).
    const to = r.stmt_len ? source.charIndex((r.stmt_location ?? 0) + r.stmt_len) : sql.length;
    const start = source.skipTrivia(from, to);
    return { start, end: source.trimTrivia(to, start) };
  });

  const pending: Pending[] = [];
  const state = new LintState(options);
  const nodes = raw.map((r) => r.stmt).filter((n): n is Node => n !== undefined);
  raw.forEach((r, index) => {
    const stmt = r.stmt as Node | undefined;
    if (!stmt) return;
    const span = spans[index] ?? { start: 0, end: 0 };
    state.setRest(nodes.slice(nodes.indexOf(stmt) + 1));
    for (const rule of rules) {
      const phaseSeverity = rule.severity[options.phase];
      if (!rule.check || phaseSeverity === 'off') continue;
      for (const hit of runRule(rule, stmt, state)) {
        pending.push({
          rule,
          severity: weaker(phaseSeverity, hit.severity),
          message: hit.message,
          // A node location outside the statement would be a parser quirk; fall back to the start.
          at: clampTo(hit.location === undefined ? span.start : source.charIndex(hit.location), span),
          statement: index,
        });
      }
    }
    state.update(stmt);
  });

  const kept = applySuppressions(source, spans, pending, options);
  kept.sort((a, b) => a.at - b.at);
  return kept.map((p) => toFinding(p, source, spans, options));
}

function applySuppressions(source: SourceText, spans: Span[], pending: Pending[], options: LintOptions): Pending[] {
  const suppressions = findSuppressions(source, spans);
  const meta: Pending[] = [];
  const metaRule = (id: string): RuleDefinition => ruleById(id) ?? { id, severity: { expand: 'error', contract: 'error', abort: 'error', any: 'error' }, why: '', fix: '' };
  const add = (id: string, message: string, at: number, statement: number | undefined, text: string): void => {
    const rule = metaRule(id);
    const severity = rule.severity[options.phase];
    if (severity !== 'off') meta.push({ rule, severity, message, at, statement, text });
  };

  const kept = pending.filter((p) => {
    const match = suppressions.find((s) => s.statement === p.statement && s.ruleIds.includes(p.rule.id));
    if (match) match.used = true;
    return !match;
  });

  for (const s of suppressions) {
    const text = source.sql.slice(s.comment.start, s.comment.end);
    const at = s.comment.start;
    const unknown = s.ruleIds.filter((id) => !ruleById(id)?.check);
    for (const id of unknown) {
      const message = ruleById(id) ? `rule "${id}" cannot be suppressed` : `suppression names unknown rule "${id}"`;
      add('unknown-suppression-rule', message, at, s.statement, text);
    }
    if (s.ruleIds.length === 0) add('suppression-without-reason', 'curtain:allow names no rule and gives no reason', at, s.statement, text);
    else if (!s.reason) add('suppression-without-reason', `suppression of ${s.ruleIds.join(', ')} gives no reason`, at, s.statement, text);
    // A suppression for a rule that is off in this phase is harmless, not stale.
    const live = s.ruleIds.filter((id) => ruleById(id)?.check && ruleById(id)?.severity[options.phase] !== 'off');
    if (!s.used && live.length > 0) {
      const where = s.statement === undefined ? 'is not attached to any statement' : 'matches no finding on its statement';
      add('unused-suppression', `suppression of ${live.join(', ')} ${where}`, at, s.statement, text);
    }
  }
  return [...kept, ...meta];
}

function toFinding(p: Pending, source: SourceText, spans: Span[], options: LintOptions): Finding {
  const span = p.statement === undefined ? undefined : spans[p.statement];
  const statement = span ? source.sql.slice(span.start, span.end) : (p.text ?? '');
  const finding: Finding = {
    rule: p.rule.id,
    severity: p.severity,
    message: p.message,
    why: p.rule.why,
    fix: p.rule.fix,
    ...place(source, p.at, options),
    statement,
  };
  if (options.file !== undefined) finding.file = options.file;
  if (options.generated) finding.generated = true;
  return finding;
}

/** File position of a character index, offset by where the SQL string starts in the file. */
function place(source: SourceText, at: number, options: LintOptions): { line: number; column: number } {
  const { line, column } = source.position(at);
  const baseLine = options.line ?? 1;
  const baseColumn = options.column ?? 1;
  return { line: baseLine + line - 1, column: line === 1 ? baseColumn + column - 1 : column };
}

function syntaxErrorFinding(source: SourceText, error: unknown, options: LintOptions): Finding {
  const rule = ruleById('syntax-error');
  const message = error instanceof Error ? error.message : String(error);
  // The parser's cursor is a 0-based code-point offset.
  const cursor = hasSqlDetails(error) ? error.sqlDetails.cursorPosition : 0;
  let at = source.charIndexOfCodePoint(Math.max(0, cursor));
  // "at end of input" points past trailing blank lines and comments: show where the SQL stops instead.
  const codeEnd = source.trimTrivia(source.sql.length);
  if (at > codeEnd && /at end of input/.test(message)) at = codeEnd;
  const finding: Finding = {
    rule: 'syntax-error',
    severity: 'error',
    message,
    why: rule?.why ?? '',
    fix: rule?.fix ?? '',
    ...place(source, at, options),
    statement: source.lineText(at).trim(),
  };
  if (options.file !== undefined) finding.file = options.file;
  if (options.generated) finding.generated = true;
  return finding;
}

/** A rule that throws on an AST shape it did not expect reports that, instead of crashing the linter. */
function runRule(rule: RuleDefinition, stmt: Node, state: LintState): RuleHit[] {
  try {
    return rule.check?.(stmt, state) ?? [];
  } catch (error) {
    return [{ message: `internal error in rule ${rule.id}: ${error instanceof Error ? error.message : String(error)}` }];
  }
}

function weaker(phase: Exclude<PhaseSeverity, 'off'>, hit: Severity | undefined): Severity {
  return phase === 'warning' || hit === 'warning' ? 'warning' : 'error';
}

function clampTo(at: number, span: Span): number {
  return at < span.start || at > span.end ? span.start : at;
}
