import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedShop } from '../../../examples/demo/schema.js';
import type { Database } from '../../../src/db/connect.js';
import type { StepEvent } from '../../../src/migration/executor.js';
import type { Command } from '../../../src/migration/machine.js';
import { createMigrator, type Migrator } from '../../../src/migration/migrator.js';
import type { ProgramStep } from '../../../src/migration/program.js';
import { createTestDatabase, type TestDatabase } from '../../support/database.js';

/**
 * `migrate plan` prints what runs, in the order it runs: for every migration
 * of the demo project (one per operation kind, and a code migration), the
 * steps the executor reports for each command are exactly the steps the plan
 * listed for it, kind, description and SQL, in order.
 */

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

const shape = (s: ProgramStep) => ({ kind: s.kind, description: s.description, ...(s.kind === 'sql' ? { sql: s.sql } : {}) });

describe('the plan is the program', () => {
  let tdb: TestDatabase;
  let conn: Database;
  let migrator: Migrator;
  const events: StepEvent[] = [];

  beforeAll(async () => {
    tdb = await createTestDatabase('program');
    conn = await tdb.connect();
    await seedShop(conn.pool, { users: 300, orders: 1_000 });
    migrator = await createMigrator({
      pool: conn.pool,
      cwd: root,
      migrationsDir: 'migrations',
      actor: 'test',
      reporter: { step: (_m, e) => events.push(e) },
    });
  });
  afterAll(async () => {
    await migrator?.close();
    await tdb.drop();
  });

  /** Run one command and return the steps the executor finished, in order. */
  async function executed(run: () => Promise<unknown>): Promise<ProgramStep[]> {
    events.length = 0;
    await run();
    return events.filter((e) => e.type === 'done').map((e) => e.step);
  }

  it('for every operation, each command runs exactly the planned steps in the planned order (expand, switch, switch --off, contract)', async () => {
    const names = (await migrator.status()).filter((e) => e.file).map((e) => e.name);
    expect(names.length).toBeGreaterThanOrEqual(10);
    for (const name of names) {
      const [planned] = await migrator.plan(name);
      const steps = (command: Command) => planned!.phases.find((p) => p.command === command)!.steps.map(shape);
      expect(planned!.phases.map((p) => p.command)).toEqual(['expand', 'switch', 'switch-off', 'contract', 'abort']);
      expect((await executed(() => migrator.expand(name))).map(shape), `${name}: expand`).toEqual(steps('expand'));
      expect((await executed(() => migrator.switch(name))).map(shape), `${name}: switch`).toEqual(steps('switch'));
      expect((await executed(() => migrator.switch(name, { off: true }))).map(shape), `${name}: switch --off`).toEqual(steps('switch-off'));
      await migrator.switch(name);
      const contract = await executed(() => migrator.contract(name, { force: ['code-references'] }));
      expect(contract.map(shape), `${name}: contract`).toEqual(steps('contract'));
      // Nothing is left ahead once contracted.
      expect(await migrator.plan()).not.toContainEqual(expect.objectContaining({ name }));
    }
  });

  it('abort runs exactly the planned abort steps (checked on a fresh copy of the shop)', async () => {
    const fresh = await createTestDatabase('program-abort');
    const db = await fresh.connect();
    const log: StepEvent[] = [];
    const m = await createMigrator({ pool: db.pool, cwd: root, migrationsDir: 'migrations', actor: 'test', reporter: { step: (_n, e) => log.push(e) } });
    try {
      await seedShop(db.pool, { users: 100, orders: 300 });
      for (const { name } of (await m.status()).filter((e) => e.file)) {
        await m.expand(name);
        const [planned] = await m.plan(name);
        const abortSteps = planned!.phases.find((p) => p.command === 'abort')!.steps.map(shape);
        log.length = 0;
        await m.abort(name);
        expect(log.filter((e) => e.type === 'done').map((e) => shape(e.step)), `${name}: abort`).toEqual(abortSteps);
        // Expand again so that later migrations find what they build on.
        await m.expand(name);
        await m.switch(name);
        await m.contract(name, { force: ['code-references'] });
      }
    } finally {
      await m.close();
      await fresh.drop();
    }
  });
});
