import { describe, expect, it } from 'vitest';
import { lintSql, rules } from '../../../src/lint/index.js';
import { LOCK, lint } from './helpers.js';

describe('phase awareness', () => {
  const breaking = `${LOCK}ALTER TABLE users DROP COLUMN full_name;
ALTER TABLE users RENAME COLUMN email TO email_address;
DROP TABLE legacy;
DROP TYPE mood;
`;

  it('breaking statements are errors in expand', async () => {
    const findings = await lintSql(breaking, { phase: 'expand' });
    expect(findings.map((f) => `${f.rule}:${f.severity}@${f.line}`)).toEqual([
      'drop-column:error@2',
      'rename-column:error@3',
      'drop-table:error@4',
      'destructive-statement:error@5',
    ]);
  });

  it('the same statements are expected in contract and abort', async () => {
    expect(await lint(breaking, { phase: 'contract' })).toEqual([]);
    expect(await lint(breaking, { phase: 'abort' })).toEqual([]);
  });

  it('are warnings when the phase is unknown', async () => {
    const findings = await lintSql(breaking, { phase: 'any' });
    expect(findings.map((f) => f.severity)).toEqual(['warning', 'warning', 'warning', 'warning']);
  });

  it('locking hazards stay errors in every phase', async () => {
    for (const phase of ['expand', 'contract', 'abort', 'any'] as const) {
      const findings = await lintSql(`${LOCK}DROP INDEX users_email_idx;`, { phase });
      expect(findings.map((f) => `${f.rule}:${f.severity}`), phase).toEqual(['drop-index-non-concurrently:error']);
    }
  });

  it('TRUNCATE is never routine: a warning in contract', async () => {
    const findings = await lintSql(`${LOCK}TRUNCATE audit_log;`, { phase: 'contract' });
    expect(findings.map((f) => `${f.rule}:${f.severity}`)).toEqual(['truncate:warning']);
  });

  it('every rule has a severity for every phase, and only breaking rules are off', () => {
    const breakingIds = ['rename-column', 'rename-table', 'drop-column', 'drop-table', 'destructive-statement'];
    for (const rule of rules) {
      for (const phase of ['expand', 'contract', 'abort', 'any'] as const) {
        expect(['error', 'warning', 'off'], `${rule.id} ${phase}`).toContain(rule.severity[phase]);
      }
      const off = Object.values(rule.severity).includes('off');
      expect(off, rule.id).toBe(breakingIds.includes(rule.id));
    }
  });
});

