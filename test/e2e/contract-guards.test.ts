import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/connect.js';
import { migrate, migrationSource, tempProject } from '../support/cli.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

/** users.full_name split in two, full_name dropped at contract. */
const SPLIT = migrationSource(
  `export default defineMigration({
  flag: 'users.split',
  operations: [
    op.addColumn('users', { name: 'first_name', type: 'text', up: sql\`split_part(full_name, ' ', 1)\` }),
    op.addColumn('users', { name: 'last_name', type: 'text', up: sql\`split_part(full_name, ' ', 2)\` }),
    op.dropColumn('users', 'full_name', { down: sql\`first_name || ' ' || last_name\` }),
    op.renameColumn('users', 'email', 'email_address'),
  ],
});`,
  'defineMigration, op, sql',
);

const SEED = `
  CREATE TABLE users (id int PRIMARY KEY, full_name text, email text);
  CREATE TABLE orders (id int PRIMARY KEY, user_id int REFERENCES users (id), total int);
  INSERT INTO users SELECT i, 'first' || i || ' last' || i, 'u' || i || '@example.com' FROM generate_series(1, 50) i;
  INSERT INTO orders SELECT i, 1 + i % 50, i * 10 FROM generate_series(1, 80) i;`;

const NAME = '20260101000000_split';

describe('contract guards', () => {
  let tdb: TestDatabase;
  let conn: Database;
  let project: ReturnType<typeof tempProject>;
  const run = (...args: string[]) => migrate(args, { cwd: project.dir, databaseUrl: tdb.url });
  const phase = async () => (await conn.pool.query(`SELECT phase FROM curtain.migrations WHERE name = $1`, [NAME])).rows[0]?.phase;
  const hasColumn = async (c: string) =>
    (await conn.pool.query(`SELECT 1 FROM information_schema.columns WHERE table_name = 'users' AND column_name = $1`, [c])).rows.length > 0;

  /** A fresh database with the migration expanded and switched fully on. */
  async function switched(config?: object, ...switchArgs: string[]) {
    tdb = await createTestDatabase('guards');
    conn = await tdb.connect();
    await conn.pool.query(SEED);
    project = tempProject();
    project.write(`migrations/${NAME}.ts`, SPLIT);
    if (config) project.write('curtain.config.json', JSON.stringify(config));
    expect((await run('expand')).code).toBe(0);
    expect((await run('switch', 'split', ...switchArgs)).code).toBe(0);
  }

  /** A refusal: exit 3, the guard named, nothing dropped, the migration still switched. */
  async function expectRefused(guard: string, ...extra: string[]) {
    const r = await run('contract', 'split', ...extra);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toContain(`refused by guard "${guard}"`);
    expect(await phase()).toBe('switched');
    expect(await hasColumn('full_name')).toBe(true);
    return r;
  }

  beforeEach(async () => {
    await tdb?.drop();
  });
  afterAll(async () => {
    await tdb?.drop();
  });

  it('soak: refuses until the flag has been fully on for contract.minSoak; --force soak overrides and is recorded', async () => {
    await switched({ contract: { minSoak: '1h' } });
    const r = await expectRefused('soak');
    expect(r.stderr).toMatch(/fully on for .*; contract\.minSoak is 1h 00m/);
    const forced = await run('contract', 'split', '--force', 'soak', '--json');
    expect(forced.code, forced.stderr).toBe(0);
    const { rows } = await conn.pool.query(`SELECT details FROM curtain.migration_events WHERE migration = $1 AND event = 'contract.start'`, [NAME]);
    expect(rows[0].details.forced).toContain('soak');
  });

  it('no-false-evaluations: refuses while a live client still evaluates the flag to false', async () => {
    await switched();
    // A client that loaded the change still reports false evaluations made with it: some code ignores the flag.
    await conn.pool.query(
      `INSERT INTO curtain.clients (id, app_name, host, pid, flags_version) SELECT 'stale-1', 'api', 'host-a', 123, max(version) FROM curtain.flags`,
    );
    await conn.pool.query(
      `INSERT INTO curtain.flag_usage (client_id, key, window_start, flags_version, true_count, false_count)
       SELECT 'stale-1', 'users.split', date_trunc('minute', now()), max(version), 10, 4 FROM curtain.flags`,
    );
    // Evaluations made before the client loaded the change do not count against it.
    await conn.pool.query(
      `INSERT INTO curtain.flag_usage (client_id, key, window_start, flags_version, true_count, false_count) VALUES ('stale-1', 'users.split', date_trunc('minute', now()), 1, 0, 99)`,
    );
    const r = await expectRefused('no-false-evaluations');
    expect(r.stderr).toContain('4 evaluation(s) of users.split returned false');
    await conn.pool.query(`UPDATE curtain.flag_usage SET false_count = 0 WHERE flags_version > 1`);
    expect((await run('contract', 'split')).code).toBe(0);
  });

  it('no-false-evaluations: never passes on no evidence: a live client that has not loaded the change refuses, and --wait waits for it', async () => {
    await switched();
    await conn.pool.query(`INSERT INTO curtain.clients (id, app_name, host, pid, flags_version) VALUES ('slow-poller', 'billing', 'host-b', 77, 1)`);
    const r = await expectRefused('no-false-evaluations');
    expect(r.stderr).toMatch(/too little evidence yet: 1 live client\(s\) have not loaded the change of users.split yet.*billing \(pid 77 on host-b\)/);
    expect(r.stderr).toMatch(/hint: wait .* and retry, or rerun with --wait/);
    // The client catches up while contract waits.
    const waiting = run('contract', 'split', '--wait', '10m');
    await conn.pool.query(`UPDATE curtain.clients SET flags_version = (SELECT max(version) FROM curtain.flags), last_seen_at = now() WHERE id = 'slow-poller'`);
    const done = await waiting;
    expect(done.code, done.stderr).toBe(0);
    expect(await phase()).toBe('contracted');
  });

  it('verification: refuses when a derived column no longer agrees with the old one', async () => {
    await switched();
    // New code owns first_name (it may write anything there); email_address is a rename and must equal email.
    await conn.pool.query(`UPDATE users SET first_name = 'Mary Ann' WHERE id = 10`);
    // A writer that bypasses the dual-write trigger corrupts the renamed column.
    await conn.pool.query(`ALTER TABLE users DISABLE TRIGGER USER; UPDATE users SET email_address = 'wrong' WHERE id <= 3; ALTER TABLE users ENABLE TRIGGER USER`);
    const r = await expectRefused('verification');
    expect(r.stderr).toContain('3 row(s) where the new side no longer equals up(old side)');
  });

  it('snapshot: refuses when the snapshot of what contract removes cannot be taken', async () => {
    await switched({ snapshots: { strategy: 'dump' } }, '--no-snapshot', '--yes');
    const bin = path.join(project.dir, 'fake-bin');
    mkdirSync(bin);
    for (const tool of ['pg_dump', 'pg_restore']) {
      writeFileSync(
        path.join(bin, tool),
        `#!/bin/sh\nif [ "$1" = "--version" ]; then echo "${tool} (PostgreSQL) 99.0"; exit 0; fi\necho "disk full" >&2\nexit 1\n`,
      );
      chmodSync(path.join(bin, tool), 0o755);
    }
    const r = await migrate(['contract', 'split'], { cwd: project.dir, databaseUrl: tdb.url, env: { CURTAIN_PG_BIN: bin } });
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toContain('refused by guard "snapshot"');
    expect(await hasColumn('full_name')).toBe(true);
    rmSync(bin, { recursive: true });
  });

  it('unknown guards in --force are usage errors', async () => {
    await switched();
    const r = await run('contract', 'split', '--force', 'everything');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown guard "everything"');
  });

  it('with every guard satisfied: drops A, records the snapshot, and that snapshot brings the dropped column back', async () => {
    await switched();
    const before = (await conn.pool.query(`SELECT id, full_name FROM users ORDER BY id`)).rows;
    const r = await run('contract', 'split', '--json');
    expect(r.code, r.stderr).toBe(0);
    const snapshotId = r.json().migrations[0].details.snapshotId as string;
    expect(snapshotId).toBeTruthy();
    expect(await hasColumn('full_name')).toBe(false);
    expect(await phase()).toBe('contracted');
    const { rows: events } = await conn.pool.query(`SELECT details FROM curtain.migration_events WHERE migration = $1 AND event = 'contract.start'`, [NAME]);
    expect(events[0].details).toMatchObject({ snapshotId, forced: [] });
    expect(events[0].details.passed).toEqual(expect.arrayContaining(['flag-fully-on', 'soak', 'verification', 'snapshot']));

    const timeline = await run('status', 'split', '--json');
    expect(timeline.json().events.map((e: { event: string }) => e.event)).toEqual(['expand.start', 'expand.done', 'switch.on', 'contract.start', 'contract.done']);

    const restored = await run('snapshot', 'restore', snapshotId, '--tables', 'public.users', '--yes', '--json');
    expect(restored.code, restored.stderr).toBe(0);
    expect((await conn.pool.query(`SELECT id, full_name FROM users ORDER BY id`)).rows).toEqual(before);
  });
});

