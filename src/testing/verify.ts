import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Kysely } from 'kysely';
import { connect, type Database } from '../db/connect.js';
import { createMigrator, type Migrator } from '../migration/migrator.js';
import { schemaFingerprint } from './catalog.js';
import { createDatabaseOn, startTestServer } from './server.js';

/** The states `verifyMigration` checks, in order. */
export type VerifyStep =
  | 'seeded'
  | 'expanded'
  | 'switched 50%'
  | 'switched 100%'
  | 'switched off'
  | 'switched on again'
  | 'contracted'
  | 'aborted';

/** What the user's functions receive at each step. */
export interface VerifyContext {
  db: Kysely<any>;
  query<R extends Record<string, unknown> = Record<string, any>>(text: string, values?: unknown[]): Promise<{ rows: R[] }>;
  step: VerifyStep;
  /** Survives across steps: e.g. new code records what it wrote, old code checks it later. */
  shared: Map<string, unknown>;
}

export type VerifyFunction = (ctx: VerifyContext) => Promise<void> | void;

export interface VerifyOptions {
  /** Create the schema and data the migration expects. Runs on each throwaway database. */
  seed: VerifyFunction;
  /** The application code that knows only the old state. */
  oldCode?: VerifyFunction;
  /** The application code written for the new state. */
  newCode?: VerifyFunction;
  /** A server to create throwaway databases on (default: {@link startTestServer}). */
  serverUrl?: string;
}

/** One function run at one step. */
export interface VerifyCheck {
  step: VerifyStep;
  fn: 'oldCode' | 'newCode' | 'catalog' | 'lifecycle';
  ok: boolean;
  error?: string;
}

export interface VerifyReport {
  ok: boolean;
  checks: VerifyCheck[];
  failures: VerifyCheck[];
  /** One line per failure: `step "switched 100%": oldCode failed: ...`. */
  summary: string;
}

/** Which functions must work in which state: old code until contract, new code from the first switch on. */
const MATRIX: { step: VerifyStep; run: ('oldCode' | 'newCode')[] }[] = [
  { step: 'seeded', run: ['oldCode'] },
  { step: 'expanded', run: ['oldCode'] },
  { step: 'switched 50%', run: ['newCode', 'oldCode'] },
  { step: 'switched 100%', run: ['newCode', 'oldCode'] },
  { step: 'switched off', run: ['oldCode', 'newCode'] },
  { step: 'switched on again', run: ['newCode', 'oldCode'] },
  { step: 'contracted', run: ['newCode'] },
];

/**
 * Take one migration file through expand → switch (50 %, 100 %, off, on) →
 * contract, and separately expand → abort, each on a throwaway database,
 * running the old-code and new-code functions against every state. The
 * report names the step and function that broke; abort must also restore the
 * exact catalog.
 *
 * @example
 * const report = await verifyMigration('migrations/20260101_split_name.ts', {
 *   seed: ({ query }) => query(`CREATE TABLE users (id int PRIMARY KEY, full_name text)`).then(() => {}),
 *   oldCode: async ({ query }) => { await query(`INSERT INTO users (id, full_name) VALUES (1, 'Ada Lovelace') ON CONFLICT DO NOTHING`); },
 *   newCode: async ({ query }) => { await query(`SELECT first_name FROM users`); },
 * });
 * expect(report.summary).toBe('');
 */
export async function verifyMigration(file: string, options: VerifyOptions): Promise<VerifyReport> {
  const server = options.serverUrl ? undefined : await startTestServer();
  const serverUrl = options.serverUrl ?? server!.url;
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'curtain-verify-'));
  const checks: VerifyCheck[] = [];
  try {
    // A folder holding only this migration; a link keeps its relative imports working.
    const absolute = path.resolve(file);
    await fs.symlink(absolute, path.join(dir, path.basename(absolute)));
    const name = path.basename(absolute).replace(/\.(ts|mts|js|mjs)$/, '');
    await lifecycleRun(serverUrl, dir, name, options, checks);
    await abortRun(serverUrl, dir, name, options, checks);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
    await server?.stop();
  }
  const failures = checks.filter((c) => !c.ok);
  return {
    ok: failures.length === 0,
    checks,
    failures,
    summary: failures.map((f) => `step "${f.step}": ${f.fn} failed: ${f.error}`).join('\n'),
  };
}

