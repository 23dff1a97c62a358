import { describe, expect, it } from 'vitest';
import { lintSql, parseSuppression } from '../../../src/lint/index.js';
import { LOCK, lint } from './helpers.js';

const INDEX = 'CREATE INDEX audit_at_idx ON audit (at);';
const ALLOW = '-- curtain:allow create-index-non-concurrently audit holds 200 rows';

describe('suppression comments', () => {
  it('parses rule ids and the reason', () => {
    expect(parseSuppression(' curtain:allow drop-column data moved in 0042')).toEqual({ ruleIds: ['drop-column'], reason: 'data moved in 0042' });
    expect(parseSuppression(' curtain:allow a,b  two   rules ')).toEqual({ ruleIds: ['a', 'b'], reason: 'two rules' });
    expect(parseSuppression(' curtain:allow drop-column')).toEqual({ ruleIds: ['drop-column'], reason: '' });
    expect(parseSuppression(' just a comment')).toBeUndefined();
  });

  it('on the line directly before the statement', async () => {
    expect(await lint(`${LOCK}${ALLOW}\n${INDEX}`)).toEqual([]);
  });

  it('in a run of comment lines directly before the statement', async () => {
    expect(await lint(`${LOCK}${ALLOW}\n-- build the index for the report\n${INDEX}`)).toEqual([]);
  });

  it('at the end of the statement, after the semicolon', async () => {
    expect(await lint(`${LOCK}${INDEX} ${ALLOW}\n`)).toEqual([]);
  });

  it('inside a multi-line statement', async () => {
    expect(await lint(`${LOCK}CREATE INDEX audit_at_idx\n  ON audit (at) ${ALLOW}\n;`)).toEqual([]);
  });

  it('as a block comment', async () => {
    expect(await lint(`${LOCK}/* curtain:allow create-index-non-concurrently tiny table */ ${INDEX}`)).toEqual([]);
  });

  it('lists several rules', async () => {
    const sql = `${LOCK}-- curtain:allow drop-column,drop-table cleanup of a dead feature\nALTER TABLE a DROP COLUMN b;\nDROP TABLE c;`;
    // Only the statement right below is covered.
    expect(await lint(sql)).toEqual(['drop-table@4:1']);
  });

  it('does not reach over a blank line: the finding stays and the suppression is unused', async () => {
    expect(await lint(`${LOCK}${ALLOW}\n\n${INDEX}`)).toEqual(['unused-suppression@2:1', 'create-index-non-concurrently@4:1']);
  });

  it("a trailing comment belongs to its own statement, not the next one", async () => {
    const sql = `${LOCK}SELECT 1; ${ALLOW}\n${INDEX}`;
    expect(await lint(sql)).toEqual(['unused-suppression@2:11', 'create-index-non-concurrently@3:1']);
  });

  it('covers only the named rule', async () => {
    expect(await lint(`-- curtain:allow create-index-non-concurrently tiny table\n${INDEX}`)).toEqual(['require-lock-timeout@2:1']);
  });

  it('without a reason still suppresses but is itself an error', async () => {
    const findings = await lintSql(`${LOCK}-- curtain:allow create-index-non-concurrently\n${INDEX}`, { phase: 'expand', file: 'm.sql' });
    expect(findings.map((f) => `${f.rule}:${f.severity}@${f.line}:${f.column}`)).toEqual(['suppression-without-reason:error@2:1']);
    expect(findings[0]?.statement).toBe(INDEX.slice(0, -1));
  });

  it('naming no rule is an error', async () => {
    expect(await lint(`${LOCK}-- curtain:allow\n${INDEX}`)).toEqual(['suppression-without-reason@2:1', 'create-index-non-concurrently@3:1']);
  });

  it('an unknown rule id is a warning and suppresses nothing', async () => {
    const findings = await lintSql(`${LOCK}-- curtain:allow create-index-concurrently tiny table\n${INDEX}`, { phase: 'expand' });
    expect(findings.map((f) => `${f.rule}:${f.severity}@${f.line}:${f.column}`)).toEqual([
      'unknown-suppression-rule:warning@2:1',
      'create-index-non-concurrently:error@3:1',
    ]);
    expect(findings[0]?.message).toBe('suppression names unknown rule "create-index-concurrently"');
  });

  it('engine-produced findings cannot be suppressed', async () => {
    expect(await lint(`${LOCK}-- curtain:allow syntax-error it is fine\nSELECT 1;`)).toEqual(['unknown-suppression-rule@2:1']);
  });

  it('a suppression for a rule that is off in this phase is not reported as unused', async () => {
    expect(await lint(`${LOCK}-- curtain:allow drop-column moved to contract on purpose\nSELECT 1;`, { phase: 'contract' })).toEqual([]);
  });

  it('text that only looks like a comment inside strings or dollar quotes is not a suppression', async () => {
    const sql = `${LOCK}SELECT '-- curtain:allow create-index-non-concurrently x', $$ -- curtain:allow create-index-non-concurrently y $$;\n${INDEX}`;
    expect(await lint(sql)).toEqual(['create-index-non-concurrently@3:1']);
  });

  it('a suppression at the end of the SQL attached to nothing is unused', async () => {
    expect(await lint(`${LOCK}SELECT 1;\n\n${ALLOW}\n`)).toEqual(['unused-suppression@4:1']);
  });
});
