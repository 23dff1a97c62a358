import { lintSql, type Finding, type LintOptions } from '../../../src/lint/index.js';

/** `rule@line:col` for compact, exact assertions. */
export function brief(findings: readonly Finding[]): string[] {
  return findings.map((f) => `${f.rule}@${f.line}:${f.column}`);
}

export async function lint(sql: string, options: Partial<LintOptions> = {}): Promise<string[]> {
  return brief(await lintSql(sql, { phase: 'expand', ...options }));
}

export const LOCK = "SET lock_timeout = '1s';\n";