/** A seeded throwaway database with a migrator on `dir`, dropped afterwards. */
async function withSeededDatabase(
  serverUrl: string,
  dir: string,
  options: VerifyOptions,
  body: (database: Database, migrator: Migrator, shared: Map<string, unknown>) => Promise<void>,
): Promise<void> {
  const handle = await createDatabaseOn(serverUrl, 'verify');
  const database = await connect(handle.url);
  const shared = new Map<string, unknown>();
  const migrator = await createMigrator({ pool: database.pool, migrationsDir: dir, cwd: dir, actor: 'verifyMigration' });
  try {
    await options.seed(context(database, 'seeded', shared));
    await body(database, migrator, shared);
  } finally {
    await migrator.close();
    await database.close();
    await handle.drop();
  }
}

function lifecycleRun(serverUrl: string, dir: string, name: string, options: VerifyOptions, checks: VerifyCheck[]): Promise<void> {
  return withSeededDatabase(serverUrl, dir, options, async (database, migrator, shared) => {
    const transitions: Record<VerifyStep, () => Promise<unknown>> = {
      seeded: async () => {},
      expanded: () => migrator.expand(name),
      'switched 50%': () => migrator.switch(name, { percent: 50 }),
      'switched 100%': () => migrator.switch(name),
      'switched off': () => migrator.switch(name, { off: true }),
      'switched on again': () => migrator.switch(name),
      contracted: () => migrator.contract(name),
      aborted: async () => {},
    };
    for (const { step, run } of MATRIX) {
      try {
        await transitions[step]();
      } catch (err) {
        checks.push({ step, fn: 'lifecycle', ok: false, error: (err as Error).message });
        return;
      }
      for (const fn of run) await check(checks, step, fn, options[fn], database, shared);
    }
  });
}

function abortRun(serverUrl: string, dir: string, name: string, options: VerifyOptions, checks: VerifyCheck[]): Promise<void> {
  return withSeededDatabase(serverUrl, dir, options, async (database, migrator, shared) => {
    const before = await schemaFingerprint(database.pool);
    try {
      await migrator.expand(name);
      await migrator.abort(name);
    } catch (err) {
      checks.push({ step: 'aborted', fn: 'lifecycle', ok: false, error: (err as Error).message });
      return;
    }
    const after = await schemaFingerprint(database.pool);
    const diff = describeDiff(before, after);
    checks.push({ step: 'aborted', fn: 'catalog', ok: diff === '', error: diff || undefined });
    await check(checks, 'aborted', 'oldCode', options.oldCode, database, shared);
  });
}

async function check(
  checks: VerifyCheck[],
  step: VerifyStep,
  fn: 'oldCode' | 'newCode',
  body: VerifyFunction | undefined,
  database: Database,
  shared: Map<string, unknown>,
): Promise<void> {
  if (!body) return;
  try {
    await body(context(database, step, shared));
    checks.push({ step, fn, ok: true });
  } catch (err) {
    checks.push({ step, fn, ok: false, error: (err as Error).message });
  }
}

function context(database: Database, step: VerifyStep, shared: Map<string, unknown>): VerifyContext {
  return {
    db: database.db,
    query: async (text, values) => ({ rows: (await database.pool.query(text, values)).rows }),
    step,
    shared,
  };
}

function describeDiff(before: Record<string, string[]>, after: Record<string, string[]>): string {
  const lines: string[] = [];
  for (const key of Object.keys(before)) {
    const b = new Set(before[key]);
    const a = new Set(after[key]);
    for (const x of a) if (!b.has(x)) lines.push(`abort left ${key}: ${x}`);
    for (const x of b) if (!a.has(x)) lines.push(`abort lost ${key}: ${x}`);
  }
  return lines.join('; ');
}
