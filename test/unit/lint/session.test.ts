import { describe, expect, it } from 'vitest';
import { createLintSession, lintSql, lintSteps, type Phase } from '../../../src/lint/index.js';
import { LOCK, brief, lint } from './helpers.js';

/** Lints consecutive steps like the executor runs them, sharing one session. */
async function runSteps(phase: Phase, steps: Array<{ sql: string; transactional: boolean }>, shared = true): Promise<string[]> {
  const session = createLintSession();
  const out: string[] = [];
  for (const [i, step] of steps.entries()) {
    const findings = await lintSql(step.sql, {
      phase,
      generated: true,
      inTransaction: step.transactional,
      file: `step${i + 1}`,
      ...(shared && { session }),
    });
    out.push(...brief(findings).map((b) => `step${i + 1} ${b}`));
  }
  return out;
}

describe('lint sessions across steps', () => {
  const contract = [
    { sql: 'ALTER TABLE "public"."users" VALIDATE CONSTRAINT "_curtain_nn_0042_split_users_first_name"', transactional: true },
    { sql: 'ALTER TABLE "public"."users" ALTER COLUMN "first_name" SET NOT NULL', transactional: true },
    { sql: 'ALTER TABLE "public"."users" DROP CONSTRAINT "_curtain_nn_0042_split_users_first_name"', transactional: true },
  ];

  it("curtain's own contract (validate, SET NOT NULL, drop check) is clean when the steps share a session", async () => {
    expect(await runSteps('contract', contract)).toEqual([]);
  });

  it('without a session each step is judged alone', async () => {
    expect(await runSteps('contract', contract, false)).toEqual(['step2 set-not-null-without-check@1:1']);
  });

  it('a NOT VALID check added in one step and validated in another covers SET NOT NULL', async () => {
    const steps = [
      { sql: 'ALTER TABLE users ADD CONSTRAINT users_x_nn CHECK (x IS NOT NULL) NOT VALID', transactional: true },
      { sql: 'ALTER TABLE users VALIDATE CONSTRAINT users_x_nn', transactional: true },
      { sql: 'ALTER TABLE users ALTER COLUMN x SET NOT NULL', transactional: true },
    ];
    expect(await runSteps('contract', steps)).toEqual([]);
  });

  it('a transactional step with CONCURRENTLY is an error; a non-transactional one is fine', async () => {
    const steps = [
      { sql: 'CREATE INDEX CONCURRENTLY a ON users (email)', transactional: true },
      { sql: 'CREATE INDEX CONCURRENTLY b ON users (email)', transactional: false },
    ];
    expect(await runSteps('expand', steps)).toEqual(['step1 concurrently-in-transaction@1:1']);
  });

  it('a table created by an earlier step is new for later steps', async () => {
    const steps = [
      { sql: 'CREATE TABLE "public"."orders" (id bigint)', transactional: true },
      { sql: 'CREATE INDEX orders_id ON "public"."orders" (id)', transactional: true },
    ];
    expect(await runSteps('expand', steps)).toEqual([]);
    expect(await runSteps('expand', steps, false)).toEqual(['step2 create-index-non-concurrently@1:1']);
  });
});

describe('lintSteps', () => {
  it("accepts curtain's renameTable expand: rename, then a compatibility view under the old name", async () => {
    const steps = [
      { sql: 'ALTER TABLE "public"."users" RENAME TO "accounts"', inTransaction: true },
      { sql: 'CREATE VIEW "public"."users" AS SELECT * FROM "public"."accounts"', inTransaction: true },
    ];
    expect(brief(await lintSteps(steps, { phase: 'expand', generated: true }))).toEqual([]);
    // Without the view the rename breaks old code.
    expect(brief(await lintSteps(steps.slice(0, 1), { phase: 'expand', generated: true }))).toEqual(['rename-table@1:1']);
  });

  it('the same within one string; a view of another name does not count', async () => {
    expect(await lint(`${LOCK}ALTER TABLE users RENAME TO accounts;\nCREATE VIEW users AS SELECT * FROM accounts;`)).toEqual([]);
    expect(await lint(`${LOCK}ALTER TABLE users RENAME TO accounts;\nCREATE VIEW people AS SELECT * FROM accounts;`)).toEqual(['rename-table@2:1']);
    // A view created before the rename does not help.
    expect(await lint(`${LOCK}CREATE VIEW users2 AS SELECT 1;\nALTER TABLE users RENAME TO accounts;`)).toEqual(['rename-table@3:1']);
  });

  it('shares facts between steps and places each finding in its own step', async () => {
    const findings = await lintSteps(
      [
        { sql: "SET lock_timeout = '1s'", file: 'm.ts', line: 10, column: 15 },
        { sql: 'ALTER TABLE t ADD COLUMN id bigint;\nCREATE INDEX t_id ON t (id)', file: 'm.ts', line: 11, column: 15, inTransaction: true },
        { sql: 'CREATE INDEX CONCURRENTLY t_id2 ON t (id)', file: 'm.ts', line: 14, column: 7 },
        { sql: 'SELECT FROM ,', file: 'm.ts', line: 20, column: 3 },
      ],
      { phase: 'expand' },
    );
    expect(findings.map((f) => `${f.file}:${f.line}:${f.column} ${f.rule}`)).toEqual([
      'm.ts:12:1 create-index-non-concurrently',
      'm.ts:20:15 syntax-error',
    ]);
  });
});