describe('a poisoned switch is undone by the switch-time snapshot', () => {
  let tdb: TestDatabase;
  afterAll(async () => {
    await tdb?.drop();
  });

  it('restores exactly the pre-switch rows of that table, leaves the others, and the restore itself can be undone', async () => {
    tdb = await createTestDatabase('poison');
    const conn = await tdb.connect();
    await conn.pool.query(SEED);
    const project = tempProject();
    project.write(`migrations/${NAME}.ts`, SPLIT);
    const run = (...args: string[]) => migrate(args, { cwd: project.dir, databaseUrl: tdb.url });
    expect((await run('expand')).code).toBe(0);
    const users = async () => (await conn.pool.query(`SELECT id, full_name, first_name, last_name FROM users ORDER BY id`)).rows;
    const orders = async () => (await conn.pool.query(`SELECT * FROM orders ORDER BY id`)).rows;
    const preSwitch = await users();

    const switched = await run('switch', 'split', '--json');
    expect(switched.code, switched.stderr).toBe(0);
    const snapshotId = switched.json().migrations[0].details.snapshotId as string;
    expect(snapshotId).toBeTruthy();

    // Buggy new code: swaps first and last names of half the users; the trigger dutifully syncs full_name.
    await conn.pool.query(`UPDATE users SET first_name = last_name, last_name = first_name WHERE id % 2 = 0`);
    // Meanwhile, orders keep changing and must not be touched by the restore.
    await conn.pool.query(`INSERT INTO orders VALUES (1000, 1, 5); UPDATE orders SET total = total + 1 WHERE id = 1`);
    const poisoned = await users();
    const ordersNow = await orders();
    expect(poisoned).not.toEqual(preSwitch);

    const restore = await run('snapshot', 'restore', snapshotId, '--tables', 'public.users', '--yes', '--json');
    expect(restore.code, restore.stderr).toBe(0);
    expect(await users()).toEqual(preSwitch);
    expect(await orders()).toEqual(ordersNow);

    // The restore took a safety snapshot first: restoring it brings the poisoned state back.
    const safety = restore.json().safetySnapshotId as string;
    expect((await run('snapshot', 'restore', safety, '--yes')).code).toBe(0);
    expect(await users()).toEqual(poisoned);
  });
});
