import { describe, expect, it } from 'vitest';
import { lintSql } from '../../../src/lint/index.js';
import { SourceText, scanComments } from '../../../src/lint/source.js';
import { LOCK, lint } from './helpers.js';

describe('comment scanning', () => {
  it('finds line and nested block comments, not text inside strings, identifiers or dollar quotes', () => {
    const sql = [
      "SELECT '--no', E'it\\'s -- no', \"a--b\", $fn$ -- no $fn$, $$ /* no */ $$; -- yes1",
      '/* yes2 /* nested */ still yes2 */ SELECT 1;',
    ].join('\n');
    expect(scanComments(sql).map((c) => c.body.trim())).toEqual(['yes1', 'yes2 /* nested */ still yes2']);
  });

  it('maps UTF-8 byte offsets and code points to characters', () => {
    const src = new SourceText("é😀x");
    expect([src.charIndex(0), src.charIndex(2), src.charIndex(6)]).toEqual([0, 1, 3]);
    expect(src.charIndexOfCodePoint(2)).toBe(3);
    expect(src.position(3)).toEqual({ line: 1, column: 4 });
  });

  it('handles CRLF line endings', async () => {
    const sql = `${LOCK.replace('\n', '\r\n')}-- curtain:allow drop-column data copied by 0041\r\nALTER TABLE a DROP COLUMN b;\r\nALTER TABLE a DROP COLUMN c;\r\n`;
    const findings = await lintSql(sql, { phase: 'expand' });
    expect(findings.map((f) => `${f.rule}@${f.line}:${f.column} ${JSON.stringify(f.statement)}`)).toEqual([
      'drop-column@4:1 "ALTER TABLE a DROP COLUMN c"',
    ]);
  });

  it('a multi-line block comment directly above a statement suppresses it', async () => {
    const sql = `${LOCK}/*\n curtain:allow drop-column the data moved to profiles in 0041\n*/\nALTER TABLE a DROP COLUMN b;`;
    expect(await lint(sql)).toEqual([]);
  });

  it('rejects an unknown phase', async () => {
    await expect(lintSql('SELECT 1', { phase: 'deploy' as never })).rejects.toThrow(/unknown lint phase "deploy"/);
  });
});
