import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadModule, parseSync } from 'libpg-query';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/connect.js';
import { schemaFingerprint } from '../../src/testing/catalog.js';
import { migrate } from '../support/cli.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

// A Drizzle schema changed twice, each change regenerated with the real drizzle-kit,
// its SQL converted by "migrate convert" and run with "migrate up": the schema ends
// as it does when drizzle-kit's SQL is applied directly.
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const dir = path.join(root, 'scratch', `drizzle-e2e-${process.pid}`);

const header = `import { pgTable, bigint, text, integer, index } from 'drizzle-orm/pg-core';\n`;
const schemas = {
  init: `${header}
export const users = pgTable('users', {
  id: bigint('id', { mode: 'number' }).primaryKey(),
  name: text('name').notNull(),
  email: text('email'),
  score: integer('score'),
});`,
  profile: `${header}
export const users = pgTable('users', {
  id: bigint('id', { mode: 'number' }).primaryKey(),
  name: text('name').notNull(),
  email: text('email'),
  score: integer('score'),
  age: integer('age').notNull().default(0),
}, (t) => [index('users_email_idx').on(t.email)]);
export const posts = pgTable('posts', {
  id: bigint('id', { mode: 'number' }).primaryKey(),
  userId: bigint('user_id', { mode: 'number' }).notNull().references(() => users.id),
  title: text('title').notNull(),
});`,
  bigger_scores: `${header}
export const users = pgTable('users', {
  id: bigint('id', { mode: 'number' }).primaryKey(),
  name: text('name').notNull(),
  email: text('email'),
  score: bigint('score', { mode: 'number' }),
  age: integer('age').notNull().default(0),
}, (t) => [index('users_email_idx').on(t.email)]);
export const posts = pgTable('posts', {
  id: bigint('id', { mode: 'number' }).primaryKey(),
  userId: bigint('user_id', { mode: 'number' }).notNull().references(() => users.id),
  title: text('title').notNull(),
  body: text('body'),
});`,
};

const expectedCalls: Record<keyof typeof schemas, string[]> = {
  init: ['op.createTable("users"'],
  profile: [
    'op.createTable("posts"',
    'op.addColumn("users", { name: "age", type: "integer", default: sql`0`, nullable: false })',
    'op.addConstraint("posts", { type: "foreign key", name: "posts_user_id_users_id_fk", columns: ["user_id"], references: { table: "users", columns: ["id"] } })',
    'op.createIndex("users", { columns: ["email"], name: "users_email_idx" })',
  ],
  bigger_scores: ['op.alterColumn("users", "score", { type: "bigint", up: sql`score::bigint`, down: sql`score::integer` })', 'op.addColumn("posts", { name: "body", type: "text" })'],
};

async function statements(sql: string): Promise<string[]> {
  await loadModule();
  const bytes = Buffer.from(sql);
  return (parseSync(sql).stmts as { stmt_location?: number; stmt_len?: number }[]).map((s) =>
    bytes.subarray(s.stmt_location ?? 0, s.stmt_len ? (s.stmt_location ?? 0) + s.stmt_len : undefined).toString(),
  );
}

async function shape(db: Database) {
  const f = await schemaFingerprint(db.pool);
  return { ...f, columns: (f.columns ?? []).map((c) => c.replace(/ #\d+$/, '')) };
}

describe('drizzle-kit output, converted and run', () => {
  let managed: TestDatabase;
  let twin: TestDatabase;
  beforeAll(async () => {
    [managed, twin] = await Promise.all([createTestDatabase('drzm'), createTestDatabase('drzt')]);
    mkdirSync(path.join(dir, 'migrations'), { recursive: true });
  });
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await Promise.all([managed?.drop(), twin?.drop()]);
  });

  it.each(Object.entries(schemas))('%s: drizzle-kit generate → migrate convert → migrate up', async (name, schema) => {
    writeFileSync(path.join(dir, 'schema.ts'), schema);
    const gen = spawnSync(
      process.execPath,
      [path.join(root, 'node_modules/drizzle-kit/bin.cjs'), 'generate', '--dialect', 'postgresql', '--schema', './schema.ts', '--out', './drizzle', '--name', name],
      { cwd: dir, encoding: 'utf8' },
    );
    expect(gen.status, gen.stdout + gen.stderr).toBe(0);
    const sqlFile = readdirSync(path.join(dir, 'drizzle')).find((f) => f.endsWith(`_${name}.sql`))!;
    expect(sqlFile).toBeDefined();
    const sql = readFileSync(path.join(dir, 'drizzle', sqlFile), 'utf8');

    const converted = await migrate(['convert', `drizzle/${sqlFile}`, '--json'], { cwd: dir, databaseUrl: managed.url });
    expect(converted.code, converted.stderr).toBe(0);
    const file = converted.json().file as string;
    expect(file).toMatch(new RegExp(`^migrations/\\d{14}_${name}\\.ts$`));
    const source = readFileSync(path.join(dir, file), 'utf8');
    expect(source).not.toContain('op.sql(');
    for (const call of expectedCalls[name as keyof typeof schemas]) expect(source).toContain(call);
    const tsc = spawnSync(
      process.execPath,
      [path.join(root, 'node_modules/typescript/bin/tsc'), '--noEmit', '--strict', '--skipLibCheck', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--types', 'node', path.join(dir, file)],
      { cwd: root, encoding: 'utf8' },
    );
    expect(tsc.stdout, 'tsc').toBe('');

    const up = await migrate(['--yes', 'up', '--json'], { cwd: dir, databaseUrl: managed.url });
    expect(up.code, up.stderr).toBe(0);
    expect(up.json().migrations.map((m: any) => m.to)).toEqual(['contracted']);

    const direct = await twin.connect();
    for (const s of await statements(sql)) await direct.pool.query(s);
    expect(await shape(await managed.connect())).toEqual(await shape(direct));
  }, 240_000);
});
