import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../../src/db/connect.js';
import { assertBackfillSkipsUserTriggers, canSkipUserTriggers, listUserTriggers } from '../../../src/backfill/user-triggers.js';
import { GuardRefusal } from '../../../src/errors.js';
import { createTestDatabase, type TestDatabase } from '../../support/database.js';

let tdb: TestDatabase;
let conn: Database;
beforeAll(async () => {
  tdb = await createTestDatabase('usertrg');
  conn = await tdb.connect();
  await conn.pool.query(`
    CREATE SCHEMA app;
    CREATE FUNCTION app.noop() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
    CREATE TABLE app.payment (id int, at date, amount int, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
    CREATE TABLE app.payment_2024 PARTITION OF app.payment FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
    CREATE TABLE app.payment_2025 PARTITION OF app.payment FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
    CREATE TRIGGER stamp BEFORE UPDATE ON app.payment FOR EACH ROW EXECUTE FUNCTION app.noop();
    CREATE TRIGGER only_2025 AFTER INSERT OR UPDATE ON app.payment_2025 FOR EACH ROW EXECUTE FUNCTION app.noop();
    CREATE TRIGGER on_amount BEFORE UPDATE OF amount ON app.payment FOR EACH ROW EXECUTE FUNCTION app.noop();
    CREATE TRIGGER on_insert BEFORE INSERT ON app.payment FOR EACH ROW EXECUTE FUNCTION app.noop();
    CREATE TRIGGER off BEFORE UPDATE ON app.payment_2024 FOR EACH ROW EXECUTE FUNCTION app.noop();
    ALTER TABLE app.payment_2024 DISABLE TRIGGER off;
    CREATE TRIGGER _curtain_dw_m1 BEFORE UPDATE ON app.payment FOR EACH ROW EXECUTE FUNCTION app.noop();
    CREATE TABLE app.plain (id int PRIMARY KEY, v int);
    CREATE TRIGGER stmt AFTER UPDATE ON app.plain FOR EACH STATEMENT EXECUTE FUNCTION app.noop();
  `);
});
afterAll(() => tdb.drop());

const payment = { schema: 'app', name: 'payment' };

describe('user triggers a backfill would fire', () => {
  it('lists UPDATE triggers of the table and its partitions once each, and not disabled, INSERT-only, other-column or curtain ones', async () => {
    const list = await listUserTriggers(conn.pool, [{ table: payment, columns: ['amount_new'] }]);
    expect(list).toEqual([
      { table: 'app.payment', name: 'stamp', enabled: 'origin', timing: 'BEFORE UPDATE' },
      { table: 'app.payment_2025', name: 'only_2025', enabled: 'origin', timing: 'AFTER INSERT OR UPDATE' },
    ]);
    // An UPDATE OF trigger counts when the backfill writes one of its columns.
    const withAmount = await listUserTriggers(conn.pool, [{ table: payment, columns: ['amount'] }]);
    expect(withAmount.map((t) => t.name)).toContain('on_amount');
    // Backfilling one partition still fires the trigger it inherited from the parent.
    const partition = await listUserTriggers(conn.pool, [{ table: { schema: 'app', name: 'payment_2025' }, columns: ['x'] }]);
    expect(partition.map((t) => t.name).sort()).toEqual(['only_2025', 'stamp']);
    expect((await listUserTriggers(conn.pool, [{ table: { schema: 'app', name: 'plain' }, columns: ['w'] }])).map((t) => t.timing)).toEqual(['AFTER UPDATE']);
  });

  it('as a superuser, origin triggers are skipped; an ENABLE ALWAYS one is refused unless the user opts in', async () => {
    expect(await canSkipUserTriggers(conn.pool)).toBe(true);
    expect(await assertBackfillSkipsUserTriggers(conn.pool, [{ table: payment, columns: ['amount_new'] }])).toEqual([]);
    await conn.pool.query(`ALTER TABLE app.payment_2025 ENABLE ALWAYS TRIGGER only_2025`);
    try {
      const err = await assertBackfillSkipsUserTriggers(conn.pool, [{ table: payment, columns: ['amount_new'] }], { migration: 'm1' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(GuardRefusal);
      expect((err as GuardRefusal).message).toBe(
        'refused by guard "user-triggers": the backfill of m1 would fire user triggers that run even in replica mode: only_2025 (AFTER INSERT OR UPDATE on app.payment_2025, ENABLE ALWAYS)',
      );
      expect((err as GuardRefusal).hint).toContain('--fire-user-triggers');
      const accepted = await assertBackfillSkipsUserTriggers(conn.pool, [{ table: payment, columns: ['amount_new'] }], { fireUserTriggers: true });
      expect(accepted.map((t) => t.name)).toEqual(['only_2025']);
    } finally {
      await conn.pool.query(`ALTER TABLE app.payment_2025 ENABLE TRIGGER only_2025`);
    }
  });

  it('nothing to check without a backfill', async () => {
    expect(await assertBackfillSkipsUserTriggers(conn.pool, [])).toEqual([]);
  });
});
