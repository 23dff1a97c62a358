import { describe, expect, it } from 'vitest';
import { findingsToJson, formatFindings, lintSql, rules, rulesMarkdown, summarize } from '../../../src/lint/index.js';
import { LOCK } from './helpers.js';

describe('output', () => {
  const sql = `${LOCK}CREATE INDEX a ON t (x);\nALTER TABLE t ALTER COLUMN c TYPE text;`;

  it('formats header lines as file:line:col  severity  rule  message, then statement/why/fix', async () => {
    const findings = await lintSql(sql, { phase: 'expand', file: 'm.sql' });
    const text = formatFindings(findings, { color: false });
    const lines = text.split('\n');
    expect(lines.filter((l) => !l.startsWith('    '))).toEqual([
      'm.sql:2:1  error  create-index-non-concurrently  index a on t is built without CONCURRENTLY',
      'm.sql:3:35  warning  alter-column-type  cannot verify that t.c → text is a safe widening (old type unknown); it rewrites the table unless the column is already varchar/text',
    ]);
    expect(lines[1]).toBe('    statement: CREATE INDEX a ON t (x)');
    expect(lines[2]).toBe(`    why: ${rules[0]?.why}`);
    expect(lines[3]).toBe(`    fix: ${rules[0]?.fix}`);
    expect(text).not.toContain('\u001b[');
  });

  it('colours when asked, and labels SQL without a file and generated SQL', async () => {
    const findings = await lintSql('CREATE INDEX a ON t (x);', { phase: 'expand', generated: true });
    const text = formatFindings(findings, { color: true });
    expect(text).toContain('\u001b[');
    expect(formatFindings(findings, { color: false }).split('\n')[0]).toBe(
      '<sql>:1:1  error  create-index-non-concurrently  index a on t is built without CONCURRENTLY (generated SQL)',
    );
  });

  it('JSON carries counts and every field', async () => {
    const findings = await lintSql(sql, { phase: 'expand', file: 'm.sql' });
    const json = findingsToJson(findings);
    expect(summarize(findings)).toEqual({ errors: 1, warnings: 1 });
    expect(json.errors).toBe(1);
    expect(json.warnings).toBe(1);
    expect(JSON.parse(JSON.stringify(json)).findings[0]).toEqual({
      rule: 'create-index-non-concurrently',
      severity: 'error',
      message: 'index a on t is built without CONCURRENTLY',
      why: rules[0]?.why,
      fix: rules[0]?.fix,
      file: 'm.sql',
      line: 2,
      column: 1,
      statement: 'CREATE INDEX a ON t (x)',
    });
  });

  it('renders the rules table as Markdown with one row per rule', () => {
    const md = rulesMarkdown().split('\n');
    expect(md[0]).toBe('| rule | expand | contract | abort | any | why | safe alternative |');
    expect(md).toHaveLength(rules.length + 2);
    expect(md[2]).toMatch(/^\| `create-index-non-concurrently` \| error \| error \| error \| error \| /);
    expect(md.find((l) => l.includes('`drop-column`'))).toMatch(/\| error \| off \| off \| warning \|/);
  });
});

describe('rulesMarkdown escaping', () => {
  it('keeps angle brackets visible in Markdown', () => {
    const row = rulesMarkdown().split('\n').find((l) => l.includes('`suppression-without-reason`'));
    expect(row).toContain('-- curtain:allow &lt;rule-id&gt; &lt;why this is safe here&gt;.');
  });
});
