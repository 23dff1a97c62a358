/** Human and JSON renderings of findings, for `migrate lint` and `--json`. */
import pc from 'picocolors';
import { escapeControl } from '../text/control.js';
import { rules } from './rules/index.js';
import { PHASES, type Finding } from './types.js';

/**
 * Human-readable report: one header line per finding
 * (`file:line:col  error  rule-id  message`), then the statement, why and fix, indented.
 *
 * @example
 * console.log(formatFindings(await lintSql(sql, { phase: 'expand', file: 'm.sql' }), { color: process.stdout.isTTY }));
 */
export function formatFindings(findings: readonly Finding[], options: { color: boolean }): string {
  const c = pc.createColors(options.color);
  // File names, messages and statements come from migration files: data, escaped before we colour around them.
  const data = (s: string) => escapeControl(s, { singleLine: true });
  const lines: string[] = [];
  for (const f of findings) {
    const where = `${data(f.file ?? '<sql>')}:${f.line}:${f.column}`;
    const severity = f.severity === 'error' ? c.red('error') : c.yellow('warning');
    const generated = f.generated ? c.dim(' (generated SQL)') : '';
    lines.push(`${c.bold(where)}  ${severity}  ${c.cyan(f.rule)}  ${data(f.message)}${generated}`);
    lines.push(`    ${c.dim('statement:')} ${data(firstLine(f.statement))}`);
    lines.push(`    ${c.dim('why:')} ${f.why}`);
    lines.push(`    ${c.dim('fix:')} ${f.fix}`);
  }
  return lines.join('\n');
}

/**
 * Counts for the summary line and the exit code (1 when `errors > 0`).
 *
 * @example
 * const { errors, warnings } = summarize(findings);
 * console.log(`${errors} errors, ${warnings} warnings`);
 */
export function summarize(findings: readonly Finding[]): { errors: number; warnings: number } {
  const errors = findings.filter((f) => f.severity === 'error').length;
  return { errors, warnings: findings.length - errors };
}

export interface FindingsJson {
  errors: number;
  warnings: number;
  findings: Finding[];
}

/**
 * The `--json` shape: counts plus the findings as they are.
 *
 * @example
 * process.stdout.write(JSON.stringify(findingsToJson(findings), null, 2));
 */
export function findingsToJson(findings: readonly Finding[]): FindingsJson {
  return { ...summarize(findings), findings: findings.map((f) => ({ ...f })) };
}

/**
 * The rules table as Markdown (id | expand | contract | abort | any | why | fix), for the README.
 *
 * @example
 * fs.writeFileSync('docs/rules.md', rulesMarkdown());
 */
export function rulesMarkdown(): string {
  // Pipes would split cells; `<rule-id>` would be swallowed as an HTML tag.
  const esc = (s: string): string => s.replace(/\|/g, '\\|').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const header = ['rule', ...PHASES, 'why', 'safe alternative'];
  const rows = rules.map((r) => ['`' + r.id + '`', ...PHASES.map((p) => r.severity[p]), esc(r.why), esc(r.fix)]);
  return [header, header.map(() => '---'), ...rows].map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}

function firstLine(statement: string): string {
  const [first = ''] = statement.split('\n');
  const more = statement.includes('\n') ? ' ...' : '';
  return first.length > 100 ? `${first.slice(0, 97)}...` : first + more;
}
