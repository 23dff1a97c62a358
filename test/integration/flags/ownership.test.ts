import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../../src/db/connect.js';
import { GuardRefusal } from '../../../src/errors.js';
import { createFlags, type FlagsClient } from '../../../src/flags/client.js';
import { startOfrepServer, type OfrepServer } from '../../../src/flags/ofrep.js';
import { isInFlight, PHASES } from '../../../src/migration/machine.js';
import { getFlag, setFlag } from '../../../src/flags/store.js';
import { ensureStore } from '../../../src/store/store.js';
import { createTestDatabase, type TestDatabase } from '../../support/database.js';

describe("a migration's flag is owned by its lifecycle", () => {
  let tdb: TestDatabase;
  let conn: Database;
  let flags: FlagsClient;
  let server: OfrepServer;
  const phase = (p: string) => conn.pool.query(`UPDATE curtain.migrations SET phase = $1 WHERE name = 'm_owned'`, [p]);
  const put = (body: unknown) =>
    fetch(`${server.url}/admin/v1/flags/owned.flag`, { method: 'PUT', headers: { 'content-type': 'application/json', 'x-api-key': 'admin' }, body: JSON.stringify(body) });

  beforeAll(async () => {
    tdb = await createTestDatabase('owned');
    conn = await tdb.connect();
    await ensureStore(conn.pool, 'curtain');
    // As expand leaves it: the record and its flag, off.
    await conn.pool.query(`INSERT INTO curtain.migrations (name, checksum, phase, flag, kind, actor) VALUES ('m_owned', 'c', 'expanding', 'owned.flag', 'schema', 't')`);
    await setFlag(conn.pool, 'curtain', 'owned.flag', { enabled: false, migration: 'm_owned' });
    flags = await createFlags({ connectionString: tdb.url, telemetry: false, pollIntervalMs: 60_000, logger: { warn: () => {} } });
    server = await startOfrepServer({ flags, adminKey: 'admin' }, { port: 0 });
  });
  afterAll(async () => {
    await server.close();
    await flags.close();
    await tdb.drop();
  });

  it.each(PHASES.filter(isInFlight))('refuses flags.set and the OFREP admin PUT while the migration is %s; the flag is unchanged', async (p) => {
    await phase(p);
    const before = await getFlag(conn.pool, 'curtain', 'owned.flag');
    const err = await flags.set('owned.flag', { enabled: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GuardRefusal);
    expect((err as GuardRefusal).exitCode).toBe(3);
    expect((err as Error).message).toContain('flag owned.flag belongs to migration m_owned');
    const res = await put({ enabled: true, rollout: 50 });
    expect(res.status).toBe(409);
    expect(JSON.stringify(await res.json())).toContain('m_owned');
    expect(await getFlag(conn.pool, 'curtain', 'owned.flag')).toEqual(before);
  });

  it('once contracted the flag is locked on; a description still may change', async () => {
    await phase('contracted');
    const err = await flags.set('owned.flag', { enabled: false }).catch((e: unknown) => e);
    expect((err as Error).message).toContain('flag owned.flag is locked on since migration m_owned was contracted');
    const described = await flags.set('owned.flag', { description: 'the split name' });
    expect(described.description).toBe('the split name');
  });

  it('an aborted migration no longer owns it, and a flag of no migration is free', async () => {
    await phase('aborted');
    expect((await flags.set('owned.flag', { enabled: true })).enabled).toBe(true);
    expect((await (await put({ enabled: false })).json()) as object).toMatchObject({ flag: { key: 'owned.flag', enabled: false } });
    expect((await flags.set('free.flag', { enabled: true, rollout: 10 })).rollout).toBe(10);
  });
});
