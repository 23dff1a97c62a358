import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { lintSql } from '../../../src/lint/index.js';
import { LOCK, lint } from './helpers.js';

describe('syntax errors', () => {
  it('are findings with the parser message and exact position, never a throw', async () => {
    const findings = await lintSql('SELECT 1;\nALTER TABLE users ADD COLUMN age int,, ADD COLUMN b text;\n', { phase: 'expand', file: 'm.sql' });
    expect(findings).toEqual([
      expect.objectContaining({
        rule: 'syntax-error',
        severity: 'error',
        message: 'syntax error at or near ","',
        file: 'm.sql',
        line: 2,
        column: 38,
        statement: 'ALTER TABLE users ADD COLUMN age int,, ADD COLUMN b text;',
      }),
    ]);
  });

  it('at end of input', async () => {
    expect(await lint('SELECT 1;\nSELECT *\n  FROM')).toEqual(['syntax-error@3:7']);
    // Trailing blank lines and comments do not move it.
    const [f] = await lintSql('SELECT 1;\nSELECT *\n  FROM\n\n  -- c\n', { phase: 'any' });
    expect([f?.line, f?.column, f?.statement]).toEqual([3, 7, 'FROM']);
  });

  it('for an unterminated string, at the opening quote', async () => {
    const [f] = await lintSql("SELECT 1;\nSELECT 'abc", { phase: 'any' });
    expect([f?.message, f?.line, f?.column]).toEqual(['unterminated quoted string at or near "\'abc"', 2, 8]);
  });

  it('counts columns in characters after non-ASCII text and emoji', async () => {
    expect(await lint("SELECT 'ééé' FROM ,")).toEqual(['syntax-error@1:19']);
    expect(await lint("SELECT '😀😀' FROM ,")).toEqual(['syntax-error@1:20']);
  });

  it('is offset by where the SQL starts in the file', async () => {
    expect(await lint('SELECT FROM ,', { line: 10, column: 5 })).toEqual(['syntax-error@10:17']);
    expect(await lint('SELECT 1;\nSELECT FROM ,', { line: 10, column: 5 })).toEqual(['syntax-error@11:13']);
  });

  it('never throws, whatever the input', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'grapheme', maxLength: 60 }), async (sql) => {
        const findings = await lintSql(sql, { phase: 'expand' });
        for (const f of findings) {
          expect(f.line).toBeGreaterThanOrEqual(1);
          expect(f.column).toBeGreaterThanOrEqual(1);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('statement positions', () => {
  it('maps each statement of a multi-statement string to its own line and column', async () => {
    const sql = `${LOCK}
-- header comment

CREATE INDEX a ON t (x);   DROP INDEX b;
  /* block */ REINDEX TABLE t;
VACUUM FULL t`;
    const findings = await lintSql(sql, { phase: 'expand', file: 'f.sql' });
    expect(findings.map((f) => `${f.rule}@${f.line}:${f.column} ${f.statement}`)).toEqual([
      'create-index-non-concurrently@5:1 CREATE INDEX a ON t (x)',
      'drop-index-non-concurrently@5:28 DROP INDEX b',
      'reindex-non-concurrently@6:15 REINDEX TABLE t',
      'vacuum-full@7:8 VACUUM FULL t',
    ]);
  });

  it('points at the offending expression inside a statement', async () => {
    const sql = `${LOCK}ALTER TABLE users
  ADD COLUMN token uuid DEFAULT gen_random_uuid(),
  ADD COLUMN n int NOT NULL;`;
    expect(await lint(sql)).toEqual(['add-column-volatile-default@3:33', 'add-column-not-null-without-default@4:20']);
  });

  it('offsets the first line by the column and later lines by the line only', async () => {
    const sql = `CREATE INDEX a ON t (x);\n  CREATE INDEX b ON t (y);`;
    const findings = await lintSql(sql, { phase: 'expand', generated: true, file: 'migrations/1_x.ts', line: 12, column: 20 });
    expect(findings.map((f) => `${f.file}:${f.line}:${f.column}`)).toEqual(['migrations/1_x.ts:12:20', 'migrations/1_x.ts:13:3']);
  });

  it('handles non-ASCII text before a statement (parser offsets are UTF-8 bytes)', async () => {
    const sql = `${LOCK}COMMENT ON TABLE t IS 'überprüft ✓ 😀'; CREATE INDEX a ON t (x);\nALTER TABLE t ADD COLUMN é uuid DEFAULT gen_random_uuid();`;
    expect(await lint(sql)).toEqual(['create-index-non-concurrently@2:41', 'add-column-volatile-default@3:41']);
  });

  it('reports nothing for empty or comment-only SQL', async () => {
    expect(await lint('')).toEqual([]);
    expect(await lint('  -- nothing here\n/* at all */\n')).toEqual([]);
  });
});
