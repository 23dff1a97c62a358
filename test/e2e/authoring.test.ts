import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEMPLATE_NAMES } from '../../src/migration/templates.js';
import { LIB, migrate, tempProject } from '../support/cli.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import type { Database } from '../../src/db/connect.js';

describe('init, create and plan', () => {
  let tdb: TestDatabase;
  let conn: Database;
  const project = tempProject();
  const run = (...args: string[]) => migrate(args, { cwd: project.dir, databaseUrl: tdb.url });
  beforeAll(async () => {
    tdb = await createTestDatabase('author');
    conn = await tdb.connect();
    // The tables the templates talk about.
    await conn.pool.query(`
      CREATE TABLE users (id bigint PRIMARY KEY, full_name text, email text, nickname text, deleted_at timestamptz);
      CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint, total integer);
      CREATE INDEX orders_legacy_idx ON orders (total);
      CREATE TABLE legacy_sessions (id bigint PRIMARY KEY);
      CREATE TABLE customers (id bigint PRIMARY KEY);`);
  });
  afterAll(() => tdb.drop());

  it('init creates the curtain schema and a config file, once', async () => {
    const r = await run('init', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(r.json().created).toEqual(['.curtain', '.gitignore entry .curtain/', 'curtain.config.ts']);
    expect(existsSync(path.join(project.dir, 'curtain.config.ts'))).toBe(true);
    expect((await conn.pool.query(`SELECT count(*)::int AS n FROM curtain.store_versions`)).rows[0].n).toBeGreaterThan(0);
    expect((await run('init', '--json')).json().created).toEqual([]);
  });

  it('create writes a loadable file for every template, and plan prints each with its locks', async () => {
    for (const template of TEMPLATE_NAMES) {
      const r = await run('create', `t_${template.toLowerCase()}`, '--template', template, '--json');
      expect(r.code, r.stderr).toBe(0);
      expect(r.json().file).toMatch(new RegExp(`migrations/\\d{14}_t_${template.toLowerCase()}\\.ts$`));
    }
    expect(readdirSync(path.join(project.dir, 'migrations'))).toHaveLength(TEMPLATE_NAMES.length);
    // The files import 'curtain': point them at this build.
    for (const f of readdirSync(path.join(project.dir, 'migrations'))) {
      const file = path.join(project.dir, 'migrations', f);
      writeFileSync(file, readFileSync(file, 'utf8').replace(`from 'curtain'`, `from ${JSON.stringify(LIB)}`));
    }
    const plan = await run('plan', '--json');
    expect(plan.code, plan.stderr).toBe(0);
    type PlanStep = { kind: string; lock?: string; sql?: string; transactional?: boolean };
    const migrations = plan.json().migrations as { name: string; kind: string; phases: { command: string; steps: PlanStep[] }[] }[];
    expect(migrations).toHaveLength(TEMPLATE_NAMES.length);
    const byTemplate = new Map(migrations.map((m) => [m.name.replace(/^\d+_t_/, ''), m]));
    const steps = (template: string, command: string) => byTemplate.get(template)!.phases.find((p) => p.command === command)!.steps;
    expect(byTemplate.get('code')).toMatchObject({ kind: 'code' });
    const build = steps('createindex', 'expand').find((s) => s.kind === 'sql')!;
    expect(build).toMatchObject({ lock: 'SHARE UPDATE EXCLUSIVE', transactional: false });
    expect(build.sql).toContain('CREATE INDEX CONCURRENTLY');
    expect(steps('altercolumn', 'expand').filter((s) => s.kind === 'backfill')).toHaveLength(1);
    expect(steps('dropcolumn', 'contract').some((s) => s.sql?.includes('DROP COLUMN "nickname"'))).toBe(true);
  });

  it('create refuses a bad name, a duplicate and an unknown template (exit 2)', async () => {
    expect((await run('create', 'Bad Name')).code).toBe(2);
    expect((await run('create', 't_code')).stderr).toContain('already exists');
    const r = await run('create', 'x', '--template', 'nope');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown template "nope"');
  });
});
