import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/connect.js';
import { ensureStore } from '../../src/store/store.js';
import { migrate, migrationSource, tempProject } from '../support/cli.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

describe('migrate flags set --for / --where', () => {
  let tdb: TestDatabase;
  let conn: Database;
  const project = tempProject();
  const run = (...args: string[]) => migrate(args, { cwd: project.dir, databaseUrl: tdb.url, env: { CURTAIN_ACTOR: 'e2e' } });
  const count = async (sql: string) => Number((await conn.pool.query(sql)).rows[0].n);

  beforeAll(async () => {
    tdb = await createTestDatabase('tgtcli');
    conn = await tdb.connect();
    await ensureStore(conn.pool, 'curtain');
    project.write('migrations/20260101000000_billing_v2.ts', migrationSource(`export default defineMigration({ flag: 'billing.v2', description: 'new billing code path' });`));
  });
  afterAll(() => tdb.drop());

  it('turns a flag on for an allowlist and a constraint only, shown by get, list, history and status', async () => {
    // An application flag (a migration's own flag moves only through migrate switch: see switch-targeting.test.ts).
    const set = await run('flags', 'set', 'billing.v2', 'on', '--for', 'user:42,user:7', '--where', 'tenant in (acme, initech)', '--reason', 'dogfood', '--json');
    expect(set.code, set.stderr).toBe(0);
    expect(set.json().flag).toMatchObject({
      enabled: true,
      rollout: 0,
      subjects: ['user:42', 'user:7'],
      constraints: [{ attribute: 'tenant', operator: 'in', values: ['acme', 'initech'] }],
    });
    const human = await run('flags', 'set', 'billing.v2', '--where', 'tenant in (acme, initech)', '--where', 'appName != "billing cron"');
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toContain('changed billing.v2: on for user:42, user:7; where tenant in (acme, initech) and appName != "billing cron"; else 0%');

    const get = await run('flags', 'get', 'billing.v2');
    expect(get.stdout).toMatch(/state:\s+on for user:42, user:7; where tenant in \(acme, initech\) and appName != "billing cron"; else 0%/);
    expect(get.stdout).toMatch(/for:\s+user:42, user:7\n/);
    expect(get.stdout).toMatch(/where:\s+tenant in \(acme, initech\) and appName != "billing cron"\n/);
    expect((await run('flags', 'get', 'billing.v2', '--json')).json().flag.constraints).toHaveLength(2);

    const list = await run('flags', 'list');
    expect(list.stdout).toMatch(/billing\.v2\s+on for user:42, user:7; where tenant in \(acme, initech\)/);

    const history = await run('flags', 'history', 'billing.v2', '--json');
    const [latest, first] = history.json().events;
    expect(latest.before.constraints).toHaveLength(1);
    expect(latest.after.constraints).toHaveLength(2);
    expect(first).toMatchObject({ reason: 'dogfood', after: { subjects: ['user:42', 'user:7'] } });
    const historyText = await run('flags', 'history', 'billing.v2');
    expect(historyText.stdout).toContain('constraints: ["tenant in (acme, initech)"] → ["tenant in (acme, initech)","appName != \\"billing cron\\""]');

    expect((await run('flags', 'list')).stdout).toContain('on for user:42, user:7; where tenant in (acme, initech)');

    // A percentage on top keeps the targeting; clearing leaves the percentage.
    expect((await run('flags', 'set', 'billing.v2', '--percent', '10')).stdout).toContain('; else 10%');
    expect((await run('flags', 'set', 'billing.v2', '--clear-targeting')).stdout).toContain('changed billing.v2: on 10%');
  }, 300_000);

  it('bad --where / --for is exit 2 with the column, and changes nothing', async () => {
    const events = await count(`SELECT count(*) AS n FROM curtain.flag_events`);
    const cases: [string[], RegExp][] = [
      [['--where', 'tenant in acme'], /invalid --where "tenant in acme": expected "\(" to open the list of values, found "acme" at column 11/],
      [['--where', 'tenant = acme and app = x'], /unexpected "and": give each condition its own --where \(they are ANDed\) at column 15/],
      [['--where', 'tenant ~ acme'], /expected an operator \(=, !=, in, not in\), found "~ acme" at column 8/],
      [['--for', 'user:1,,user:2'], /invalid --for "user:1,,user:2": empty subject at column 8/],
      [['--for', 'u1', '--clear-targeting'], /--clear-targeting cannot be combined with --for or --where/],
    ];
    for (const [args, message] of cases) {
      const r = await run('flags', 'set', 'billing.v2', 'on', ...args);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(message);
    }
    const grouped = await run('flags', 'set', 'grouped.one', 'on', '--group', 'g1', '--for', 'u1');
    expect(grouped.code).toBe(2);
    expect(grouped.stderr).toMatch(/exclusion group "g1", which cannot be combined with targeting/);
    expect(await count(`SELECT count(*) AS n FROM curtain.flag_events`)).toBe(events);
    expect(await count(`SELECT count(*) AS n FROM curtain.flags WHERE key = 'grouped.one'`)).toBe(0);
  }, 300_000);
});