describe('context from earlier statements', () => {
  it('CONCURRENTLY is flagged when the caller says the SQL runs in a transaction', async () => {
    const sql = `${LOCK}CREATE INDEX CONCURRENTLY i ON users (email);`;
    expect(await lint(sql)).toEqual([]);
    expect(await lint(sql, { inTransaction: true })).toEqual(['concurrently-in-transaction@2:1']);
  });

  it('a transaction block ends at COMMIT', async () => {
    const sql = `${LOCK}BEGIN;\nDROP INDEX CONCURRENTLY a;\nCOMMIT;\nDROP INDEX CONCURRENTLY b;`;
    expect(await lint(sql, { phase: 'contract' })).toEqual(['concurrently-in-transaction@3:1']);
  });

  it('lock_timeout: SET and SET LOCAL and set_config satisfy it, 0 and RESET do not', async () => {
    const ddl = 'ALTER TABLE users ADD COLUMN bio text;';
    expect(await lint(`SET LOCAL lock_timeout TO '2s';\n${ddl}`)).toEqual([]);
    expect(await lint(`SELECT set_config('lock_timeout', '1s', false);\n${ddl}`)).toEqual([]);
    expect(await lint(`SET lock_timeout = 0;\n${ddl}`)).toEqual(['require-lock-timeout@2:1']);
    expect(await lint(`SET lock_timeout = '0ms';\n${ddl}`)).toEqual(['require-lock-timeout@2:1']);
    expect(await lint(`${LOCK}RESET lock_timeout;\n${ddl}`)).toEqual(['require-lock-timeout@3:1']);
    // Set after the DDL: too late for it.
    expect(await lint(`${ddl}\n${LOCK}`)).toEqual(['require-lock-timeout@1:1']);
  });

  it('generated SQL skips the lock_timeout rule (the executor sets it) but is still linted and tagged', async () => {
    const findings = await lintSql('CREATE INDEX i ON users (email);', { phase: 'expand', generated: true });
    expect(findings.map((f) => [f.rule, f.generated])).toEqual([['create-index-non-concurrently', true]]);
  });

  it('tables created in the same SQL are exempt from lock and rewrite rules', async () => {
    const sql = `CREATE TABLE t (id bigint);
CREATE INDEX t_id ON t (id);
ALTER TABLE t ADD COLUMN n int NOT NULL;
ALTER TABLE t ALTER COLUMN id TYPE text;
ALTER TABLE t ADD CONSTRAINT t_pk PRIMARY KEY (id);
ALTER TABLE t RENAME COLUMN n TO m;
TRUNCATE t;`;
    expect(await lint(sql)).toEqual([]);
    // A table of the same name in another schema is not new.
    expect(await lint(`${LOCK}CREATE TABLE a.t (id int);\nCREATE INDEX x ON b.t (id);`)).toEqual(['create-index-non-concurrently@3:1']);
  });

  it('SET NOT NULL is fine after a VALIDATE of a NOT VALID check on that column, not on another', async () => {
    const prefix = `${LOCK}ALTER TABLE users ADD CONSTRAINT c1 CHECK (email IS NOT NULL) NOT VALID;\n`;
    expect(await lint(`${prefix}ALTER TABLE users ALTER COLUMN email SET NOT NULL;`)).toEqual(['set-not-null-without-check@3:1']);
    expect(await lint(`${prefix}ALTER TABLE users VALIDATE CONSTRAINT c1;\nALTER TABLE users ALTER COLUMN email SET NOT NULL;`)).toEqual([]);
    expect(await lint(`${prefix}ALTER TABLE users VALIDATE CONSTRAINT c1;\nALTER TABLE users ALTER COLUMN name SET NOT NULL;`)).toEqual([
      'set-not-null-without-check@4:1',
    ]);
    // Contract validating a check that expand added (named after the column).
    expect(await lint(`${LOCK}ALTER TABLE users VALIDATE CONSTRAINT users_email_not_null;\nALTER TABLE users ALTER COLUMN email SET NOT NULL;`, { phase: 'contract' })).toEqual([]);
  });
});

describe('SET NOT NULL after a VALIDATE of a check defined elsewhere', () => {
  const validate = (name: string, column: string) =>
    `${LOCK}ALTER TABLE users VALIDATE CONSTRAINT ${name};\nALTER TABLE users ALTER COLUMN ${column} SET NOT NULL;`;

  it('trusts names that mention the column as a word, and curtain\u2019s hashed _curtain_nn_ names', async () => {
    expect(await lint(validate('users_email_not_null', 'email'), { phase: 'contract' })).toEqual([]);
    expect(await lint(validate('_curtain_nn_20240101120000_split_users_na_1x2y3z', 'first_name'), { phase: 'contract' })).toEqual([]);
  });

  it('does not trust a name that only contains the column as a substring, or another table', async () => {
    expect(await lint(validate('users_valid_flag_check', 'id'), { phase: 'contract' })).toEqual(['set-not-null-without-check@3:1']);
    expect(await lint(`${LOCK}ALTER TABLE orders VALIDATE CONSTRAINT orders_email_nn;\nALTER TABLE users ALTER COLUMN email SET NOT NULL;`, { phase: 'contract' })).toEqual([
      'set-not-null-without-check@3:1',
    ]);
  });
});
