import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../../src/config.js';
import type { Database } from '../../../src/db/connect.js';
import { createFlags } from '../../../src/flags/client.js';
import { setFlag } from '../../../src/flags/store.js';
import { ensureStore } from '../../../src/store/store.js';
import { migrate, tempProject } from '../../support/cli.js';
import { createTestDatabase, type TestDatabase } from '../../support/database.js';

// 60 bytes: "<schema>_flags" would be 66, beyond PostgreSQL's 63-byte channel names.
const SCHEMA = `curtain_${'x'.repeat(52)}`;

describe('a schema name near the 63-byte limit', () => {
  let tdb: TestDatabase;
  let conn: Database;
  beforeAll(async () => {
    tdb = await createTestDatabase('longschema');
    conn = await tdb.connect();
  });
  afterAll(() => tdb.drop());

  it('announces flag changes that a client sees without polling', async () => {
    expect(Buffer.byteLength(SCHEMA)).toBe(60);
    await ensureStore(conn.pool, SCHEMA);
    const flags = await createFlags({ connectionString: tdb.url, schema: SCHEMA, pollIntervalMs: 3_600_000, telemetry: false, logger: { warn: () => {} } });
    try {
      await vi.waitFor(() => expect(flags.status).toBe('ready'), { timeout: 10_000 });
      await setFlag(conn.pool, SCHEMA, 'long.schema', { enabled: true }, { actor: 'test' });
      await vi.waitFor(() => expect(flags.isEnabled('long.schema')).toBe(true), { timeout: 10_000, interval: 20 });
    } finally {
      await flags.close();
    }
  });

  it('works from the CLI: migrate --schema <60 bytes> flags set', async () => {
    const project = tempProject();
    const r = await migrate(['--schema', SCHEMA, 'flags', 'set', 'cli.flag', 'on', '--json'], { cwd: project.dir, databaseUrl: tdb.url });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const { rows } = await conn.pool.query(`SELECT enabled FROM "${SCHEMA}".flags WHERE key = 'cli.flag'`);
    expect(rows).toEqual([{ enabled: true }]);
  });

  it('refuses a schema name PostgreSQL would cut (more than 63 bytes), before touching anything', async () => {
    // Named as coming from the command line (--schema), not blamed on a config file that may not even say it.
    await expect(loadConfig({ overrides: { schema: 'é'.repeat(32) } })).rejects.toThrow(
      /^invalid configuration \(given on the command line\): schema: a schema name is at most 63 bytes/,
    );
  });
});
